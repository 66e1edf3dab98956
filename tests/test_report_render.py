"""The report formats render what they promise: Markdown math, LaTeX that compiles, HTML
that a browser opens without errors, an SVG diagram that is valid XML, a rich terminal view.

The LaTeX test needs ``pdflatex`` (Debian: texlive-latex-base) and the browser test
``chromium``; each is skipped, with the reason, where the tool is absent. ``.ci/run``
installs both.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

import cnncalc
from cnncalc.report.diagram import diagram_svg
from cnncalc.report.html_report import report_html
from cnncalc.report.latex_report import report_latex
from cnncalc.report.markdown_report import report_markdown
from cnncalc.report.notation import tex_math, tex_text
from cnncalc.report.worked import WorkedReport, worked_report

from .conftest import ROOT, SPECS, analyse_text

SVG = "{http://www.w3.org/2000/svg}"


@cache
def _analysis(stem: str, input_shape: tuple | None) -> cnncalc.Analysis:
    return cnncalc.analyse_file(ROOT / "specs" / f"{stem}.yaml", input_shape)


def report(stem: str, input_shape=None, **options) -> WorkedReport:
    shape = tuple(input_shape) if input_shape else None
    return worked_report(_analysis(stem, shape), **options)


# ---------------------------------------------------------------------- notation


@pytest.mark.parametrize(
    "text, math",
    [
        ("(W − F + 2P)/S + 1", "(W - F + 2P)/S + 1"),
        ("(227 − 11 + 2·0)/4 + 1", r"(227 - 11 + 2 \cdot 0)/4 + 1"),
        ("34,944", "34{,}944"),
        ("W_out", r"W_{\text{out}}"),
        ("D₁ + D₂", "D_{1} + D_{2}"),
        ("⌊(W − 1)/2⌋ + 1", r"\lfloor (W - 1)/2 \rfloor + 1"),
        ("⌈H/2⌉", r"\lceil H/2 \rceil"),
        ("28×28×64", r"28 \times 28 \times 64"),
        (
            "parameters = none: pooling has no weights = 0",
            r"\text{parameters} = \text{none: pooling has no weights} = 0",
        ),
        (
            "2·D (γ and β per channel)",
            r"2 \cdot D ( \gamma \text{ and } \beta \text{ per channel})",
        ),
        ("MACs = N_in·N_out", r"\text{MACs} = N_{\text{in}} \cdot N_{\text{out}}"),
    ],
)
def test_tex_math(text: str, math: str) -> None:
    assert tex_math(text) == math


def test_tex_text_escapes_and_is_ascii() -> None:
    text = tex_text('Krizhevsky & Hinton, 50% of #1_a {x} "quoted" — é ⌊…⌋ → ⚠ 中')
    assert text.isascii()
    assert r"\&" in text and r"50\%" in text and r"\#1\_a" in text and r"\{x\}" in text
    assert "``quoted''" in text and "---" in text and r"\'{e}" in text


# ---------------------------------------------------------------------- Markdown


def test_markdown_has_math_headings_and_totals() -> None:
    text = report_markdown(report("alexnet"))
    assert text.startswith("# AlexNet")
    assert "### conv1 (conv)" in text
    assert (
        r"- $W_{\text{out}} = (W_{\text{in}} - F + 2P)/S + 1 = (227 - 11 + 2 \cdot 0)/4 + 1 = 55$"
        in (text)
    )
    assert "| parameters | 62,378,344 |" in text
    assert "## Conventions" in text
    for line in text.splitlines():
        assert line.count("$") % 2 == 0, line
        for math in re.findall(r"\$([^$]*)\$", line):
            assert math == math.strip() and math.isascii(), line


def test_markdown_answers_only_and_warnings() -> None:
    text = report_markdown(report("alexnet", [3, 224, 224], answers_only=True))
    assert r"$W_{\text{out}} = 54$" in text
    assert "(W - F" not in text and "PyTorch floors" not in text
    assert "⚠ **Warning:**" in text


def test_markdown_nests_groups_in_deeper_headings() -> None:
    text = report_markdown(report("resnet18"))
    assert "### layer1 (repeat)" in text
    assert "#### layer1.0 (block:basic)" in text
    assert "##### layer1.0.conv1 (conv)" in text


# ------------------------------------------------------------------------- LaTeX


@pytest.mark.parametrize("stem", [path.stem for path in SPECS])
def test_latex_is_ascii_and_balanced(stem: str) -> None:
    text = report_latex(report(stem))
    assert text.isascii()
    assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
    assert text.count("{") - text.count(r"\{") == text.count("}") - text.count(r"\}")
    body = re.sub(r"\\\$", "", text)
    assert body.count("$") % 2 == 0


def test_latex_symbolic_and_options_are_ascii() -> None:
    for options in ({}, {"no_bias": True}, {"answers_only": True}):
        assert report_latex(report("lenet5", [1, "H", "W"], **options)).isascii()


def _pdflatex() -> str:
    path = shutil.which("pdflatex")
    if path is None:
        pytest.skip("pdflatex is not installed (Debian: apt-get install texlive-latex-base)")
    return path


@pytest.mark.parametrize(
    "stem, input_shape",
    [
        ("alexnet", None),
        ("resnet18", None),
        ("googlenet_torchvision", None),
        ("lenet5", [1, "H", "W"]),
    ],
)
def test_latex_compiles(stem: str, input_shape, tmp_path: Path) -> None:
    pdflatex = _pdflatex()
    source = tmp_path / f"{stem}.tex"
    source.write_text(report_latex(report(stem, input_shape)), encoding="ascii")
    result = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert (tmp_path / f"{stem}.pdf").stat().st_size > 10_000
    log = (tmp_path / f"{stem}.log").read_text(errors="replace")
    assert "Undefined control sequence" not in log
    assert "Missing character" not in log


# -------------------------------------------------------------------------- HTML


class _Checker(HTMLParser):
    """Every non-void element closed in order; ids unique; nothing fetched."""

    VOID = frozenset({"meta", "link", "br", "hr", "img", "input", "wbr", "source", "col", "area"})
    SVG_LEAVES = frozenset({"rect", "path", "circle", "line", "polyline", "polygon", "ellipse"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "id" in values:
            if values["id"] in self.ids:
                self.errors.append(f"duplicate id {values['id']}")
            self.ids.add(str(values["id"]))
        if "href" in values:
            self.hrefs.append(str(values["href"]))
        if "src" in values:
            self.errors.append(f"<{tag} src=...> fetches something")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID and tag not in self.SVG_LEAVES:
            self.errors.append(f"self-closed <{tag}/>")
        values = dict(attrs)
        if "href" in values:
            self.hrefs.append(str(values["href"]))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


@pytest.mark.parametrize("stem", ["alexnet", "resnet18", "googlenet_torchvision", "densenet121"])
def test_html_is_well_formed_and_self_contained(stem: str) -> None:
    text = report_html(report(stem))
    assert text.startswith("<!DOCTYPE html>")
    lowered = text.lower()
    for forbidden in ("http:", "https:", "//", "<script", "@import", "url(", "<link", "src="):
        assert forbidden not in lowered.replace("</", "<"), forbidden
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert not checker.errors, checker.errors[:5]
    assert checker.stack == []
    internal = [href[1:] for href in checker.hrefs if href.startswith("#")]
    assert len(internal) == len(checker.hrefs)
    missing = [target for target in internal if target not in checker.ids]
    assert not missing, missing[:5]
    for section in ("diagram", "layers", "work", "totals", "conventions"):
        assert f'id="{section}"' in text


def test_html_answers_only_and_warnings() -> None:
    text = report_html(report("alexnet", [3, 224, 224], answers_only=True))
    assert "(<i>W</i> − <i>F</i>" not in text
    assert "⚠" in text


def _diagram(stem: str) -> ET.Element:
    return ET.fromstring(diagram_svg(cnncalc.analyse_file(ROOT / "specs" / f"{stem}.yaml")))


def _boxes(svg: ET.Element) -> dict[str, tuple[float, float]]:
    """Each layer box's (x, y), by its path (from its tooltip)."""
    boxes = {}
    for group in svg.iter():
        title = group.find(f"{SVG}title")
        rect = group.find(f"{SVG}rect")
        if title is not None and rect is not None and title.text:
            path = title.text.split(" ", 1)[0]
            boxes[path] = (float(rect.get("x", 0)), float(rect.get("y", 0)))
    return boxes


