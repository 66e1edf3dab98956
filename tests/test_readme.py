"""The README is executed: every `$ cnncalc ...` in it prints exactly what it shows."""

from __future__ import annotations

import os
import re
import shlex

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def console_examples() -> list[tuple[str, str]]:
    """(command, expected output) for each ```console block."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        command, _, output = block.partition("\n")
        assert command.startswith("$ cnncalc ")
        examples.append((command[2:], output.rstrip("\n")))
    return examples


EXAMPLES = console_examples()


UPDATE = os.environ.get("CNNCALC_UPDATE_GOLDENS") == "1"
"""Like the golden files: with CNNCALC_UPDATE_GOLDENS=1 the README's outputs are rewritten
from real runs (read the diff before committing it)."""


def _rewrite_output(command: str, output: str) -> None:
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    block = re.compile(r"(```console\n\$ " + re.escape(command) + r"\n)(.*?)(```)", flags=re.S)
    path.write_text(block.sub(lambda m: m[1] + output + "\n" + m[3], text), encoding="utf-8")


def test_the_readme_has_a_tour():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_console_example(command, expected, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, shlex.split(command)[1:])
    if UPDATE:
        _rewrite_output(command, result.output.rstrip("\n"))
    else:
        assert result.output.rstrip("\n") == expected
    status = 2 if "error:" in expected else 1 if command.startswith("cnncalc check") else 0
    assert result.exit_code == status


def test_library_example(monkeypatch):
    monkeypatch.chdir(ROOT)
    code = re.search(r"```python\n(.*?)```", README, flags=re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)
    for line in code.splitlines():
        expression, _, comment = line.partition("#")
        if comment.strip() and not expression.startswith(("import", "analysis =")):
            assert repr(eval(expression, namespace)) == comment.strip()


def test_the_two_setup_commands_are_make_targets():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "make demo" in README and "make test" in README
    assert re.search(r"^demo:", makefile, flags=re.M)
    assert re.search(r"^test:", makefile, flags=re.M)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
