"""The structures of the spec language — sequence, merge (concat/add/multiply), residual,
dense block and repeat — each a function of the engine, registered by node type in
:data:`STRUCTURES` the way layer kinds are registered in :data:`cnncalc.layers.KINDS`.

A structure walks its children through the engine (``engine.items``, ``engine.group``,
``engine.call``) and makes its merge rows with :func:`join`; the engine never branches on a
structure's type beyond looking it up here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import arith
from ..errors import Loc, SpecError
from ..layers import Cost, Where
from ..spec.nodes import (
    Branch,
    CallNode,
    DenseNode,
    LayerNode,
    MergeNode,
    Node,
    RepeatNode,
    ResidualNode,
    SequenceNode,
)
from .binding import resolve_int
from .plan import MergeStep, Step
from .receptive_field import keeps_size, merged_field
from .scope import Flow, Scope

if TYPE_CHECKING:
    from .analyse import Engine


def sequence(
    engine: Engine, node: SequenceNode, flow: Flow, scope: Scope, env: Mapping[str, Any]
) -> Flow:
    return engine.items(node.items, flow, scope, env)


def merge(
    engine: Engine, node: MergeNode, flow: Flow, scope: Scope, env: Mapping[str, Any]
) -> Flow:
    outs: list[tuple[str, Flow]] = []
    branches: list[tuple[Step, ...]] = []
    for index, branch in enumerate(node.branches, start=1):
        start = flow
        if branch.source is not None:
            source = engine.find(branch.source, scope, branch.source_loc or branch.loc)
            start = source.flow
        if not branch.items:
            name = scope.claim(branch.name or f"branch{index}", "branch", branch.loc)
            if branch.source is None:
                outs.append((name, flow))
                branches.append(())
            else:
                outs.append((f"{name} (from {branch.source})", start))
                branches.append(engine.capture(engine.read, source)[1])
            continue
        given = branch.name or f"branch{index}"
        out, steps = engine.capture(merge_branch, engine, given, branch, start, scope, env)
        outs.append((given, out))
        branches.append(steps)
    return join(engine, node.merge, outs, branches, flow, scope, node.loc)


def merge_branch(
    engine: Engine, given: str, branch: Branch, flow: Flow, scope: Scope, env: Mapping[str, Any]
) -> Flow:
    """A merge's branch of layers; one with ``from:`` reads that output first."""

    def body(inner: Scope) -> Flow:
        if branch.source is not None:
            engine.read(engine.find(branch.source, scope, branch.source_loc or branch.loc))
        return engine.items(branch.items, flow, inner, env)

    return engine.group(given, "branch", "branch", branch.loc, flow, scope, body)


def join(
    engine: Engine,
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
            [keeps_size(out.shape, shape, axis) for _, out in outs],
        )
        for axis in range(2)
    )
    out_flow = Flow(shape, depth, fields, where.path)
    engine.count_layer(loc)
    row = engine.add_row(
        scope.path(name),
        name,
        merge,
        scope.level,
        Flow(shapes[0][1], flow.depth),
        out_flow,
        Cost(output=shape, ops=ops),
        module=False,
    )
    engine.steps.append(MergeStep(row, tuple(branches), flow.shape, flow.field))
    return out_flow


def residual(
    engine: Engine, node: ResidualNode, flow: Flow, scope: Scope, env: Mapping[str, Any]
) -> Flow:
    body, body_steps = engine.capture(lambda: engine.items(node.body, flow, scope, env))
    skip, skip_steps = engine.capture(lambda: shortcut(engine, node, flow, body, scope, env))
    outs = [("body", body), (node.shortcut_name, skip)]
    return join(engine, "add", outs, [body_steps, skip_steps], flow, scope, node.loc)