@pytest.mark.parametrize("stem", [path.stem for path in SPECS])
def test_diagram_is_valid_svg_with_every_layer(stem: str) -> None:
    analysis = cnncalc.analyse_file(ROOT / "specs" / f"{stem}.yaml")
    svg = ET.fromstring(diagram_svg(analysis))
    assert svg.tag == f"{SVG}svg"
    width = float(svg.get("width", 0))
    assert 0 < width < 1800, "the diagram stays a readable width"
    boxes = _boxes(svg)
    assert {row.path for row in analysis.rows} <= set(boxes)


def test_diagram_flows_down_and_puts_branches_side_by_side() -> None:
    boxes = _boxes(_diagram("googlenet_torchvision"))
    assert boxes["conv1.conv"][1] < boxes["maxpool1"][1] < boxes["inception3a.branch1.conv"][1]
    branches = [boxes[f"inception3a.branch{index}"] for index in range(1, 5)]
    xs = [x for x, _y in branches]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert len({y for _x, y in branches}) == 1, "the four branches start on one line"
    assert boxes["inception3a.concat"][1] > max(
        boxes[f"inception3a.branch{index}.{last}"][1]
        for index, last in ((1, "relu1"), (2, "1.relu1"), (3, "1.relu1"), (4, "1.relu1"))
    )
    resnet = _boxes(_diagram("resnet18"))
    body, shortcut = resnet["layer2.0.conv1"], resnet["layer2.0.downsample"]
    assert body[0] < shortcut[0] and body[1] == shortcut[1]


