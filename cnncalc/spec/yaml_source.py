"""YAML → plain Python values that remember where they came from.

The spec is composed with PyYAML's *safe* C loader when available (no object
construction from tags) and turned into ``YamlMap`` / ``YamlList`` containers that
carry the position of every key and item, so each error can point at the exact
line and column.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from ..errors import Loc, SpecError

try:  # the C loader is several times faster; positions are the same
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - pure-Python PyYAML
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

_MAX_BYTES = 20_000_000


class YamlMap(dict[str, Any]):
    """A mapping with ``loc`` (of the mapping), ``key_locs`` and ``value_locs``."""

    loc: Loc
    key_locs: dict[str, Loc]
    value_locs: dict[str, Loc]


class YamlList(list[Any]):
    """A sequence with ``loc`` and ``item_locs``."""

    loc: Loc
    item_locs: list[Loc]


def _loc(file: str, node: yaml.Node) -> Loc:
    return Loc(file, node.start_mark.line + 1, node.start_mark.column + 1)


_scalar_constructor = yaml.constructor.SafeConstructor()


def _convert(node: yaml.Node, file: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        result = YamlMap()
        result.loc, result.key_locs, result.value_locs = _loc(file, node), {}, {}
        for key_node, value_node in node.value:
            key = _convert(key_node, file)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise SpecError(
                    f"duplicate key '{key}'",
                    _loc(file, key_node),
                    key=key,
                    hint="each key may appear once in a mapping; YAML would silently keep the last",
                )
            result[key] = _convert(value_node, file)
            result.key_locs[key] = _loc(file, key_node)
            result.value_locs[key] = _loc(file, value_node)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = YamlList(_convert(item, file) for item in node.value)
        items.loc = _loc(file, node)
        items.item_locs = [_loc(file, item) for item in node.value]
        return items
    return _scalar_constructor.construct_object(node)


def parse_yaml(text: str, file: str) -> Any:
    """Compose ``text`` safely and convert it to located values."""
    try:
        node = yaml.compose(text, Loader=_SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        loc = Loc(file, mark.line + 1, mark.column + 1) if mark else None
        problem = error.problem or error.context or "invalid YAML"
        raise SpecError(
            f"YAML syntax error: {problem}",
            loc,
            hint="check indentation and that every '[' and '{' is closed",
        ) from None
    except yaml.YAMLError as error:
        raise SpecError(f"YAML error: {error}", Loc(file, 1, 1)) from None
    if node is None:
        return None
    return _convert(node, file)


def read_spec_text(path: str | os.PathLike[str]) -> str:
    """The text of a spec file, or a SpecError a person can act on.

    (os.path rather than pathlib: pathlib's import alone is a tenth of cnncalc's start-up.)
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise SpecError(f"no such file: {name}", hint="check the path; bundled specs are in specs/")
    if os.path.isdir(name):
        raise SpecError(f"{name} is a directory, not a spec file", hint="give a .yaml file")
    size = os.path.getsize(name)
    if size > _MAX_BYTES:
        raise SpecError(f"{name} is {size:,} bytes: too large for a spec (limit {_MAX_BYTES:,})")
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise SpecError(f"cannot read {name}: {error.strerror}") from None
    if b"\x00" in data:
        raise SpecError(f"{name} is a binary file, not a YAML spec", hint="give a .yaml text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(
            f"{name} is not UTF-8 text (byte {error.start})", hint="save the spec as UTF-8"
        ) from None
