"""What the command modules share: argument and option types, with their choices taken from
the registries (conventions, formats), and the exit helper.

Each command module (``cnncalc/cli/<group>.py``) defines its typer commands over these and a
``register(app)``; :mod:`cnncalc.cli.application` lists the modules. The commands only parse
options and call :mod:`cnncalc.cli.run` or the library: no arithmetic here.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import typer

from ..engine.conventions import CONVENTIONS
from ..report.formats import FORMATS


def _flags_without_a_type() -> None:
    """Help shows ``--no-bias`` alone, not ``--no-bias <bool>``: a flag takes no value, and
    typer's rich help would print the bool type of every flag (--help, --version too)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "hides_flags", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich.hides_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_a_type()


def choice_type(name: str, values: Iterable[str]) -> Any:
    """A str Enum whose members are ``values``: typer shows and checks them as choices."""
    return Enum(name, [(value, value) for value in values], type=str)


if TYPE_CHECKING:  # mypy sees plain strings; at run time typer sees the choices
    FormatChoice: TypeAlias = str
    ConventionChoice: TypeAlias = str
    TableOrJson: TypeAlias = str
else:
    FormatChoice = choice_type("Format", FORMATS)
    ConventionChoice = choice_type("Convention", CONVENTIONS)
    TableOrJson = choice_type("TableOrJson", ("table", "json"))


def value_of(choice: Any) -> str:
    """The string behind a choice (an Enum member, or a plain string from a library call)."""
    return str(getattr(choice, "value", choice))


def exit_with(status: int) -> None:
    """End the command with ``status`` when it is not 0."""
    if status:
        raise typer.Exit(status)


SpecArgument = Annotated[
    Path, typer.Argument(help="A spec file (YAML), e.g. specs/alexnet.yaml.", show_default=False)
]
InputOption = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        help="Input C×H×W, overriding the spec's: 3x224x224, or symbols: 3xHxW.",
        show_default=False,
    ),
]
BatchOption = Annotated[
    int, typer.Option("--batch", "-b", min=1, help="Batch size: MACs, FLOPs and activations scale.")
]
FormatOption = Annotated[FormatChoice, typer.Option("--format", "-f", help="Output format.")]
ConventionOption = Annotated[
    ConventionChoice,
    typer.Option(
        "--convention",
        "-c",
        help="How FLOPs/params are counted: cnncalc (2×MACs), or as a peer tool reports them: "
        + "; ".join(
            f"{name} ({convention.title})"
            for name, convention in CONVENTIONS.items()
            if convention.peer is not None
        )
        + ".",
    ),
]
OutputOption = Annotated[str | None, typer.Option("--output", "-o", help="Write to this file.")]
NoBiasOption = Annotated[
    bool,
    typer.Option(
        "--no-bias",
        help="The exam convention: leave out conv and linear biases (batchnorm β is kept).",
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Set one of the spec's args: --set width=0.5 (repeat for several).",
        show_default=False,
    ),
]
