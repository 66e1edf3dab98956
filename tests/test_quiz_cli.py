"""``cnncalc quiz`` and ``cnncalc grade`` through the CLI, and the paper renderers: Markdown,
LaTeX (compiled where pdflatex is installed), HTML (opened in headless Chromium where it is
installed), JSON. Bad input: one message, exit status 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.quiz import generate, generate_papers
from cnncalc.quiz.render import papers_html, papers_latex, papers_markdown

from .conftest import ROOT
from .test_report_render import _Checker

FASHION = str(ROOT / "specs" / "fashion_mnist_cnn.yaml")


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def _class_papers():
    return generate_papers(["Ada", "Ben"], count=11, difficulty="hard", seed=4)


# ------------------------------------------------------------------ renderers


def test_markdown_paper_has_blanks_and_the_key_has_answers_and_working() -> None:
    paper = generate(["layer-table", "parameters"], count=2, difficulty="easy", seed=0)
    text = papers_markdown([paper])
    assert "…………………" in text and "Working:" not in text
    assert "| # | layer | configuration | output H×W×D | parameters |" in text
    key = papers_markdown([paper], key=True)
    for answer in paper.answers().values():
        assert f"({answer.key}) {answer.label}: {answer.value_text()}" in key
    assert "Working:" in key and "Marking:" in key


def test_latex_is_ascii_with_balanced_braces_and_environments() -> None:
    for key in (False, True):
        text = papers_latex(_class_papers(), key)
        assert text.isascii()
        assert text.count("{") - text.count("\\{") == text.count("}") - text.count("\\}")
        begins = re.findall(r"\\begin\{(\w+)\}", text)
        ends = re.findall(r"\\end\{(\w+)\}", text)
        assert sorted(begins) == sorted(ends)
        assert text.count("\\newpage") == 1


def test_latex_compiles(tmp_path: Path) -> None:
    pdflatex = shutil.which("pdflatex")
    if not pdflatex:
        pytest.skip("pdflatex is not installed (Debian: apt-get install texlive-latex-base)")
    for name, key in (("paper", False), ("key", True)):
        (tmp_path / f"{name}.tex").write_text(papers_latex(_class_papers(), key), encoding="ascii")
        result = subprocess.run(
            [pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout[-2000:]
        assert (tmp_path / f"{name}.pdf").stat().st_size > 1000


def test_html_is_well_formed_and_self_contained() -> None:
    for key in (False, True):
        text = papers_html(_class_papers(), key)
        assert text.startswith("<!DOCTYPE html>")
        lowered = text.lower()
        for forbidden in ("http:", "https:", "<script", "@import", "url(", "<link", "src="):
            assert forbidden not in lowered, forbidden
        checker = _Checker()
        checker.feed(text)
        checker.close()
        assert not checker.errors, checker.errors[:5]
        assert checker.stack == []
        assert ('class="value"' in text) == key


def test_html_opens_in_chromium(tmp_path: Path) -> None:
    chromium = next(
        (
            path
            for name in ("chromium", "chromium-browser", "google-chrome")
            if (path := shutil.which(name))
        ),
        None,
    )
    if not chromium:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    page = tmp_path / "key.html"
    page.write_text(papers_html(_class_papers(), key=True), encoding="utf-8")
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'id="p1-paper"' in result.stdout and "Working" not in result.stderr


# ------------------------------------------------------------------ cnncalc quiz


def test_quiz_prints_a_paper_and_the_same_seed_prints_it_again() -> None:
    first = run("quiz", "--topics", "output-volume,floor-trap", "--count", "2", "--seed", "5")
    second = run("quiz", "--topics", "output-volume,floor-trap", "--count", "2", "--seed", "5")
    assert first.exit_code == 0 and first.output == second.output
    assert "## 1. Output volume (3 marks)" in first.output
    assert "Working" not in first.output


def test_quiz_writes_each_format_by_suffix(tmp_path: Path) -> None:
    for suffix, marker in (
        (".md", "# CNN"),
        (".tex", "\\documentclass"),
        (".html", "<!DOCTYPE html>"),
        (".json", '"format": "cnncalc-quiz"'),
    ):
        target = tmp_path / f"paper{suffix}"
        result = run("quiz", "--count", "3", "--seed", "1", "-o", str(target))
        assert result.exit_code == 0, result.output
        assert target.read_text(encoding="utf-8").startswith(marker) or marker in target.read_text()


def test_json_paper_leaves_out_the_answers_and_the_key_has_them() -> None:
    paper = json.loads(run("quiz", "--count", "2", "--format", "json").output)
    assert paper["key"] is False
    assert all("value" not in box for q in paper["papers"][0]["questions"] for box in q["answers"])
    key = json.loads(run("quiz", "--count", "2", "--format", "json", "--key").output)
    assert all(
        "value" in box and "measure" in box
        for q in key["papers"][0]["questions"]
        for box in q["answers"]
    )


def test_quiz_from_a_spec() -> None:
    result = run("quiz", "--from", FASHION, "--topics", "layer-table", "--count", "1", "--key")
    assert result.exit_code == 0, result.output
    assert "Fashion-MNIST CNN" in result.output and "| 1 | conv1 |" in result.output


def test_interactive_checks_each_answer_and_shows_the_working_after_a_wrong_one() -> None:
    paper = generate(["output-volume"], count=2, difficulty="easy", seed=3)
    first, second = paper.questions
    right = [answer.value_text() for answer in first.answers]
    wrong = ["1", "nonsense", second.answers[2].value_text()]
    result = run(
        "quiz",
        "--interactive",
        "--topics",
        "output-volume",
        "--count",
        "2",
        "--difficulty",
        "easy",
        "--seed",
        "3",
        input="\n".join(right + wrong) + "\n",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("✓ right") == 4
    assert "✗ wrong ('nonsense' is not a number)" in out
    assert out.count("Worked solution:") == 1
    assert out.index("Worked solution:") > out.index("2. Output volume")
    assert out.rstrip().endswith("score 4/6 (67%)")


def test_interactive_stops_cleanly_at_the_end_of_input() -> None:
    result = run("quiz", "--interactive", "--count", "3", "--seed", "1", input="")
    assert result.exit_code == 0
    assert result.output.rstrip().endswith("stopped: score 0/0")


# ------------------------------------------------------------------ cnncalc grade


def _write_class(tmp_path: Path) -> tuple[Path, dict]:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nAda,a@x\nBen,b@x\n", encoding="utf-8")
    result = run(
        "quiz",
        "--students",
        str(roster),
        "--topics",
        "parameters,flops",
        "--count",
        "2",
        "--seed",
        "9",
        "--format",
        "json",
        "--key",
        "-o",
        str(tmp_path / "key.json"),
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "key.json", json.loads((tmp_path / "key.json").read_text())


def test_grade_a_class_from_csv(tmp_path: Path) -> None:
    key_path, key = _write_class(tmp_path)
    rows = []
    for paper in key["papers"]:
        boxes = [box for q in paper["questions"] for box in q["answers"]]
        values = [str(box["value"]) for box in boxes]
        if paper["student"] == "Ben":
            values[0] = "lots"
        rows.append(",".join([paper["student"], *values]))
    header = ",".join(
        ["student", *(box["key"] for q in key["papers"][0]["questions"] for box in q["answers"])]
    )
    answers = tmp_path / "answers.csv"
    answers.write_text("\n".join([header, *rows, "Zoe,1"]) + "\n", encoding="utf-8")
    result = run("grade", str(key_path), str(answers))
    assert result.exit_code == 0, result.output
    out = result.output
    total_ada = key["papers"][0]["marks"]
    assert f"Ada: {total_ada}/{total_ada}" in out
    assert "✗ (1a)" in out and "you wrote lots ('lots' is not a number)" in out
    assert "not graded: no paper in the key for student 'Zoe'" in out
    assert "By topic (weakest first):" in out and "Class: 2 students" in out


def test_grade_yaml_for_one_student(tmp_path: Path) -> None:
    key_path, key = _write_class(tmp_path)
    paper = key["papers"][1]
    lines = [f"  {box['key']}: {box['value']}" for q in paper["questions"] for box in q["answers"]]
    (tmp_path / "ben.yaml").write_text("student: Ben\nanswers:\n" + "\n".join(lines) + "\n")
    result = run("grade", str(key_path), str(tmp_path / "ben.yaml"))
    assert result.exit_code == 0
    assert result.output.startswith(f"Ben: {paper['marks']}/{paper['marks']}")


@pytest.mark.parametrize(
    "args, message",
    [
        (["quiz", "--topics", "convolution"], "unknown topic 'convolution'; choose from: "),
        (["quiz", "--count", "0"], "count 0 is out of range: ask for 1 to 100 questions"),
        (["quiz", "--count", "1000000"], "count 1000000 is out of range"),
        (["quiz", "--variants", "0"], "--variants 0 is out of range"),
        (["quiz", "-o", "paper.docx"], "cannot tell the format from '.docx'"),
        (["quiz", "--from", "missing.yaml"], "missing.yaml"),
        (["grade", "missing.json", "answers.csv"], "cannot read the answer key missing.json"),
    ],
)
def test_bad_requests_exit_2_with_a_message(args, message, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_roster_with_duplicate_names_is_refused(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nAda\nBen\nAda\n", encoding="utf-8")
    result = run("quiz", "--students", str(roster))
    assert result.exit_code == 2
    assert "duplicate names in the roster: Ada" in result.output


def test_grade_refuses_answers_that_are_neither_yaml_nor_csv(tmp_path: Path) -> None:
    key_path, _ = _write_class(tmp_path)
    (tmp_path / "answers.xlsx").write_bytes(b"PK\x03\x04")
    result = run("grade", str(key_path), str(tmp_path / "answers.xlsx"))
    assert result.exit_code == 2
    assert "answers must be YAML (.yaml, .yml) or CSV (.csv), not '.xlsx'" in result.output


def test_grade_refuses_a_paper_without_answers(tmp_path: Path) -> None:
    (tmp_path / "paper.json").write_text(run("quiz", "--count", "1", "--format", "json").output)
    (tmp_path / "a.yaml").write_text("1a: 3\n")
    result = run("grade", str(tmp_path / "paper.json"), str(tmp_path / "a.yaml"))
    assert result.exit_code == 2
    assert "this is a paper without its answers" in result.output


def test_a_class_into_a_directory(tmp_path: Path) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("Ada Lovelace\nBen\n", encoding="utf-8")
    out = tmp_path / "exam"
    result = run("quiz", "--students", str(roster), "--count", "2", "-o", f"{out}/")
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in out.iterdir())
    assert names == ["key.json", "key.md", "paper-Ada_Lovelace.md", "paper-Ben.md", "paper.md"]
    assert "Name: Ada Lovelace" in (out / "paper-Ada_Lovelace.md").read_text()


def test_grade_with_no_sheet_for_any_paper_exits_2(tmp_path: Path) -> None:
    key_path, _ = _write_class(tmp_path)
    (tmp_path / "zoe.yaml").write_text("student: Zoe\nanswers: {1a: 3}\n")
    result = run("grade", str(key_path), str(tmp_path / "zoe.yaml"))
    assert result.exit_code == 2
    assert "nothing to grade: no paper in the key for student 'Zoe' (the key has 'Ada', 'Ben')" in (
        result.output
    )