def test_diagram_escapes_names() -> None:
    analysis = analyse_text(
        """
        name: "<b>&co"
        input: [3, 8, 8]
        layers:
          - conv: {filters: 4, kernel: 3, name: "a<b"}
        """
    )
    svg = diagram_svg(analysis)
    ET.fromstring(svg)
    assert "<b>" not in svg and "a&lt;b" in svg


# -------------------------------------------------------------------------- rich


def test_rich_terminal_report() -> None:
    from rich.console import Console

    from cnncalc.report.rich_report import print_report_rich

    console = Console(file=io.StringIO(), width=120, record=True, force_terminal=True)
    print_report_rich(report("resnet18"), console)
    text = console.export_text(clear=False)
    assert "layer1.0.conv1 (conv)" in text
    assert "W_out = (W_in − F + 2P)/S + 1" in text
    assert "Totals" in text and "Conventions" in text
    assert "\x1b[" in console.export_text(styles=True)


def test_the_terminal_format_keeps_its_colour_through_a_pipe() -> None:
    from typer.testing import CliRunner

    from cnncalc.cli import app

    spec = str(ROOT / "specs" / "lenet5.yaml")
    coloured = CliRunner().invoke(app, ["report", spec, "--format", "terminal"])
    assert coloured.exit_code == 0 and "\x1b[" in coloured.output
    assert "W_out = (W_in − F + 2P)/S + 1" in re.sub(r"\x1b\[[0-9;]*m", "", coloured.output)
    plain = CliRunner().invoke(app, ["report", spec])  # not a terminal: plain text
    assert plain.exit_code == 0 and "\x1b[" not in plain.output
    refused = CliRunner().invoke(app, ["report", spec, "-f", "terminal", "-o", "x.txt"])
    assert refused.exit_code == 2 and "--format terminal prints here" in refused.output


