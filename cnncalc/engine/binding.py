"""Argument binding: a layer's field values and a block call's arguments, resolved in their
environment (the spec's ``args:``, block arguments, ``in_channels``), with errors that point
at the key and show the arguments an expression used."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import Loc, SpecError, did_you_mean
from ..expr import ExpressionError, evaluate, names_in, whole
from ..layers import KINDS, REQUIRED, LayerKind, Where
from ..spec.nodes import BlockDef, CallNode, LayerNode, Node, child_lists


def field_values(
    kind: LayerKind,
    node: LayerNode,
    in_channels: Any,
    env: Mapping[str, Any],
    where: Where,
    defaults: Mapping[str, Any],
    arguments: Mapping[str, Any],
) -> dict[str, Any]:
    """Field values: given, else the spec's defaults, else the kind's; then parsed."""
    for key in node.values:
        if kind.field_named(key) is None:
            raise where.error(
                f"unknown key '{key}' for {kind.name}",
                key,
                hint=key_hint(kind, node, key),
                at_key=True,
            )
    local = {**env, "in_channels": in_channels}
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
            values[item.name] = item.parse(substitute(raw, env), local, where)
        except SpecError as error:
            raise with_arguments(error, raw, arguments) from None
    return values


def with_arguments(error: SpecError, raw: Any, arguments: Mapping[str, Any]) -> SpecError:
    """A value refused where it came from the spec's ``args:`` (a family member whose
    width rounds to 0): the hint shows the expression and the arguments' values."""
    used = names_in(raw) if isinstance(raw, str) else None
    given = [  # the tables a value was looked up in are the spec's to read
        name
        for name in sorted(used or ())
        if name in arguments and not isinstance(arguments[name], list | dict)
    ]
    if given:
        values = ", ".join(f"{name} = {arguments[name]!r}" for name in given)
        note = f"'{raw}' with {values} (the spec's args:; --set changes them)"
        error.hint = f"{error.hint}; {note}" if error.hint else note
    return error


def bind(
    block: BlockDef,
    node: CallNode,
    in_channels: Any,
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
    caller = {**env, "in_channels": in_channels}
    bindings: dict[str, Any] = {}
    for name, default in block.params:
        if name in given:
            raw, loc = given[name], node.key_locs.get(name, node.loc)
            bindings[name] = argument_value(raw, caller, loc, name)
        elif default is REQUIRED:
            raise SpecError(
                f"block '{block.name}' needs argument '{name}'",
                node.loc,
                key=name,
                hint=f"{block.name}: {{{', '.join(f'{n}: ...' for n in names)}}}",
            )
        else:
            bindings[name] = argument_value(default, {**caller, **bindings}, block.loc, name)
    return bindings


def key_hint(kind: LayerKind, node: LayerNode, key: str) -> str:
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


def check_keys(nodes: Sequence[Node], where: str) -> None:
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
            check_keys(child, where)


def substitute(raw: Any, env: Mapping[str, Any]) -> Any:
    """A bare argument name becomes the argument's value, whatever its type."""
    if isinstance(raw, str) and raw in env:
        return env[raw]
    if isinstance(raw, list):
        return [substitute(item, env) for item in raw]
    return raw


def argument_value(raw: Any, env: Mapping[str, Any], loc: Loc, name: str) -> Any:
    """A block argument: a name or expression is evaluated in the caller; words stay words."""
    if isinstance(raw, list):
        return [argument_value(item, env, loc, name) for item in raw]
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


def resolve_int(raw: Any, env: Mapping[str, Any], where: Where, key: str, minimum: int) -> int:
    value = substitute(raw, env)
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