def shortcut(
    engine: Engine, node: ResidualNode, flow: Flow, body: Flow, scope: Scope, env: Mapping[str, Any]
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
    items = mode if isinstance(mode, list) else projection(flow, body, loc, scope)
    return engine.group_items(node.shortcut_name, "shortcut", loc, items, flow, scope, env)


def projection(flow: Flow, body: Flow, loc: Loc, scope: Scope) -> list[Node]:
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
        ratio = jump_out // jump_in if isinstance(jump_in, int) and isinstance(jump_out, int) else 1
        strides.append(max(ratio, 1))
    conv = LayerNode(
        loc,
        name="0",
        kind="conv",
        spelled="conv",
        values={"filters": body.shape[0], "kernel": 1, "stride": strides, "bias": False},
    )
    return [conv, LayerNode(loc, name="1", kind="batchnorm", spelled="batchnorm")]


def dense(
    engine: Engine, node: DenseNode, flow: Flow, scope: Scope, env: Mapping[str, Any]
) -> Flow:
    where = Where(scope.prefix, node.loc, node.key_locs)
    count = resolve_int(node.count, env, where, "count", minimum=1)
    growth = resolve_int(node.growth, env, where, "growth", minimum=1)
    body = (
        engine.planned_layers(node.layer) if node.layer else engine.planned_block(node.block or "")
    )
    engine.check_budget(count * (body + 1), where, "count")
    features = flow
    for index in range(1, count + 1):
        new, steps = engine.capture(dense_layer, engine, node, index, growth, features, scope, env)
        where_layer = Where(scope.path(f"denselayer{index}"), node.loc, node.key_locs)
        _check_dense_layer(features, new, where_layer, "layer" if node.layer else "block")
        outs = [("features", features), ("new", new)]
        features = join(
            engine, "concat", outs, [(), steps], features, scope, node.loc, numbered=True
        )
    return features


def dense_layer(
    engine: Engine,
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
        return engine.group_items(
            name, "denselayer", node.loc, node.layer, features, scope, inner_env
        )
    call = CallNode(node.loc, name=name, block=node.block or "", args=dict(node.with_args))
    return engine.call(call, features, scope, env, implicit)


def repeat(
    engine: Engine, node: RepeatNode, flow: Flow, scope: Scope, env: Mapping[str, Any]
) -> Flow:
    where = Where(scope.prefix, node.loc, node.key_locs)
    try:
        count = resolve_int(node.count, env, where, "repeat", minimum=1)
    except SpecError as error:
        if node.name is not None:
            error.with_layer(scope.path(node.name))
        raise engine.with_arguments(error, node.count) from None
    body = (
        engine.planned_layers(node.items) if node.items else engine.planned_block(node.block or "")
    )
    engine.check_budget(count * body, where, "repeat")

    def repetitions(target: Scope, named: bool) -> Flow:
        current = flow
        for index in range(count):
            name = str(index) if named else None
            if node.items is not None and named:
                current = engine.group_items(
                    name, "repeat", node.loc, node.items, current, target, env
                )
            elif node.items is not None:
                current = engine.items(node.items, current, target, env)
            else:
                args = {**node.with_args, **(node.first_args if index == 0 else {})}
                call = CallNode(
                    node.loc,
                    name=name,
                    block=node.block or "",
                    args=args,
                    key_locs=dict(node.key_locs),
                )
                current = engine.call(call, current, target, env)
        return current

    if node.name is None:
        return repetitions(scope, named=False)
    return engine.group(
        node.name,
        "repeat",
        "repeat",
        node.loc,
        flow,
        scope,
        lambda inner: repetitions(inner, named=True),
    )


# ---------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Structure:
    """A structure kind: how its group row is labelled and the function that walks it."""

    label: str
    run: Callable[[Engine, Any, Flow, Scope, Mapping[str, Any]], Flow]

    def group_label(self, node: Node) -> str:
        """A merge's group is labelled by its merge (``concat``), the others by kind."""
        return node.merge if isinstance(node, MergeNode) else self.label


STRUCTURES: dict[type[Node], Structure] = {
    SequenceNode: Structure("sequence", sequence),
    MergeNode: Structure("merge", merge),
    ResidualNode: Structure("residual", residual),
    DenseNode: Structure("dense_block", dense),
}
"""Structures that the engine wraps in a group row; a repeat and a block call make their own."""


# ---------------------------------------------------------------------- shapes


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
