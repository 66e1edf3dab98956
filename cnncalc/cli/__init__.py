"""The ``cnncalc`` command line: thin commands over the library, with one error boundary.

- :mod:`.run`: each command as a plain function returning its exit status, and
  :func:`.run.guarded`, the one place a user error becomes a message and exit status 2;
- :mod:`.fast`: shape/params/flops/summary parsed without typer (the console script's path);
- :mod:`.application`: the typer app; one module per command group registers its commands.

``from cnncalc.cli import app`` gives the typer app (imported on first use, so the fast path
never loads typer).
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    """The console script ``cnncalc``."""
    from .fast import main as fast_main

    fast_main()


def __getattr__(name: str) -> Any:
    if name == "app":
        from .application import app

        return app
    raise AttributeError(f"module 'cnncalc.cli' has no attribute '{name}'")
