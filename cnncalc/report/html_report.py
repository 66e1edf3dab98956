"""The worked solution as one self-contained HTML page.

Inline CSS, an inline SVG diagram (:mod:`cnncalc.report.diagram`), no scripts, no fonts,
no images and no URLs: the file opens offline and prints as it shows. Sections: the
architecture diagram, the layer table (layer, kind, output, params, MACs, receptive field),
the worked solution (as in :mod:`cnncalc.report.text_report`), the totals and the
conventions.
Every box of the diagram links to its worked step.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .. import arith
from ..engine.biases import counted_rows
from ..layers.explain import Equation, volume
from .diagram import diagram_svg, shape_label
from .markdown_report import input_label, note_text, split_title
from .notation import html_math
from .views import field_text
from .worked import LayerWork, WorkedReport

ANCHOR = "w-"
MAX_LEVEL = 8

CSS = """
:root{--ink:#111827;--muted:#4b5563;--line:#e5e7eb;--accent:#2563eb;--warn:#b91c1c}
*{box-sizing:border-box}
body{margin:0;color:var(--ink);background:#fff;line-height:1.45;
font-family:"DejaVu Sans","Segoe UI",Helvetica,Arial,sans-serif;font-size:15px}
header,main{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:18px;border-bottom:1px solid var(--line)}
h1{font-size:1.7em;margin:0 0 4px}
h2{font-size:1.3em;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
header p{margin:2px 0;color:var(--muted)}
nav{margin:10px 0 12px}
nav a{margin-right:14px}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
.facts{display:flex;flex-wrap:wrap;gap:8px 22px;margin:10px 0 2px;color:var(--ink)}
.facts b{font-variant-numeric:tabular-nums}
.hint{color:var(--muted);margin:0 0 8px}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;margin:0 0 8px;font-size:.86em;color:var(--muted)}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;border:1px solid;
margin-right:5px;vertical-align:-1px}
.dg{overflow:auto;max-height:85vh;border:1px solid var(--line);border-radius:8px;
background:#fff;padding:4px}
.dg svg{display:block;margin:0 auto}
.tw{overflow-x:auto}
table{border-collapse:collapse;font-size:.9em}
th,td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f9fafb;position:sticky;top:0}
#layers td:nth-child(n+4),th.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
#layers td:nth-child(3){font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.92em;
white-space:nowrap}
tr.grp td{background:#f9fafb;font-weight:600}
tr.wrn td:first-child::after{content:" \\26A0";color:var(--warn)}
.w{margin:10px 0 0;padding-left:calc(var(--l,0)*1.6em)}
.w .t{margin:0;font-weight:400}
.w .t b{font-weight:700}
.w .t small{color:var(--muted);font-size:1em}
.w ul{margin:2px 0 0;padding-left:1.6em}
.w li{margin:1px 0}
.m{font-family:"DejaVu Serif","STIX Two Math","Cambria Math",Georgia,serif}
.m i{font-style:italic}
.m b{color:#065f46}
.w li small{color:var(--muted);font-size:.92em}
.r{margin:2px 0 0 1.6em;color:var(--muted)}
.wn{margin:3px 0 0 1.6em;color:var(--warn)}
.ok{color:#047857;font-weight:600;white-space:nowrap}
.no{color:var(--warn);font-weight:600;white-space:nowrap}
.grpw>.t{font-weight:400}
.grpw{border-top:1px dashed var(--line);padding-top:4px}
#totals td:first-child{white-space:nowrap;font-weight:600}
#totals td:nth-child(2){white-space:nowrap;font-variant-numeric:tabular-nums}
#conventions ul{padding-left:1.4em}
footer{max-width:1180px;margin:24px auto;padding:0 20px 24px;color:var(--muted);font-size:.85em}
@media print{.dg{max-height:none;overflow:visible}th{position:static}}
"""

LEGEND = (
    ("conv", "convolution"),
    ("linear", "linear"),
    ("pool", "pooling"),
    ("norm", "normalisation"),
    ("activation", "activation"),
    ("reshape", "reshape / dropout"),
    ("merge", "merge (⊕ add, ‖ concat, ⊗ multiply)"),
)

LEGEND_COLOURS = {
    "conv": ("#dbeafe", "#2563eb"),
    "linear": ("#ede9fe", "#7c3aed"),
    "pool": ("#dcfce7", "#16a34a"),
    "norm": ("#fef9c3", "#ca8a04"),
    "activation": ("#f3f4f6", "#6b7280"),
    "reshape": ("#ffffff", "#9ca3af"),
    "merge": ("#ffedd5", "#ea580c"),
}


def _number(value: Any) -> str:
    return escape(arith.as_text(value, thousands=True))


def _level_css() -> str:
    return "".join(
        f"td.l{level}{{padding-left:{0.6 + 1.2 * level:g}em}}" for level in range(MAX_LEVEL + 1)
    )


def equation_html(equation: Equation, answers_only: bool, symbols: tuple[str, ...] = ()) -> str:
    parts = [html_math(equation.name, symbols)]
    if not answers_only:
        if equation.formula:
            parts.append(html_math(equation.formula, symbols))
        if equation.working and equation.working != equation.result:
            parts.append(html_math(equation.working, symbols))
    parts.append(f"<b>{html_math(equation.result, symbols)}</b>")
    line = f'<span class="m">{" = ".join(parts)}</span>'
    if equation.note and not answers_only:
        line += f" <small>{escape(note_text(equation.note))}</small>"
    if equation.verdict:
        line += " " + verdict_html(equation.verdict)
    return line


def verdict_html(verdict: str) -> str:
    """A judged claim in green (right) or red (wrong); several are joined by '; '."""
    return "; ".join(
        f'<span class="{"ok" if part.startswith("✓") else "no"}">{escape(part)}</span>'
        for part in verdict.split("; ")
    )


def _given_html(given: tuple[tuple[str, str], ...], symbols: tuple[str, ...]) -> str:
    items = [
        f'input <span class="m">{html_math(value, symbols)}</span>'
        if name == "input"
        else f'<span class="m">{html_math(f"{name} = {value}", symbols)}</span>'
        for name, value in given
    ]
    return "; ".join(items)


def layer_html(work: LayerWork, answers_only: bool, symbols: tuple[str, ...] = ()) -> str:
    explanation = work.explanation
    group = work.row.is_group
    name, rest = split_title(work)
    head = f"<b>{escape(name)}</b><small>{escape(rest)}</small>"
    if explanation.given:
        head += " — " + _given_html(explanation.given, symbols)
    level = min(work.level, MAX_LEVEL)
    classes = "w grpw" if group else "w"
    style = f' style="--l:{level}"' if level else ""
    html = [
        f'<div class="{classes}" id="{escape(ANCHOR + work.row.path)}"{style}>'
        f'<p class="t">{head}</p>'
    ]
    if explanation.equations:
        items = "".join(
            f"<li>{equation_html(equation, answers_only, symbols)}</li>"
            for equation in explanation.equations
        )
        html.append(f"<ul>{items}</ul>")
    if explanation.remark:
        html.append(f'<p class="r">{escape(explanation.remark)}</p>')
    html += [f'<p class="wn">⚠ {escape(warning)}</p>' for warning in work.warnings]
    html.append("</div>")
    return "".join(html)


def _summary_table(report: WorkedReport) -> str:
    analysis = report.analysis
    rows = [
        "<table><thead><tr><th>layer</th><th>kind</th><th>output (C×H×W)</th>"
        f'<th class="num">{"weights" if report.no_bias else "params"}</th>'
        '<th class="num">MACs</th><th class="num">RF</th></tr></thead><tbody>'
    ]
    counted = counted_rows(analysis.rows, report.no_bias)
    for row in analysis.rows:
        classes = [name for name, on in (("grp", row.is_group), ("wrn", row.warnings)) if on]
        attr = f' class="{" ".join(classes)}"' if classes else ""
        params = counted.get(row.path, row.params)
        level = min(row.level, MAX_LEVEL)
        rows.append(
            f'<tr{attr}><td class="l{level}"><a href="#{escape(ANCHOR + row.path)}">'
            f"{escape(row.path)}</a></td><td>{escape(row.kind)}</td>"
            f"<td>{escape(shape_label(row.output_shape))}</td>"
            f"<td>{_number(params)}</td><td>{_number(row.macs)}</td>"
            f"<td>{escape(field_text(row))}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _legend() -> str:
    items = []
    for category, label in LEGEND:
        fill, stroke = LEGEND_COLOURS[category]
        items.append(
            f'<span><i style="background:{fill};border-color:{stroke}"></i>{escape(label)}</span>'
        )
    return f'<div class="legend">{"".join(items)}</div>'


def _facts(report: WorkedReport) -> str:
    wanted = ("parameters", "MACs", "depth", "output")
    facts = [fact for fact in report.totals if fact.label in wanted]
    items = "".join(
        f"<span>{escape(fact.label)} <b>{escape(fact.value)}</b></span>" for fact in facts
    )
    return f'<div class="facts">{items}</div>' if items else ""


def report_html(report: WorkedReport) -> str:
    """The whole worked solution, the layer table and the diagram as one HTML page."""
    analysis = report.analysis
    symbols = tuple(analysis.symbols)
    shape = tuple(analysis.input_shape)
    title = escape(analysis.name)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title} — worked solution</title>",
        f"<style>{CSS.strip()}{_level_css()}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{title}</h1>",
    ]
    if analysis.source:
        out.append(f"<p>Source: {escape(analysis.source)}</p>")
    out.append(
        f"<p>Input ({escape(input_label(shape))}): "
        f'<span class="m">{html_math(volume(shape), symbols)}</span>'
        + (" · answers only" if report.answers_only else "")
        + "</p>"
    )
    out.append(_facts(report))
    out.append(
        '<nav><a href="#diagram">Architecture</a><a href="#layers">Layers</a>'
        '<a href="#work">Worked solution</a><a href="#totals">Totals</a>'
        '<a href="#conventions">Conventions</a></nav>'
    )
    out += ["</header>", "<main>"]
    out += [
        '<section id="diagram">',
        "<h2>Architecture</h2>",
        '<p class="hint">Data flows down. Each box is a layer with its output shape '
        "(C×H×W); dashed frames are blocks and branches; branches side by side join in "
        "their merge node. Select a box for its working.</p>",
        _legend(),
        f'<div class="dg">{diagram_svg(analysis, link="#" + ANCHOR, standalone=False)}</div>',
        "</section>",
        '<section id="layers">',
        "<h2>Layers</h2>",
        f'<div class="tw">{_summary_table(report)}</div>',
        "</section>",
        '<section id="work">',
        "<h2>Worked solution</h2>",
    ]
    out += [layer_html(work, report.answers_only, symbols) for work in report.work]
    out += ["</section>", '<section id="totals">', "<h2>Totals</h2>"]
    out.append('<div class="tw"><table><tbody>')
    out += [
        f"<tr><td>{escape(fact.label)}</td><td>{escape(fact.value)}</td>"
        f"<td>{escape(fact.note)}"
        + (" " + verdict_html(fact.verdict) if fact.verdict else "")
        + "</td></tr>"
        for fact in report.totals
    ]
    out += ["</tbody></table></div>", "</section>"]
    out += ['<section id="conventions">', "<h2>Conventions</h2>", "<ul>"]
    out += [f"<li>{escape(item)}</li>" for item in report.conventions]
    out += ["</ul>", "</section>", "</main>", "<footer>Generated by cnncalc.</footer>"]
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
