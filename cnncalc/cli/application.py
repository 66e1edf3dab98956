"""The typer app: every command group registered from one list, one ``--version``.

A new command group is a module ``cnncalc/cli/<group>.py`` with a ``register(app)``, named in
:data:`COMMAND_GROUPS`. Help and listing order follow this list.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from .. import __version__

COMMAND_GROUPS = (
    "analysis",
    "report",
    "savings",
    "pytorch",
    "calculators",
    "train",
    "quiz",
    "profile",
    "visualise",
)

app = typer.Typer(
    name="cnncalc",
    help="Exact shapes, parameters, MACs/FLOPs, memory and receptive fields of CNNs described "
    "in YAML, with the working shown and every number checkable against PyTorch.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Exact shapes, parameters, MACs/FLOPs, memory and receptive fields of CNNs described in
    YAML, with the working shown and every number checkable against PyTorch."""


for _group in COMMAND_GROUPS:
    importlib.import_module(f"{__package__}.{_group}").register(app)
