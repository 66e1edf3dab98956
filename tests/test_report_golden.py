"""Golden files: the worked report of every bundled spec in every format.

``tests/golden/report/<spec>.<fmt>`` (txt, md, tex, html) hold the expected output. After a
deliberate change, regenerate them with ``make goldens`` (or
``CNNCALC_UPDATE_GOLDENS=1 pytest tests/test_report_golden.py``) and review ``git diff``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from functools import cache

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


@cache
def _report(stem: str) -> WorkedReport:
    return worked_report(cnncalc.analyse_file(ROOT / "specs" / f"{stem}.yaml"))


def rendered(stem: str, fmt: str) -> str:
    text = RENDERERS[fmt](_report(stem))
    return text if text.endswith("\n") else text + "\n"


CASES = [(path.stem, fmt) for path in SPECS for fmt in RENDERERS]


@pytest.mark.parametrize("stem, fmt", CASES, ids=[f"{stem}.{fmt}" for stem, fmt in CASES])
def test_report_golden(stem: str, fmt: str) -> None:
    path = GOLDEN / f"{stem}.{fmt}"
    actual = rendered(stem, fmt)
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
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
            f"golden/{path.name}",
            "rendered now",
            lineterm="",
            n=1,
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"{path.name} differs from its golden file (after a deliberate change, run "
            f"`make goldens` and review the diff):\n{shown}"
        )


def test_report_golden_files_have_specs() -> None:
    """No stale golden files for specs that are gone."""
    expected = {f"{stem}.{fmt}" for stem, fmt in CASES}
    stale = sorted(path.name for path in GOLDEN.glob("*") if path.name not in expected)
    if UPDATE:
        for name in stale:
            (GOLDEN / name).unlink()
        return
    assert not stale, f"golden files without a spec (run `make goldens`): {stale}"
