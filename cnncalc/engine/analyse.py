"""The engine: walk the spec tree, apply each layer kind's rules, produce an :class:`Analysis`.

Pure Python: no torch, and sympy only when the input has symbols.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from .. import arith
from ..errors import Loc, SpecError, did_you_mean, paused_garbage_collection
from ..expr import ExpressionError, evaluate, names_in, truth, whole
from ..layers import KINDS, REQUIRED, Cost, LayerKind, Where
from ..spec.nodes import (
    BlockDef,
    Branch,
    CallNode,
    DenseNode,
    LayerNode,
    MergeNode,
    Node,
    RepeatNode,
    ResidualNode,
    SequenceNode,
    Spec,
    child_lists,
)
from ..spec.parser import attach_source
from .field_merge import largest
from .graph import INPUT, Tensor, Tensors
from .input_order import input_order_warning, with_order_hint
from .plan import GroupStep, LayerStep, MergeStep, ReadStep, Step
from .result import Analysis, Row, Warning_, final_field, summarize
from .validity import smallest_inputs

MAX_LAYERS = 100_000
"""The most layers a numeric analysis makes: about 70 µs each, so a few seconds at most (1,000,000
took a minute and 1.4 GB, with nothing on screen)."""

MAX_SYMBOLIC_LAYERS = 2_000
"""The most layers of a symbolic analysis, whose formulas and validity search (some 30 numeric
analyses) cost far more per layer: the deepest bundled spec has about 600."""
"""A spec may expand to at most this many layers (a repeat of 10⁹ is an error, not a hang)."""


@dataclass(frozen=True)
class Flow:
    """What travels along an edge of the network: a tensor's shape and its history."""

    shape: tuple[Any, ...]
    depth: int = 0
    field: tuple[tuple[Any, Any, Any], ...] = ((1, 1, 0), (1, 1, 0))
    """(receptive-field size, jump, start) per spatial axis; start is the input pixel where
    the first output's window begins (negative: inside the padding)."""
    source: str = ""
    """The path of the layer or merge that produced this tensor ('' for the network input):
    references to earlier outputs find it by this path, and an error about a width names it."""


@dataclass
class Scope:
    """A naming scope: the path prefix, the nesting level and the names used so far."""

    prefix: str
    level: int
    counters: dict[str, int] = field(default_factory=dict)
    used: dict[str, Loc | None] = field(default_factory=dict)
    """Names taken so far, with where each was first given."""

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def claim(self, given: str | None, auto_prefix: str, loc: Loc | None) -> str:
        if given is not None:
            if given in self.used:
                first = self.used[given]
                where = f" (first at line {first.line})" if first else ""
                raise SpecError(
                    f"name '{given}' is used twice in {self.prefix or 'the top level'}{where}",
                    loc,
                    layer=self.path(given),
                    key="name",
                    hint="names must be unique within their block",
                )
            self.used[given] = loc
            return given
        number = self.counters.get(auto_prefix, 0)
        while True:
            number += 1
            joiner = "_" if auto_prefix[-1:].isdigit() else ""  # relu6_1, not relu61
            name = f"{auto_prefix}{joiner}{number}"
            if name not in self.used:
                break
        self.counters[auto_prefix] = number
        self.used[name] = None
        return name

    def child(self, name: str) -> Scope:
        return Scope(self.path(name), self.level + 1)


def analyse(spec: Spec, input_shape: Sequence[Any] | None = None, batch: int = 1) -> Analysis:
    """Analyse ``spec`` (at ``input_shape`` when given, else the spec's ``input``)."""
    try:
        with paused_garbage_collection():
            analysis = _Engine(spec, batch).run(input_shape)
            if not analysis.symbolic:
                return analysis
            valid_from = smallest_inputs(
                lambda shape: _Engine(spec, 1).run(shape), analysis.input_shape
            )
            return replace(analysis, valid_from=valid_from)
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


