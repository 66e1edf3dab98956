"""Spec-level arguments: ``args:`` at the top of a spec, and ``--set name=value``.

```yaml
args:
  width: 1.0            # a decimal: --set width=0.5 or width=1 (a whole number is a decimal too)
  depth: 50             # a whole number: --set depth=101
  pretrained: false     # true/false
  stages: {18: [2, 2, 2, 2], 50: [3, 4, 6, 3]}   # a table for expressions: stages[depth]
  stem: make_divisible(32 * width, 8)            # an expression over the arguments above it
```

The default's type is the argument's type: ``--set`` values are read as YAML scalars or
flow collections and must have it (an int where a decimal is expected is fine). Defaults
that are expressions are evaluated in order by the engine, each seeing those above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Loc, SpecError, did_you_mean
from ..expr import ExpressionError, evaluate, names_in


@dataclass
class Arguments:
    """The spec's ``args:``: defaults (raw) and where each is written; ``given`` holds the
    values set from outside (``--set``), already checked against the defaults' types."""

    defaults: dict[str, Any] = field(default_factory=dict)
    locs: dict[str, Loc] = field(default_factory=dict)
    loc: Loc | None = None
    given: dict[str, Any] = field(default_factory=dict)

    def at_defaults(self) -> bool:
        """Whether no ``--set`` changed an argument (published totals hold only then)."""
        return all(self.defaults[name] == value for name, value in self.given.items())

    def resolve(self) -> dict[str, Any]:
        """Every argument's value: set, else its default (an expression over the arguments
        before it is evaluated here)."""
        values: dict[str, Any] = {}
        for name, default in self.defaults.items():
            if name in self.given:
                values[name] = self.given[name]
                continue
            values[name] = self._default(name, default, values)
        return values

    def _default(self, name: str, default: Any, before: Mapping[str, Any]) -> Any:
        if not isinstance(default, str) or (default.isidentifier() and default not in before):
            return default
        if names_in(default) is None:
            return default  # free text
        try:
            return evaluate(default, before)
        except ExpressionError as error:
            raise SpecError(
                str(error),
                self.locs.get(name),
                key=name,
                hint="an argument's default may use the arguments written above it",
            ) from None


def parse_setting(text: str) -> tuple[str, str]:
    """``width=0.5`` → (``width``, ``0.5``); anything else is a usage error."""
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not name.isidentifier():
        raise SpecError(
            f"--set takes name=value, got '{text}'",
            hint="for example --set width=0.5 (the names are the spec's args:)",
        )
    return name, value.strip()


def apply_settings(arguments: Arguments, settings: Mapping[str, str], file: str) -> None:
    """Check each ``--set`` against the spec's arguments and store its typed value."""
    for name, text in settings.items():
        if name not in arguments.defaults:
            known = ", ".join(arguments.defaults) or "none: the spec has no args:"
            raise SpecError(
                f"--set {name}: the spec has no argument '{name}'",
                arguments.loc or Loc(file, 1, 1),
                key=name,
                hint=did_you_mean(name, list(arguments.defaults)) or f"its arguments: {known}",
            )
        arguments.given[name] = _typed(name, text, arguments, file)


def _typed(name: str, text: str, arguments: Arguments, file: str) -> Any:
    import yaml

    default = arguments.defaults[name]
    try:
        value = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        value = text
    wanted = _type_of(default)
    ok = (
        (wanted == "a whole number" and isinstance(value, int) and not isinstance(value, bool))
        or (wanted == "a number" and isinstance(value, int | float) and not isinstance(value, bool))
        or (wanted == "true or false" and isinstance(value, bool))
        or (wanted == "a list" and isinstance(value, list))
        or (wanted == "a mapping" and isinstance(value, dict))
        or wanted == "any value"
    )
    if not ok:
        raise SpecError(
            f"--set {name}={text}: '{name}' takes {wanted}, got '{text}'",
            arguments.locs.get(name, arguments.loc or Loc(file, 1, 1)),
            key=name,
            hint=f"its default is {default!r}",
        )
    return value


def _type_of(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, list):
        return "a list"
    if isinstance(default, dict):
        return "a mapping"
    return "any value"  # an expression or text: its use checks the value