def test_rich_wrapped_lines_keep_a_hanging_indent(monkeypatch) -> None:
    """On a narrow terminal (COLUMNS=60) a long step wraps under itself, 4 columns in,
    instead of running back to the left margin."""
    from rich.console import Console

    from cnncalc.report.rich_report import print_report_rich

    monkeypatch.setenv("COLUMNS", "60")
    console = Console(file=io.StringIO(), record=True, force_terminal=True)
    assert console.width == 60
    print_report_rich(report("resnet18"), console)
    lines = console.export_text(clear=False).splitlines()
    start = lines.index("    layer2.0.add (add)")
    step = lines[start + 1 : start + 5]
    assert step[0].startswith("        shortcut = 1×1 conv (S = 2) + batchnorm")
    assert all(line.startswith("            ") and line.strip() for line in step[1:3])
    worked = lines[: lines.index("Totals".ljust(60))]
    conventions = lines[lines.index("Conventions") :]
    assert all(len(line) <= 60 and line == line.rstrip() for line in worked + conventions)
    assert conventions[2].startswith("  ") and conventions[1].startswith("• ")


# -------------------------------------------------------------------- the browser


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium is not installed (Debian: apt-get install chromium)")


def _png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """(width, height, a sample of distinct pixels) of a screenshot: with Pillow where it is
    installed, else by decoding the PNG with zlib (8-bit RGB or RGBA, as Chromium writes)."""
    try:
        from PIL import Image
    except ImportError:
        return _png_pixels_zlib(data)
    image = Image.open(io.BytesIO(data)).convert("RGB")
    sample = image.resize((image.width // 16, image.height // 16)).tobytes()
    return image.width, image.height, {sample[i : i + 3] for i in range(0, len(sample), 3)}


def _png_pixels_zlib(data: bytes) -> tuple[int, int, set[bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), "8-bit RGB or RGBA"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    pixels: set[bytes] = set()
    offset = 0
    for _row in range(height):
        kind, line = raw[offset], bytearray(raw[offset + 1 : offset + 1 + stride])
        offset += 1 + stride
        for index in range(stride):
            left = line[index - channels] if index >= channels else 0
            up = previous[index]
            up_left = previous[index - channels] if index >= channels else 0
            if kind == 1:
                line[index] = (line[index] + left) & 0xFF
            elif kind == 2:
                line[index] = (line[index] + up) & 0xFF
            elif kind == 3:
                line[index] = (line[index] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - up_left
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[index] = (line[index] + best) & 0xFF
        if _row % 16 == 0:
            pixels.update(bytes(line[i : i + 3]) for i in range(0, stride, channels * 16))
        previous = line
    return width, height, pixels


@pytest.mark.parametrize("stem", ["alexnet", "googlenet_torchvision", "resnet18"])
def test_html_opens_in_chromium_without_errors(stem: str, tmp_path: Path) -> None:
    chromium = _chromium()
    page = tmp_path / f"{stem}.html"
    page.write_text(report_html(report(stem)), encoding="utf-8")
    screenshot = tmp_path / f"{stem}.png"
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={screenshot}",
            "--window-size=1200,1600",
            "--hide-scrollbars",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    console = [
        line
        for line in result.stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "Refused to" in line
    ]
    assert not console, "\n".join(console)
    assert screenshot.exists(), result.stderr[-2000:]
    data = screenshot.read_bytes()
    assert len(data) > 20_000
    width, height, pixels = _png_pixels(data)
    assert (width, height) == (1200, 1600)
    assert len(pixels) > 20, "the screenshot is not blank"


def test_tex_prose_escapes_underscores() -> None:
    """A transposed conv's formula names output_padding: in \\text{} an underscore must be
    escaped, or pdflatex stops with "Missing $ inserted"."""
    math = tex_math("(W_in − 1)·S − 2P + d·(F − 1) + output_padding + 1")
    assert r"\text{output\_padding}" in math and "output_padding" not in math