class _Engine:
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
                _check_keys(block.body, f"block '{name}'")
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
            out = self.repeat(node, flow, scope, env)
            self.judge_group(node)
            return self.items(node.then, out, scope, env)
        handlers: dict[type, Callable[[Any, Flow, Scope, Mapping[str, Any]], Flow]] = {
            SequenceNode: self.sequence,
            MergeNode: self.merge,
            ResidualNode: self.residual,
            DenseNode: self.dense,
        }
        handler = handlers[type(node)]
        if node.inline:
            return self.items(node.then, handler(node, flow, scope, env), scope, env)
        label = node.merge if isinstance(node, MergeNode) else _STRUCTURE_LABELS[type(node)]

        def body(inner: Scope) -> Flow:
            return self.items(node.then, handler(node, flow, inner, env), inner, env)

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
            keras_non_trainable=totals.keras_non_trainable,
            macs=totals.macs,
            ops=totals.ops,
            activation_elements=totals.activation_elements,
            fvcore=totals.fvcore,
            fvcore_training=totals.fvcore_training,
            torchinfo=totals.torchinfo,
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
        values = self.resolve(kind, node, flow, env, where)
        cost = kind.infer(values, flow.shape, where)
        self.count_layer(node.loc)
        depth = flow.depth + (1 if kind.weight_layer else 0)
        out = Flow(cost.output, depth, _advance(flow.field, cost.window), where.path)
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
            keras_non_trainable=cost.keras_non_trainable,
            macs=_times(cost.macs, batch),
            ops={category: _times(count, batch) for category, count in cost.ops.items() if count},
            activation_elements=_times(arith.product(out.shape), batch),
            fvcore=_times(cost.fvcore, batch),
            fvcore_training=_times(
                cost.fvcore if cost.fvcore_training is None else cost.fvcore_training, batch
            ),
            torchinfo=_times(cost.torchinfo, batch),
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

    def limit_note(self) -> str:
        """Which budget: a symbolic analysis has the smaller one."""
        if self.judging:
            return ""
        return f" with a symbolic input ({MAX_LAYERS:,} with numbers such as --input 3x224x224)"

    def resolve(
        self, kind: LayerKind, node: LayerNode, flow: Flow, env: Mapping[str, Any], where: Where
    ) -> dict[str, Any]:
        """Field values: given, else the spec's defaults, else the kind's; then parsed."""
        for key in node.values:
            if kind.field_named(key) is None:
                raise where.error(
                    f"unknown key '{key}' for {kind.name}",
                    key,
                    hint=_key_hint(kind, node, key),
                    at_key=True,
                )
        local = {**env, "in_channels": flow.shape[0]}
        defaults = self.spec.defaults.get(kind.name, {})
        values: dict[str, Any] = {}
        for item in kind.fields:
            if item.name in node.values:
                raw = node.values[item.name]
            elif item.name in defaults:
                raw = defaults[item.name]
            elif item.required:
                needed = ", ".join(f.name for f in kind.fields if f.required)
                raise where.error(
                    f"{kind.name} needs '{item.name}'",
                    item.name,
                    hint=f"{kind.name} requires: {needed}",
                )
            else:
                raw = item.default
            if raw is None and item.default is not None:
                raise where.error(
                    f"'{item.name}' has no value",
                    item.name,
                    hint=f"give a value or remove the key (default: {item.default_text()})",
                )
            if raw is None:
                values[item.name] = None
                continue
            try:
                values[item.name] = item.parse(_substitute(raw, env), local, where)
            except SpecError as error:
                raise self.with_arguments(error, raw) from None
        return values

    def with_arguments(self, error: SpecError, raw: Any) -> SpecError:
        """A value refused where it came from the spec's ``args:`` (a family member whose
        width rounds to 0): the hint shows the expression and the arguments' values."""
        used = names_in(raw) if isinstance(raw, str) else None
        given = [  # the tables a value was looked up in are the spec's to read
            name
            for name in sorted(used or ())
            if name in self.arguments and not isinstance(self.arguments[name], list | dict)
        ]
        if given:
            values = ", ".join(f"{name} = {self.arguments[name]!r}" for name in given)
            note = f"'{raw}' with {values} (the spec's args:; --set changes them)"
            error.hint = f"{error.hint}; {note}" if error.hint else note
        return error

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
                    **self.bind(block, node, flow, env, given),
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

    def bind(
        self,
        block: BlockDef,
        node: CallNode,
        flow: Flow,
        env: Mapping[str, Any],
        extra: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The block's arguments, resolved in the caller's environment."""
        names = [name for name, _ in block.params]
        given = {**node.args, **extra}
        for key in given:
            if key not in names:
                raise SpecError(
                    f"block '{block.name}' has no argument '{key}'",
                    node.key_locs.get(key, node.loc),
                    key=key,
                    hint=did_you_mean(key, names) or f"its arguments: {', '.join(names) or 'none'}",
                )
        caller = {**env, "in_channels": flow.shape[0]}
        bindings: dict[str, Any] = {}
        for name, default in block.params:
            if name in given:
                raw, loc = given[name], node.key_locs.get(name, node.loc)
                bindings[name] = _argument(raw, caller, loc, name)
            elif default is REQUIRED:
                raise SpecError(
                    f"block '{block.name}' needs argument '{name}'",
                    node.loc,
                    key=name,
                    hint=f"{block.name}: {{{', '.join(f'{n}: ...' for n in names)}}}",
                )
            else:
                bindings[name] = _argument(default, {**caller, **bindings}, block.loc, name)
        return bindings

    # ------------------------------------------------------------------ structures

    def sequence(
        self, node: SequenceNode, flow: Flow, scope: Scope, env: Mapping[str, Any]
    ) -> Flow:
        return self.items(node.items, flow, scope, env)

    def merge(self, node: MergeNode, flow: Flow, scope: Scope, env: Mapping[str, Any]) -> Flow:
        outs: list[tuple[str, Flow]] = []
        branches: list[tuple[Step, ...]] = []
        for index, branch in enumerate(node.branches, start=1):
            start = flow
            if branch.source is not None:
                source = self.find(branch.source, scope, branch.source_loc or branch.loc)
                start = source.flow
            if not branch.items:
                name = scope.claim(branch.name or f"branch{index}", "branch", branch.loc)
                if branch.source is None:
                    outs.append((name, flow))
                    branches.append(())
                else:
                    outs.append((f"{name} (from {branch.source})", start))
                    branches.append(self.capture(self.read, source)[1])
                continue
            given = branch.name or f"branch{index}"
            out, steps = self.capture(self.branch, given, branch, start, scope, env)
            outs.append((given, out))
            branches.append(steps)
        return self.join(node.merge, outs, branches, flow, scope, node.loc)

    def branch(
        self, given: str, branch: Branch, flow: Flow, scope: Scope, env: Mapping[str, Any]
    ) -> Flow:
        """A merge's branch of layers; one with ``from:`` reads that output first."""

        def body(inner: Scope) -> Flow:
            if branch.source is not None:
                self.read(self.find(branch.source, scope, branch.source_loc or branch.loc))
            return self.items(branch.items, flow, inner, env)

        return self.group(given, "branch", "branch", branch.loc, flow, scope, body)

    def join(
        self,
        merge: str,
        outs: list[tuple[str, Flow]],
        branches: Sequence[tuple[Step, ...]],
        flow: Flow,
        scope: Scope,
        loc: Loc,
        numbered: bool = False,
    ) -> Flow:
        """Merge branch outputs with concat, add or multiply; adds the merge row."""
        # A branch group or residual has one merge: `layer1.0.add`, `inception3a.concat`. A
        # dense block has one per layer, numbered: `denseblock1.concat1`, `concat2`, …
        sole = not numbered and merge not in scope.used
        name = scope.claim(merge if sole else None, merge, loc)
        where = Where(scope.path(name), loc)
        shapes = [(branch, out.shape) for branch, out in outs]
        if merge == "concat":
            shape = _concat_shape(shapes, where)
            ops: dict[str, Any] = {}
        else:
            shape = _broadcast_shape(shapes, merge, where)
            ops = {merge: arith.normalize((len(outs) - 1) * arith.product(shape))}
        depth = max(out.depth for _, out in outs)
        fields = tuple(
            merged_field(
                [out.field[axis] for _, out in outs],
                [_full_size(out.shape, shape, axis) for _, out in outs],
            )
            for axis in range(2)
        )
        out_flow = Flow(shape, depth, fields, where.path)
        self.count_layer(loc)
        row = self.add_row(
            scope.path(name),
            name,
            merge,
            scope.level,
            Flow(shapes[0][1], flow.depth),
            out_flow,
            Cost(output=shape, ops=ops),
            module=False,
        )
        self.steps.append(MergeStep(row, tuple(branches), flow.shape, flow.field))
        return out_flow

    def residual(
        self, node: ResidualNode, flow: Flow, scope: Scope, env: Mapping[str, Any]
    ) -> Flow:
        body, body_steps = self.capture(lambda: self.items(node.body, flow, scope, env))
        shortcut, shortcut_steps = self.capture(lambda: self.shortcut(node, flow, body, scope, env))
        outs = [("body", body), (node.shortcut_name, shortcut)]
        return self.join("add", outs, [body_steps, shortcut_steps], flow, scope, node.loc)

    def shortcut(
        self, node: ResidualNode, flow: Flow, body: Flow, scope: Scope, env: Mapping[str, Any]
    ) -> Flow:
        loc = node.shortcut_loc or node.loc
        same = _same_shape(flow.shape, body.shape)
        mode = node.shortcut
        if mode == "identity" or (mode == "auto" and same is not False):
            if same is False:
                raise SpecError(
                    f"identity shortcut: the input is {_dims(flow.shape)} but the body gives "
                    f"{_dims(body.shape)}",
                    loc,
                    layer=scope.prefix or None,
                    key="shortcut",
                    hint="use 'shortcut: auto' or 'projection' (1×1 conv + BN) to match shapes",
                )
            return flow
        items = mode if isinstance(mode, list) else self.projection(flow, body, loc, scope)
        return self.group_items(node.shortcut_name, "shortcut", loc, items, flow, scope, env)

    def projection(self, flow: Flow, body: Flow, loc: Loc, scope: Scope) -> list[Node]:
        """The 1×1 conv (stride = the body's total stride, no bias) + BN of ResNet."""
        if len(body.shape) != 3:
            raise SpecError(
                "a projection shortcut needs a C×H×W body output",
                loc,
                layer=scope.prefix or None,
                key="shortcut",
            )
        strides = []
        for axis in range(2):
            jump_in, jump_out = flow.field[axis][1], body.field[axis][1]
            ratio = (
                jump_out // jump_in if isinstance(jump_in, int) and isinstance(jump_out, int) else 1
            )
            strides.append(max(ratio, 1))
        conv = LayerNode(
            loc,
            name="0",
            kind="conv",
            spelled="conv",
            values={"filters": body.shape[0], "kernel": 1, "stride": strides, "bias": False},
        )
        return [conv, LayerNode(loc, name="1", kind="batchnorm", spelled="batchnorm")]

    def dense(self, node: DenseNode, flow: Flow, scope: Scope, env: Mapping[str, Any]) -> Flow:
        where = Where(scope.prefix, node.loc, node.key_locs)
        count = _resolve_int(node.count, env, where, "count", minimum=1)
        growth = _resolve_int(node.growth, env, where, "growth", minimum=1)
        body = (
            self.planned_layers(node.layer) if node.layer else self.planned_block(node.block or "")
        )
        self.check_budget(count * (body + 1), where, "count")
        features = flow
        for index in range(1, count + 1):
            new, steps = self.capture(self.dense_layer, node, index, growth, features, scope, env)
            where_layer = Where(scope.path(f"denselayer{index}"), node.loc, node.key_locs)
            _check_dense_layer(features, new, where_layer, "layer" if node.layer else "block")
            outs = [("features", features), ("new", new)]
            features = self.join(
                "concat", outs, [(), steps], features, scope, node.loc, numbered=True
            )
        return features

    def dense_layer(
        self,
        node: DenseNode,
        index: int,
        growth: int,
        features: Flow,
        scope: Scope,
        env: Mapping[str, Any],
    ) -> Flow:
        """Layer ``index`` of a dense block: its new features (k channels)."""
        name = f"denselayer{index}"
        implicit = {"growth": growth, "index": index}
        if node.layer is not None:
            inner_env = {**env, **implicit}
            return self.group_items(
                name, "denselayer", node.loc, node.layer, features, scope, inner_env
            )
        call = CallNode(node.loc, name=name, block=node.block or "", args=dict(node.with_args))
        return self.call(call, features, scope, env, implicit)

    def repeat(self, node: RepeatNode, flow: Flow, scope: Scope, env: Mapping[str, Any]) -> Flow:
        where = Where(scope.prefix, node.loc, node.key_locs)
        try:
            count = _resolve_int(node.count, env, where, "repeat", minimum=1)
        except SpecError as error:
            if node.name is not None:
                error.with_layer(scope.path(node.name))
            raise self.with_arguments(error, node.count) from None
        body = (
            self.planned_layers(node.items) if node.items else self.planned_block(node.block or "")
        )
        self.check_budget(count * body, where, "repeat")

        def repetitions(target: Scope, named: bool) -> Flow:
            current = flow
            for index in range(count):
                name = str(index) if named else None
                if node.items is not None and named:
                    current = self.group_items(
                        name, "repeat", node.loc, node.items, current, target, env
                    )
                elif node.items is not None:
                    current = self.items(node.items, current, target, env)
                else:
                    args = {**node.with_args, **(node.first_args if index == 0 else {})}
                    call = CallNode(
                        node.loc,
                        name=name,
                        block=node.block or "",
                        args=args,
                        key_locs=dict(node.key_locs),
                    )
                    current = self.call(call, current, target, env)
            return current

        if node.name is None:
            return repetitions(scope, named=False)
        return self.group(
            node.name,
            "repeat",
            "repeat",
            node.loc,
            flow,
            scope,
            lambda inner: repetitions(inner, named=True),
        )


# ---------------------------------------------------------------------- helpers

_STRUCTURE_LABELS: dict[type, str] = {
    SequenceNode: "sequence",
    ResidualNode: "residual",
    DenseNode: "dense_block",
}


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


def _order(value: Any) -> Any:
    return value if isinstance(value, int) else 0


def _full_size(branch: tuple[Any, ...], merged: tuple[Any, ...], axis: int) -> bool:
    """Whether a branch keeps the merged size along ``axis`` (H 0, W 1); one broadcast from 1
    along it (squeeze-and-excitation, strip pooling) has one value there, not a grid."""
    if len(branch) != 3 or len(merged) != 3:
        return True
    return arith.equal(branch[axis + 1], merged[axis + 1]) is not False


def merged_field(fields: list[tuple[Any, Any, Any]], full_size: list[bool]) -> tuple[Any, Any, Any]:
    """A merged pixel sees what all its branches see. Along an axis where branches keep the
    size, their windows slide together (one jump), so the merged window spans from the
    earliest start to the latest end: offset windows (padding 1 against TensorFlow's 0+1)
    see more together than either alone. A branch broadcast from 1 along the axis (a global
    pool) sees its whole extent for every output: it can set the size, but the jump and the
    start stay those of the sliding branches."""
    sliding = [field for field, full in zip(fields, full_size, strict=True) if full] or fields
    start = sliding[0][2]
    for _, _, first in sliding[1:]:
        start = arith.minimum(start, first)
    # one flat max of candidates (field_merge): nested maxima doubled at every SE block
    size = largest(
        [arith.normalize(first + size - start) for size, _, first in sliding]
        + [other for other, _, _ in fields]
    )
    jump = max(sliding, key=lambda item: _order(item[0]))[1]
    return size, jump, start


def _advance(
    field: tuple[tuple[Any, Any, Any], ...], window: tuple[Any, ...] | None
) -> tuple[tuple[Any, Any, Any], ...]:
    """Receptive-field recurrence (k is the effective kernel d·(k − 1) + 1):
    r_out = r_in + (k − 1)·j_in, j_out = j_in·s, start_out = start_in − p·j_in.
    A transposed conv's stride is a fraction 1/s (its outputs are closer than its inputs), so
    jumps and starts may be exact fractions; whole ones are turned back into ints."""
    if window is None:
        return field
    return tuple(
        (
            _pixels(arith.normalize(size + (kernel - 1) * jump)),
            _whole(arith.normalize(jump * stride)),
            _whole(arith.normalize(start - pad * jump)),
        )
        for (size, jump, start), (kernel, stride, pad) in zip(field, window, strict=True)
    )


def _pixels(value: Any) -> Any:
    """A receptive field is a whole number of pixels: after uneven adaptive windows (a mean,
    fractional jump, which that layer warns about) the partial pixel counts as one."""
    if isinstance(value, Fraction):
        return -(-value.numerator // value.denominator)
    if getattr(value, "is_Rational", False) and not value.is_Integer:  # sympy's, in a
        return -(-int(value.p) // int(value.q))  # symbolic analysis: the same rounding
    return value


def _whole(value: Any) -> Any:
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def _key_hint(kind: LayerKind, node: LayerNode, key: str) -> str:
    names = [item.name for item in kind.fields]
    if key == "activation" and key not in names:  # Keras' Conv2D(..., activation="relu")
        value = node.values.get(key)
        after = value if isinstance(value, str) and value.isidentifier() else "relu"
        return (
            f"activations are layers of their own: remove 'activation' and put '- {after}' "
            f"on the line after this {node.spelled or kind.name}"
        )
    if kind.name == "linear" and node.spelled == "dense" and key in ("count", "growth", "layer"):
        return "'dense' is linear (a fully connected layer); for a dense block write dense_block:"
    accepted = ", ".join(names) or "no fields"
    return did_you_mean(key, names) or f"{kind.name} accepts: {accepted}, name"


def _check_keys(nodes: Sequence[Node], where: str) -> None:
    """Unknown keys in a block that is never called are still errors."""
    for node in nodes:
        if isinstance(node, LayerNode):
            kind = KINDS[node.kind]
            for key in node.values:
                if kind.field_named(key) is None:
                    raise SpecError(
                        f"unknown key '{key}' for {kind.name} in {where}",
                        node.key_locs.get(key, node.loc),
                        key=key,
                        hint=did_you_mean(key, [item.name for item in kind.fields]),
                    )
        for child in child_lists(node):
            _check_keys(child, where)


def _substitute(raw: Any, env: Mapping[str, Any]) -> Any:
    """A bare argument name becomes the argument's value, whatever its type."""
    if isinstance(raw, str) and raw in env:
        return env[raw]
    if isinstance(raw, list):
        return [_substitute(item, env) for item in raw]
    return raw


def _argument(raw: Any, env: Mapping[str, Any], loc: Loc, name: str) -> Any:
    """A block argument: a name or expression is evaluated in the caller; words stay words."""
    if isinstance(raw, list):
        return [_argument(item, env, loc, name) for item in raw]
    if not isinstance(raw, str):
        return raw
    if raw in env:
        return env[raw]
    if names_in(raw) is None or raw.isidentifier():
        return raw  # a word such as 'same' or 'relu', not an expression
    try:
        return evaluate(raw, env)
    except ExpressionError as error:
        raise SpecError(str(error), loc, key=name) from None


def _resolve_int(raw: Any, env: Mapping[str, Any], where: Where, key: str, minimum: int) -> int:
    value = _substitute(raw, env)
    if isinstance(value, str):
        try:
            value = whole(evaluate(value, env), value)
        except ExpressionError as error:
            if not env and value.isidentifier():  # a word where no block argument exists
                raise where.error(
                    f"'{key}' must be a whole number, got the text '{value}'",
                    key,
                    hint=f"write {key}: 2; a name works only inside a block, for one of its "
                    "arguments",
                ) from None
            raise where.error(str(error), key) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(f"'{key}' must be a whole number, got {value!r}", key)
    if value < minimum:
        raise where.error(f"'{key}' must be at least {minimum}, got {value}", key)
    return value


def _dims(shape: Sequence[Any]) -> str:
    return "×".join(arith.as_factor(dim) for dim in shape)


def _same_shape(first: Sequence[Any], second: Sequence[Any]) -> bool | None:
    if len(first) != len(second):
        return False
    results = [arith.equal(a, b) for a, b in zip(first, second, strict=True)]
    if False in results:
        return False
    return None if None in results else True


def _check_dense_layer(features: Flow, new: Flow, where: Where, key: str) -> None:
    """A dense layer's output is concatenated with its input: it must keep H×W."""
    if (
        len(new.shape) == len(features.shape)
        and _same_shape(new.shape[1:], features.shape[1:]) is not False
    ):
        return
    raise where.error(
        f"a dense layer must keep H×W to be concatenated with its input: it turns "
        f"{_dims(features.shape)} into {_dims(new.shape)}",
        key,
        hint="pad its convs to keep the size (padding: 1 for a 3×3, or padding: same) and "
        "leave downsampling to the transitions between dense blocks",
    )


def _concat_shape(shapes: list[tuple[str, tuple[Any, ...]]], where: Where) -> tuple[Any, ...]:
    first_name, first = shapes[0]
    for name, shape in shapes[1:]:
        if len(shape) != len(first) or _same_shape(shape[1:], first[1:]) is False:
            raise where.error(
                f"concat needs the same spatial size in every branch: {first_name} gives "
                f"{_dims(first)} but {name} gives {_dims(shape)}",
                hint="check the strides and padding of the branches ('same' padding keeps H×W)",
            )
    channels = arith.normalize(sum(shape[0] for _, shape in shapes))
    return (channels, *first[1:])


def _broadcast_shape(
    shapes: list[tuple[str, tuple[Any, ...]]], merge: str, where: Where
) -> tuple[Any, ...]:
    first_name, result = shapes[0]
    for name, shape in shapes[1:]:
        if merge == "add":
            if _same_shape(result, shape) is False:
                raise where.error(
                    f"add needs equal shapes: {first_name} gives {_dims(result)} but {name} "
                    f"gives {_dims(shape)}",
                    hint="use a projection (1×1 conv, matching stride) on the shortcut",
                )
            continue
        result = _broadcast_pair(result, shape, first_name, name, where)
    return result


def _broadcast_pair(
    a: tuple[Any, ...], b: tuple[Any, ...], name_a: str, name_b: str, where: Where
) -> tuple[Any, ...]:
    if len(a) != len(b):
        raise where.error(
            f"multiply needs tensors of the same rank: {_dims(a)} and {_dims(b)}",
            hint="squeeze-and-excitation multiplies C×H×W by C×1×1: keep the pooled tensor 3-D",
        )
    dims = []
    for x, y in zip(a, b, strict=True):
        if arith.equal(x, y) is not False or y == 1:
            dims.append(x)
        elif x == 1:
            dims.append(y)
        else:
            raise where.error(
                f"multiply cannot broadcast {name_a} {_dims(a)} with {name_b} {_dims(b)}",
                hint="sizes must be equal or 1 in every dimension",
            )
    return tuple(dims)
