"""The engine: walk the spec tree, apply each layer kind's rules, produce an :class:`Analysis`.

Pure Python: no torch, and sympy only when the input has symbols.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .. import arith
from ..errors import Loc, SpecError, paused_garbage_collection
from ..expr import ExpressionError, evaluate, truth
from ..layers import KINDS, Cost, Where
from ..spec.nodes import (
    CallNode,
    DenseNode,
    LayerNode,
    MergeNode,
    Node,
    RepeatNode,
    ResidualNode,
    SequenceNode,
    Spec,
)
from ..spec.parser import attach_source
from .binding import bind, check_keys, field_values, with_arguments
from .divisibility import exact_sizes
from .graph import INPUT, Tensor, Tensors
from .input_order import input_order_warning, with_order_hint
from .peers import layer_counts
from .plan import GroupStep, LayerStep, ReadStep, Step
from .receptive_field import advance
from .result import Analysis, Row, Warning_, final_field, summarize
from .scope import Flow, Scope
from .structures import STRUCTURES, repeat
from .validity import smallest_inputs

__all__ = ["MAX_LAYERS", "MAX_SYMBOLIC_LAYERS", "Engine", "Flow", "Scope", "analyse", "input_dims"]

MAX_LAYERS = 100_000
"""The most layers a numeric analysis makes: about 70 µs each, so a few seconds at most (1,000,000
took a minute and 1.4 GB, with nothing on screen)."""

SYMBOLIC_SECONDS = 5.0
"""The CPU time a symbolic analysis may take before it stops with a message (every bundled
spec takes under 2 s whole process; a fuzzed EfficientNet with a 2×2 stem grew a 13-term
receptive-field maximum of floors, each merge costing 2 s more than the last)."""

MAX_SYMBOLIC_LAYERS = 2_000
"""The most layers of a symbolic analysis, whose formulas and validity search (some 30 numeric
analyses) cost far more per layer: the deepest bundled spec has about 600."""
"""A spec may expand to at most this many layers (a repeat of 10⁹ is an error, not a hang)."""


def analyse(spec: Spec, input_shape: Sequence[Any] | None = None, batch: int = 1) -> Analysis:
    """Analyse ``spec`` (at ``input_shape`` when given, else the spec's ``input``)."""
    try:
        with paused_garbage_collection():
            analysis = Engine(spec, batch).run(input_shape)
            if not analysis.symbolic:
                return analysis
            valid_from = smallest_inputs(
                lambda shape: Engine(spec, 1).run(shape), analysis.input_shape
            )
            analysis = replace(analysis, valid_from=valid_from)
            exact = exact_sizes(analysis)
            return replace(analysis, exact=exact)
    except SpecError as error:
        dims = spec.input if input_shape is None else input_shape
        error = with_order_hint(error, dims, from_spec=input_shape is None)
        raise attach_source(error, spec.lines) from None
    except RecursionError:
        raise SpecError(
            "the spec nests too deeply to analyse",
            spec.input_loc,
            hint="a block that calls itself, or structures nested thousands deep",
        ) from None


def input_dims(raw: Sequence[Any], loc: Loc | None = None) -> tuple[Any, ...]:
    """Spec or CLI input dimensions → ints and sympy symbols; anything else is an error."""
    if isinstance(raw, str | bytes) or len(raw) not in (1, 3):
        raise SpecError(
            f"the input must be [C, H, W] or [N], got {raw!r}",
            loc,
            key="input",
            hint="for example [3, 224, 224] or [3, 'H', 'W']",
        )
    if len(raw) == 3 and isinstance(raw[0], str):
        # formulas are in H and W; a channel count in symbols would make every weight shape one
        raise SpecError(
            f"the channel count must be a number, not the symbol {raw[0]!r}: symbols are "
            "allowed for H and W only",
            loc,
            key="input",
            hint=f"give the channels, e.g. [3, {raw[1]}, {raw[2]}] (--input 3x{raw[1]}x{raw[2]})",
        )
    for item in raw:
        valid_int = isinstance(item, int) and not isinstance(item, bool) and item > 0
        if not (valid_int or (isinstance(item, str) and item.isidentifier())):
            raise SpecError(
                f"input dimension {item!r} must be a positive integer or a symbol such as H",
                loc,
                key="input",
            )
    return tuple(arith.symbol(item) if isinstance(item, str) else item for item in raw)


class Engine:
    """One analysis: walks the spec's items, makes a row per layer and group, and keeps the
    outputs made so far for references; structures and argument binding live in their own
    modules (:mod:`.structures`, :mod:`.binding`)."""

    def __init__(self, spec: Spec, batch: int) -> None:
        self.spec = spec
        self.batch = batch
        self.rows: list[Row | None] = []
        self.warnings: list[Warning_] = []
        self.call_stack: list[str] = []
        self.layer_count = 0
        self.size_memo: dict[str, int] = {}
        self.called: set[str] = set()
        self.steps: list[Step] = []
        self.claims: list[Any] = []
        self.flat_input = False
        self.judging = True
        self.tensors = Tensors(spec)
        self.training_only = False
        """Inside a training-only head: its rows are marked so."""
        self.training_heads: list[Row] = []
        self.arguments: dict[str, Any] = {}
        """The spec's ``args:`` (with ``--set``): visible everywhere, in blocks too."""
        self.limit = MAX_LAYERS

    # ------------------------------------------------------------------ entry

    def run(self, input_shape: Sequence[Any] | None) -> Analysis:
        spec = self.spec
        dims = input_dims(input_shape if input_shape is not None else spec.input, spec.input_loc)
        order = input_order_warning(dims, spec.input_loc if input_shape is None else None)
        self.warnings += [Warning_("", order)] if order else []
        self.flat_input = len(dims) == 1
        # claims are numbers for the spec's sizes: a formula in H, W can only differ from them
        self.judging = all(isinstance(dim, int) for dim in dims)
        self.limit = MAX_LAYERS if self.judging else MAX_SYMBOLIC_LAYERS
        self.started = time.process_time()
        planned = self.planned_layers(spec.layers)
        if planned > self.limit:
            raise SpecError(
                f"the spec expands to {planned:,} layers; cnncalc analyses at most "
                f"{self.limit:,}{self.limit_note()}",
                spec.layers[0].loc if spec.layers else spec.input_loc,
                hint="check the repeat and dense_block counts, and blocks that call blocks",
            )
        start = Flow(dims)
        self.tensors.add("", _input_row(dims, start.field), start)
        self.arguments = spec.arguments.resolve()
        flow = self.items(spec.layers, start, Scope("", 0), dict(self.arguments))
        outputs = tuple(self.tensors.find(name, "", loc, "outputs") for name, loc in spec.outputs)
        if outputs:
            flow = replace(flow, depth=max(output.flow.depth for output in outputs))
        for name, block in spec.blocks.items():
            if name not in self.called:
                check_keys(block.body, f"block '{name}'")
        rows = tuple(row for row in self.rows if row is not None)
        totals = summarize(rows, flow.depth)
        if spec.expect and self.judging:
            from .claims import judge_totals

            self.claims += judge_totals(
                totals, flow.shape, spec.expect, spec.expect_locs, final_field(rows)
            )
        symbols = tuple(sorted({str(s) for dim in dims for s in getattr(dim, "free_symbols", ())}))
        return Analysis(
            name=spec.name,
            file=spec.file,
            source=spec.source,
            input_shape=dims,
            batch=self.batch,
            rows=rows,
            totals=totals,
            claims=tuple(self.claims),
            warnings=tuple(self.warnings),
            symbols=symbols,
            steps=tuple(self.steps),
            outputs=tuple(output.row for output in outputs),
            training_outputs=tuple(self.training_heads),
            # published totals hold for the spec's own input and arguments only
            published=spec.published
            if dims == input_dims(spec.input) and spec.arguments.at_defaults()
            else {},
        )

    # ------------------------------------------------------------------ size guard

    def planned_layers(self, nodes: Sequence[Node]) -> int:
        """How many layers ``nodes`` expand to (counts that are expressions count once)."""
        return sum(self.planned_node(node) for node in nodes)

    def planned_node(self, node: Node) -> int:
        size = self.planned_layers(node.then)
        if isinstance(node, LayerNode):
            return size + 1
        if isinstance(node, CallNode):
            # a call of an empty block still makes its group: a million of them took a minute
            return size + max(1, self.planned_block(node.block))
        if isinstance(node, SequenceNode):
            return size + self.planned_layers(node.items)
        if isinstance(node, MergeNode):
            return size + 1 + sum(self.planned_layers(branch.items) for branch in node.branches)
        if isinstance(node, ResidualNode):
            shortcut = node.shortcut if isinstance(node.shortcut, list) else []
            return size + 3 + self.planned_layers(node.body) + self.planned_layers(shortcut)
        if isinstance(node, DenseNode):
            if node.block is None and not node.layer:
                raise SpecError(
                    "dense_block has no layer to repeat",
                    node.loc,
                    key="layer",
                    hint="give the layer list under 'layer:' or a block name under 'block:'",
                )
            body = (
                self.planned_layers(node.layer)
                if node.layer
                else self.planned_block(node.block or "")
            )
            return size + _count(node.count) * (body + 1)
        assert isinstance(node, RepeatNode)
        if node.block is None and not node.items:
            raise SpecError(
                "repeat has no layers to repeat",
                node.loc,
                key="layers",
                hint="list the layers under 'layers:', name a block with 'block:', "
                "or remove the repeat",
            )
        body = (
            self.planned_layers(node.items)
            if node.items
            else max(1, self.planned_block(node.block or ""))
        )
        total = size + _count(node.count) * body
        if total > self.limit:
            raise SpecError(
                f"repeat {node.count} creates {total:,} layers; cnncalc analyses at most "
                f"{self.limit:,}{self.limit_note()}",
                node.loc,
                key="repeat",
                hint="check the repeat count",
            )
        return total

    def planned_block(self, name: str) -> int:
        if name not in self.size_memo:
            self.size_memo[name] = 0  # a block that calls itself is reported when analysed
            self.size_memo[name] = self.planned_layers(self.spec.blocks[name].body)
        return self.size_memo[name]

    # ------------------------------------------------------------------ items

    def items(
        self, nodes: Sequence[Node], flow: Flow, scope: Scope, env: Mapping[str, Any]
    ) -> Flow:
        for node in nodes:
            flow = self.item(node, flow, scope, env)
        return flow

    def item(self, node: Node, flow: Flow, scope: Scope, env: Mapping[str, Any]) -> Flow:
        if node.condition is not None and not self.holds(node, flow, scope, env):
            return flow  # a conditional item that is absent here
        before = flow
        if node.source is not None:
            flow = self.read(self.find(node.source, scope, node.source_loc or node.loc))
        if node.training_only:
            self.training_head(node, flow, scope, env)
            return self.read(self.tensors.made[before.source])  # as if the head were not there
        return self.item_body(node, flow, scope, env)

    def holds(self, node: Node, flow: Flow, scope: Scope, env: Mapping[str, Any]) -> bool:
        """Whether an item's ``if:`` holds, in its environment (``in_channels`` included)."""
        condition = node.condition
        try:
            if isinstance(condition, str):
                local = {**env, "in_channels": flow.shape[0]}
                condition = evaluate(condition, local)
            return truth(condition, str(node.condition))
        except ExpressionError as error:
            raise SpecError(
                str(error),
                node.condition_loc or node.loc,
                layer=scope.path(node.name) if node.name else scope.prefix or None,
                key="if",
                hint="a condition compares arguments: if: expand != 1, if: depth >= 50",
            ) from None

    def find(self, reference: str, scope: Scope, loc: Loc | None, key: str = "from") -> Tensor:
        return self.tensors.find(reference, scope.prefix, loc, key)

    def read(self, tensor: Tensor) -> Flow:
        """The current tensor becomes an earlier output (a ``ReadStep`` in the plan)."""
        self.steps.append(ReadStep(tensor.path, tensor.row))
        return tensor.flow

    def training_head(self, node: Node, flow: Flow, scope: Scope, env: Mapping[str, Any]) -> None:
        """A training-only head: analysed on ``flow`` with its rows marked; ``train()``
        returns its output as well."""
        outer, self.training_only = self.training_only, True
        try:
            out = self.item_body(node, flow, scope, env)
        finally:
            self.training_only = outer
        if not outer:
            self.training_heads.append(self.tensors.made[out.source].row)

    def item_body(self, node: Node, flow: Flow, scope: Scope, env: Mapping[str, Any]) -> Flow:
        if isinstance(node, LayerNode):
            return self.items(node.then, self.layer(node, flow, scope, env), scope, env)
        if isinstance(node, CallNode):
            out = self.call(node, flow, scope, env)
            self.judge_group(node)
            return self.items(node.then, out, scope, env)
        if isinstance(node, RepeatNode):
            if node.expect and node.name is None:
                raise SpecError(
                    "claims about a repeat need the repeat to have a name",
                    node.loc,
                    key="expect",
                    hint="add name: stage1 (or move expect onto its layers)",
                )
            out = repeat(self, node, flow, scope, env)
            self.judge_group(node)
            return self.items(node.then, out, scope, env)
        structure = STRUCTURES[type(node)]
        handler = structure.run
        if node.inline:
            return self.items(node.then, handler(self, node, flow, scope, env), scope, env)
        label = structure.group_label(node)

        def body(inner: Scope) -> Flow:
            return self.items(node.then, handler(self, node, flow, inner, env), inner, env)

        out = self.group(node.name, label, label, node.name_loc or node.loc, flow, scope, body)
        self.judge_group(node)
        return out

    def capture(self, run: Callable[..., Flow], *args: Any) -> tuple[Flow, tuple[Step, ...]]:
        """``run(*args)``, returning the steps it added instead of adding them here."""
        saved, self.steps = self.steps, []
        try:
            flow = run(*args)
            return flow, tuple(self.steps)
        finally:
            self.steps = saved

    def judge(self, row: Row, node: Node) -> None:
        if not self.judging:
            return
        from .claims import judge_row  # only specs with claims pay for the claim parser

        self.claims += judge_row(row, node.expect, node.expect_locs)

    def judge_group(self, node: Node) -> None:
        """Claims on a block call or structure: about the group just made."""
        if node.expect:
            group = next(step for step in reversed(self.steps) if isinstance(step, GroupStep))
            self.judge(group.row, node)

    def group(
        self,
        given: str | None,
        auto_prefix: str,
        kind: str,
        loc: Loc,
        flow: Flow,
        scope: Scope,
        body: Callable[[Scope], Flow],
    ) -> Flow:
        """Run ``body`` in a named child scope and add a group row with its subtotals."""
        name = scope.claim(given, auto_prefix, loc)
        inner = scope.child(name)
        index = len(self.rows)
        self.rows.append(None)
        out, steps = self.capture(body, inner)
        children = [row for row in self.rows[index + 1 :] if row is not None and not row.is_group]
        totals = summarize(children, out.depth, training=self.training_only)
        row = self.rows[index] = Row(
            path=inner.prefix,
            name=name,
            kind=kind,
            level=scope.level,
            input_shape=flow.shape,
            output_shape=out.shape,
            weights=totals.weights,
            biases=totals.biases,
            buffers=totals.buffers,
            macs=totals.macs,
            ops=totals.ops,
            activation_elements=totals.activation_elements,
            peers=totals.peers,
            is_group=True,
            training_only=self.training_only,
            depth=out.depth,
            receptive_field=out.field,
            receptive_field_in=flow.field,
        )
        self.steps.append(GroupStep(row, steps))
        self.tensors.add(row.path, row, out)
        return out

    def group_items(
        self,
        given: str | None,
        kind: str,
        loc: Loc,
        items: Sequence[Node],
        flow: Flow,
        scope: Scope,
        env: Mapping[str, Any],
    ) -> Flow:
        """A group whose body is a list of items (a branch, a shortcut, a repetition)."""
        return self.group(
            given, kind, kind, loc, flow, scope, lambda inner: self.items(items, flow, inner, env)
        )

    # ------------------------------------------------------------------ layers

    def layer(self, node: LayerNode, flow: Flow, scope: Scope, env: Mapping[str, Any]) -> Flow:
        kind = KINDS[node.kind]
        name = scope.claim(node.name, kind.prefix, node.name_loc or node.loc)
        where = Where(
            scope.path(name),
            node.loc,
            node.key_locs,
            node.value_locs,
            self.flat_input,
            flow.source,
            lambda reference, loc: self.find(reference, scope, loc, "like").flow.shape,
        )
        values = field_values(
            kind,
            node,
            flow.shape[0],
            env,
            where,
            self.spec.defaults.get(kind.name, {}),
            self.arguments,
        )
        cost = kind.infer(values, flow.shape, where)
        self.count_layer(node.loc)
        depth = flow.depth + (1 if kind.weight_layer else 0)
        out = Flow(cost.output, depth, advance(flow.field, cost.window), where.path)
        row = self.add_row(
            where.path, name, kind.name, scope.level, flow, out, cost, kind.weight_layer, values
        )
        self.steps.append(LayerStep(row))
        if node.expect:
            self.judge(row, node)
        return out

    def add_row(
        self,
        path: str,
        name: str,
        kind: str,
        level: int,
        flow: Flow,
        out: Flow,
        cost: Cost,
        weight_layer: bool = False,
        values: Mapping[str, Any] | None = None,
        module: bool = True,
    ) -> Row:
        batch = self.batch
        row = Row(
            path=path,
            name=name,
            kind=kind,
            level=level,
            input_shape=flow.shape,
            output_shape=out.shape,
            weights=cost.weights,
            biases=cost.biases,
            buffers=cost.buffers,
            macs=_times(cost.macs, batch),
            ops={category: _times(count, batch) for category, count in cost.ops.items() if count},
            activation_elements=_times(arith.product(out.shape), batch),
            peers=layer_counts(cost, batch),
            weight_layer=weight_layer,
            is_module=module,
            training_only=self.training_only,
            depth=out.depth,
            receptive_field=out.field,
            receptive_field_in=flow.field,
            values=dict(values or {}),
            details=dict(cost.details),
            warnings=cost.warnings,
        )
        self.rows.append(row)
        self.tensors.add(path, row, out)
        self.warnings.extend(Warning_(path, text) for text in cost.warnings)
        return row

    def check_budget(self, planned: int, where: Where, key: str) -> None:
        """Refuse a count whose layers would pass :data:`MAX_LAYERS`, before making them."""
        if self.layer_count + planned > self.limit:
            raise where.error(
                f"{key} creates {planned:,} layers; cnncalc analyses at most "
                f"{self.limit:,}{self.limit_note()}",
                key,
                hint="check the count (and the arguments that feed it)",
            )

    def count_layer(self, loc: Loc) -> None:
        self.layer_count += 1
        if self.layer_count > self.limit:
            raise SpecError(
                f"the spec expands to more than {self.limit:,} layers{self.limit_note()}", loc
            )
        if not self.judging and time.process_time() - self.started > SYMBOLIC_SECONDS:
            raise SpecError(
                f"the symbolic analysis passed its budget of {SYMBOLIC_SECONDS:g} CPU-seconds "
                f"here, after {self.layer_count:,} layers: its formulas grow too large",
                loc,
                hint="analyse at numbers (--input 3x224x224), which is exact and fast; symbolic "
                "receptive fields of branches merged over floor divisions grow with each merge",
            )

    def limit_note(self) -> str:
        """Which budget: a symbolic analysis has the smaller one."""
        if self.judging:
            return ""
        return f" with a symbolic input ({MAX_LAYERS:,} with numbers such as --input 3x224x224)"

    def with_arguments(self, error: SpecError, raw: Any) -> SpecError:
        return with_arguments(error, raw, self.arguments)

    # ------------------------------------------------------------------ blocks

    def call(
        self,
        node: CallNode,
        flow: Flow,
        scope: Scope,
        env: Mapping[str, Any],
        implicit: Mapping[str, Any] | None = None,
    ) -> Flow:
        """A block call; ``implicit`` names (a dense layer's growth and index) are visible
        in the block, and bound to its arguments of the same name."""
        block = self.spec.blocks[node.block]
        self.called.add(block.name)
        implicit = implicit or {}
        params = {name for name, _ in block.params}
        given = {key: value for key, value in implicit.items() if key in params}

        def body(inner: Scope) -> Flow:
            if block.name in self.call_stack:
                chain = " → ".join(
                    [*self.call_stack[self.call_stack.index(block.name) :], block.name]
                )
                raise SpecError(
                    f"block '{block.name}' calls itself ({chain})",
                    node.loc,
                    layer=inner.prefix,
                    hint="a block cannot contain itself: use repeat for a chain of blocks",
                )
            try:
                bindings = {
                    **self.arguments,
                    **implicit,
                    **bind(block, node, flow.shape[0], env, given),
                }
            except SpecError as error:
                raise error.with_layer(inner.prefix) from None
            self.call_stack.append(block.name)
            try:
                return self.items(block.body, flow, inner, bindings)
            finally:
                self.call_stack.pop()

        return self.group(
            node.name,
            block.name,
            f"block:{block.name}",
            node.name_loc or node.loc,
            flow,
            scope,
            body,
        )


# ---------------------------------------------------------------------- helpers


def _input_row(dims: tuple[Any, ...], field: tuple[Any, ...]) -> Row:
    """The network's input as a row, for references to it (``from: input``)."""
    return Row(
        path="",
        name=INPUT,
        kind="input",
        level=0,
        input_shape=dims,
        output_shape=dims,
        is_module=False,
        receptive_field=field,
        receptive_field_in=field,
    )


def _times(value: Any, batch: int) -> Any:
    return value if batch == 1 else arith.normalize(value * batch)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1
