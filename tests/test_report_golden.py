"""Golden files: the worked report of every bundled spec in every format.

``tests/golden/report/<spec>.<fmt>`` (txt, md, tex, html) hold the expected output;
``lecture_notes/<spec>.txt`` the course notes' worked examples with their claims marked (one
of them, whose claims are mostly wrong, in every format); ``options/<spec>.<option>.<fmt>``
the ``--no-bias``, ``--answers-only`` and ``--symbolic`` reports of a few specs. After a
deliberate change, regenerate them with ``make goldens`` (or
``CNNCALC_UPDATE_GOLDENS=1 pytest tests/test_report_golden.py``) and review ``git diff``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import cnncalc
from cnncalc.report.html_report import report_html
from cnncalc.report.latex_report import report_latex
from cnncalc.report.markdown_report import report_markdown
from cnncalc.report.text_report import report_text
from cnncalc.report.worked import WorkedReport, worked_report

from .conftest import ROOT, SPECS

GOLDEN = ROOT / "tests" / "golden" / "report"
UPDATE = os.environ.get("CNNCALC_UPDATE_GOLDENS") == "1"

RENDERERS: dict[str, Callable[[WorkedReport], str]] = {
    "txt": report_text,
    "md": report_markdown,
    "tex": report_latex,
    "html": report_html,
}


NOTES = ROOT / "specs" / "lecture_notes"
NOTES_IN_EVERY_FORMAT = "alexnet_no_padding_stated_strides"

# (spec, option, formats): each option on specs where it changes the most
OPTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("alexnet", "no_bias", ("txt",)),
    ("resnet18", "no_bias", ("txt",)),
    ("alexnet", "answers_only", ("txt", "md")),
    ("googlenet", "answers_only", ("txt",)),
    ("lenet5", "symbolic", ("txt", "tex")),
    ("resnet18", "symbolic", ("txt",)),
)


@dataclass(frozen=True)
class Case:
    golden: str
    """The golden file, relative to tests/golden/report."""
    spec: Path
    fmt: str
    option: str = ""
    """'' (the default report), 'no_bias', 'answers_only' or 'symbolic'."""


def _cases() -> list[Case]:
    cases = [Case(f"{path.stem}.{fmt}", path, fmt) for path in SPECS for fmt in RENDERERS]
    for path in sorted(NOTES.glob("*.yaml")):
        formats = tuple(RENDERERS) if path.stem == NOTES_IN_EVERY_FORMAT else ("txt",)
        cases += [Case(f"lecture_notes/{path.stem}.{fmt}", path, fmt) for fmt in formats]
    for stem, option, formats in OPTIONS:
        spec = ROOT / "specs" / f"{stem}.yaml"
        cases += [Case(f"options/{stem}.{option}.{fmt}", spec, fmt, option) for fmt in formats]
    return cases


@cache
def _report(spec: Path, option: str) -> WorkedReport:
    """The report as ``cnncalc report`` makes it with the option (--symbolic: [C, H, W])."""
    shape = None
    if option == "symbolic":
        channels = cnncalc.load_spec(spec).input[0]
        shape = [channels, "H", "W"]
    analysis = cnncalc.analyse_file(spec, shape)
    return worked_report(
        analysis, no_bias=option == "no_bias", answers_only=option == "answers_only"
    )


def rendered(case: Case) -> str:
    text = RENDERERS[case.fmt](_report(case.spec, case.option))
    return text if text.endswith("\n") else text + "\n"


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[case.golden for case in CASES])
def test_report_golden(case: Case) -> None:
    path = GOLDEN / case.golden
    actual = rendered(case)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != actual:
            path.write_text(actual, encoding="utf-8", newline="\n")
        return
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make goldens` and review it")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(),
            actual.splitlines(),
            f"golden/{case.golden}",
            "rendered now",
            lineterm="",
            n=1,
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"{case.golden} differs from its golden file (after a deliberate change, run "
            f"`make goldens` and review the diff):\n{shown}"
        )


def test_report_golden_files_have_specs() -> None:
    """No stale golden files for specs that are gone."""
    expected = {case.golden for case in CASES}
    present = {path.relative_to(GOLDEN).as_posix() for path in GOLDEN.rglob("*") if path.is_file()}
    stale = sorted(present - expected)
    if UPDATE:
        for name in stale:
            (GOLDEN / name).unlink()
        return
    assert not stale, f"golden files without a spec (run `make goldens`): {stale}"
