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

MAX_VALUES = 1_000_000
"""A spec converts to at most this many YAML values: aliases cannot blow it up (no hang)."""

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null")}


class _Converter:
    """Node tree → located values, refusing self-referencing aliases, foreign tags and
    alias expansions beyond :data:`MAX_VALUES`."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0
        self.active: set[int] = set()

    def convert(self, node: yaml.Node) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise SpecError(
                f"the spec expands to more than {MAX_VALUES:,} YAML values",
                _loc(self.file, node),
                hint="YAML aliases (*name) copy whole subtrees: check for aliases of aliases",
            )
        if id(node) in self.active:
            raise SpecError(
                "a YAML alias refers to the list or mapping that contains it",
                _loc(self.file, node),
                hint="an anchor (&name) cannot be used (*name) inside itself",
            )
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self._check_tag(node, "map" if isinstance(node, yaml.MappingNode) else "seq")
            self.active.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node)
                return self._sequence(node)
            finally:
                self.active.discard(id(node))
        return self._scalar(node)

    def _check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != f"{_TAG}{expected}":
            raise SpecError(
                f"YAML tag '{_tag_text(node.tag)}' is not allowed",
                _loc(self.file, node),
                hint="cnncalc reads plain YAML: remove the tag",
            )

    def _mapping(self, node: yaml.MappingNode) -> YamlMap:
        result = YamlMap()
        result.loc, result.key_locs, result.value_locs = _loc(self.file, node), {}, {}
        for key_node, value_node in node.value:
            key = self.convert(key_node)
            key = key if isinstance(key, str) else str(key)
            if key in result:
                raise SpecError(
                    f"duplicate key '{key}' (first at line {result.key_locs[key].line})",
                    _loc(self.file, key_node),
                    key=key,
                    hint="each key may appear once in a mapping; YAML would silently keep the last",
                )
            try:
                result[key] = self.convert(value_node)
            except SpecError as error:
                error.key = error.key or key
                raise
            result.key_locs[key] = _loc(self.file, key_node)
            result.value_locs[key] = _loc(self.file, value_node)
        return result

    def _sequence(self, node: yaml.SequenceNode) -> YamlList:
        items = YamlList(self.convert(item) for item in node.value)
        items.loc = _loc(self.file, node)
        items.item_locs = [_loc(self.file, item) for item in node.value]
        return items

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag == f"{_TAG}timestamp":
            return str(node.value)  # a date in a name or source is text
        if node.tag not in _PLAIN_TAGS:
            raise SpecError(
                f"YAML tag '{_tag_text(node.tag)}' is not allowed",
                _loc(self.file, node),
                hint="cnncalc reads plain YAML: numbers, true/false, text, lists and mappings",
            )
        try:
            return _scalar_constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, IndexError):  # IndexError: PyYAML on '!!float '
            raise SpecError(
                f"'{node.value}' is not a valid {_tag_text(node.tag)} value",
                _loc(self.file, node),
                hint="remove the tag, or write a value of that type",
            ) from None


def _tag_text(tag: str) -> str:
    """``tag:yaml.org,2002:int`` → ``!!int``, as it is written in the file."""
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def parse_yaml(text: str, file: str) -> Any:
    """Compose ``text`` safely and convert it to located values."""
    try:
        node = yaml.compose(text, Loader=_SafeLoader)
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, file) from None
    except yaml.YAMLError as error:
        raise SpecError(f"YAML error: {error}", Loc(file, 1, 1)) from None
    except RecursionError:
        raise _too_deep(Loc(file, 1, 1)) from None
    if node is None:
        return None
    try:
        return _Converter(file).convert(node)
    except RecursionError:
        raise _too_deep(_loc(file, node)) from None


def _too_deep(loc: Loc | None) -> SpecError:
    # libyaml stops at 1000 levels itself; the pure-Python reader and the converter run out
    # of Python's stack instead. Either way it is one message.
    return SpecError(
        "the YAML nests too deeply to read",
        loc,
        hint="a network spec nests a few levels deep: look for a runaway '[' or '{'",
    )


def _syntax_error(error: yaml.MarkedYAMLError, file: str) -> SpecError:
    mark = error.problem_mark or error.context_mark
    loc = Loc(file, mark.line + 1, mark.column + 1) if mark else None
    if "maximum nesting depth" in str(error.problem):
        return _too_deep(loc)
    problem = error.problem or error.context or "invalid YAML"
    context = ""
    if error.context and error.context_mark and error.problem:
        where = error.context_mark
        context = f" ({error.context} at line {where.line + 1}, column {where.column + 1})"
    return SpecError(
        f"YAML syntax error: {problem}{context}",
        loc,
        hint="check indentation and that every '[' and '{' is closed",
    )


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
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise SpecError(
            f"{name} is not UTF-8 text (byte 0x{data[error.start]:02x})",
            Loc(name, line, column),
            hint="save the spec as UTF-8",
        ) from None
