"""Pictures and data files of the visualisations: PNG (matplotlib, Agg canvas), a
self-contained HTML gallery (PNGs embedded as base64), and JSON summary statistics."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from .inside import Activations, Filters
from .methods import Explanation
from .sanity import SanityReport

MAX_MAPS = 64
"""Feature maps drawn per image at most (the first ones, in channel order; the caption says)."""


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _image(pixels: Any) -> tuple[Any, str | None]:
    """C×H×W in [0, 1] → what imshow takes, and its colour map."""
    if pixels.shape[0] == 1:
        return pixels[0], "gray"
    return pixels.transpose(1, 2, 0).clip(0, 1), None


def image_title(explanation: Explanation, index: int) -> str:
    classes = explanation.classes
    predicted, target = explanation.predictions[index], explanation.targets[index]
    probability = float(explanation.probabilities[index][predicted])
    return (
        f"predicted {classes[predicted]} (p={probability:.3g}), target {classes[target]} "
        f"(p={float(explanation.probabilities[index][target]):.3g})"
    )


PAIRS_PER_ROW = 3
"""Images per row of an explanation picture, each as the image and the map over it."""


def explanation_png(explanation: Explanation) -> bytes:
    """Each image, then the map over it with a colour bar, :data:`PAIRS_PER_ROW` to a row."""
    count = len(explanation.names)
    per_row = min(count, PAIRS_PER_ROW)
    rows = math.ceil(count / per_row)
    width = max(7.5, 6.0 * per_row)
    top_text = heading(explanation, wrap=int(width * 13))
    header = 0.18 * (top_text.count("\n") + 1) + 0.3
    titles = 0.45  # the two-line titles above the top row
    figure = _figure(width, 3.3 * rows + header + titles)
    for index in range(count):
        image, colours = _image(explanation.pixels[index])
        left = figure.add_subplot(rows, 2 * per_row, 2 * index + 1)
        left.imshow(image, cmap=colours, vmin=0, vmax=1)
        left.set_title(explanation.names[index], fontsize=8)
        left.axis("off")
        right = figure.add_subplot(rows, 2 * per_row, 2 * index + 2)
        right.imshow(image, cmap=colours, vmin=0, vmax=1)
        shown = right.imshow(explanation.maps[index], cmap="jet", alpha=0.5)
        bar = figure.colorbar(shown, ax=right, fraction=0.046, pad=0.04, format="%.2g")
        bar.ax.tick_params(labelsize=7)
        right.set_title(
            image_title(explanation, index).replace(", target", ",\ntarget"), fontsize=8
        )
        right.axis("off")
    figure.suptitle(top_text, fontsize=9)
    figure.subplots_adjust(
        left=0.02,
        right=1 - 0.7 / width,  # room for the colour bar's labels
        bottom=0.03,
        top=1 - (header + titles) / figure.get_figheight(),
        hspace=0.4,
        wspace=0.35,
    )
    return png_bytes(figure)


def heading(explanation: Explanation, wrap: int = 0) -> str:
    """The method, what the map shows, its settings and notes: one line each (wrapped to
    ``wrap`` characters when given)."""
    lines = [f"{explanation.method}: {explanation.map_label}"]
    if explanation.method == "occlusion":
        settings = explanation.settings
        lines.append(
            f"patch {settings['patch']}×{settings['patch']}, stride {settings['stride']} "
            f"({settings['why']}); grey = {settings['baseline']}"
        )
    lines.extend(explanation.notes)
    if explanation.origin:
        lines.append(f"model: {explanation.origin}")
    return "\n".join(_wrap(line, wrap) if wrap else line for line in lines)


def _wrap(text: str, width: int = 95) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def mosaic(tiles: Any, columns: int, gap: int = 1) -> Any:
    """Tiles (n×h×w or n×h×w×3) laid out ``columns`` to a row with a ``gap``-pixel white
    border: one image, drawn with one imshow (hundreds of subplots are slow to draw)."""
    import numpy as np

    count, height, width = tiles.shape[:3]
    rows = math.ceil(count / columns)
    shape = (rows * (height + gap) + gap, columns * (width + gap) + gap, *tiles.shape[3:])
    canvas = np.full(shape, np.nan if tiles.ndim == 3 else 1.0, dtype=np.float64)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        top, left = gap + row * (height + gap), gap + column * (width + gap)
        canvas[top : top + height, left : left + width] = tile
    return canvas


def filters_png(result: Filters) -> bytes:
    canvas = mosaic(result.tiles, result.columns)
    return _mosaic_figure([canvas], [""], result.caption, None if canvas.ndim == 3 else "gray")


def activations_png(result: Activations) -> bytes:
    """One mosaic of feature maps per image; each map scaled on its own."""
    import numpy as np

    channels = result.maps.shape[1]
    shown = min(channels, MAX_MAPS)
    columns = math.ceil(math.sqrt(shown))
    canvases = [
        mosaic(np.stack([_unit(plane) for plane in maps[:shown]]), columns) for maps in result.maps
    ]
    more = f"; the first {shown} of {channels} maps" if shown < channels else ""
    caption = f"{result.caption}{more}; each map scaled on its own (colour: low to high)"
    return _mosaic_figure(canvases, list(result.names), caption, "viridis")


def _mosaic_figure(canvases: list[Any], titles: list[str], caption: str, colours: Any) -> bytes:
    """Canvases side by side (at most 4 to a row) under a wrapped caption."""
    per_row = min(len(canvases), 4)
    rows = math.ceil(len(canvases) / per_row)
    height, width = canvases[0].shape[:2]
    panel = 3.0 if len(canvases) > 1 else max(3.0, min(8.0, width / 12))
    caption_lines = _wrap(caption, int(panel * per_row * 14)).count("\n") + 1
    header = 0.2 * caption_lines + 0.3
    figure = _figure(panel * per_row, panel * rows * height / width + header + 0.3 * rows)
    for index, (canvas, title) in enumerate(zip(canvases, titles, strict=True)):
        axes = figure.add_subplot(rows, per_row, index + 1)
        axes.imshow(canvas, cmap=colours, vmin=0, vmax=1, interpolation="nearest")
        axes.set_title(title, fontsize=7)
        axes.axis("off")
    figure.suptitle(_wrap(caption, int(panel * per_row * 14)), fontsize=8)
    figure.subplots_adjust(
        left=0.02, right=0.98, bottom=0.02, top=1 - header / figure.get_figheight()
    )
    return png_bytes(figure)


def _unit(plane: Any) -> Any:
    low, high = float(plane.min()), float(plane.max())
    return (plane - low) / (high - low) if high > low else plane * 0.0


def sanity_png(report: SanityReport) -> bytes:
    """The first image's map after each step, and the similarity curve."""
    steps = report.steps
    figure = _figure(max(6.0, 1.4 * (len(steps) + 1) + 0.5), 5.0)
    grid = figure.add_gridspec(2, len(steps) + 1, height_ratios=[1, 1.2])
    first = figure.add_subplot(grid[0, 0])
    first.imshow(abs(report.original.maps[0]), cmap="jet")
    first.set_title("original", fontsize=7)
    first.axis("off")
    for index, step in enumerate(steps):
        axes = figure.add_subplot(grid[0, index + 1])
        axes.imshow(abs(step.maps[0]), cmap="jet")
        axes.set_title(f"…{step.layer}", fontsize=6)
        axes.axis("off")
    curve = figure.add_subplot(grid[1, :])
    labels = [step.layer for step in steps]
    curve.plot(labels, [step.spearman for step in steps], marker="o", label="Spearman |map|")
    curve.plot(labels, [step.ssim for step in steps], marker="s", label="global SSIM")
    curve.set_ylim(-1.05, 1.05)
    curve.axhline(0, color="grey", linewidth=0.5)
    curve.set_xlabel("randomised down to (cascading, from the output)", fontsize=7)
    curve.tick_params(axis="x", labelrotation=60, labelsize=6)
    curve.legend(fontsize=7)
    figure.suptitle(f"sanity check of {report.method} (Adebayo et al. 2018)", fontsize=9)
    figure.subplots_adjust(bottom=0.28, top=0.85, hspace=0.5)
    return png_bytes(figure)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def gallery_html(title: str, origin: str, sections: Sequence[tuple[str, str, bytes | None]]) -> str:
    """A single HTML file: one figure per (heading, caption, PNG or None), PNGs inlined."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "figure{margin:1.5em 0;border-top:1px solid #ccc;padding-top:1em}"
        "img{max-width:100%}figcaption{font-size:0.9em;color:#444}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(origin)}</p>",
    ]
    for name, caption, png in sections:
        parts.append(f"<figure><h2>{html.escape(name)}</h2>")
        if png is not None:
            parts.append(f'<img alt="{html.escape(name)}" src="{data_uri(png)}">')
        lines = "<br>".join(html.escape(line) for line in caption.splitlines())
        parts.append(f"<figcaption>{lines}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def statistics(values: Any) -> dict[str, Any]:
    import numpy as np

    array = np.asarray(values, dtype=np.float64)
    return {
        "min": float(array.min()),
        "max": float(array.max()),
        "mean": float(array.mean()),
        "std": float(array.std()),
        "abs_sum": float(np.abs(array).sum()),
    }


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    import numpy as np

    images: list[dict[str, Any]] = []
    for index, name in enumerate(explanation.names):
        heat = explanation.maps[index]
        peak = [int(axis) for axis in np.unravel_index(int(np.argmax(heat)), heat.shape)]
        images.append(
            {
                "image": name,
                "predicted": explanation.classes[explanation.predictions[index]],
                "target": explanation.classes[explanation.targets[index]],
                "probabilities": [round(float(p), 6) for p in explanation.probabilities[index]],
                "map": statistics(heat) | {"argmax": peak, "shape": list(heat.shape)},
                "attributions": statistics(explanation.attributions[index])
                | {"shape": list(explanation.attributions[index].shape)},
            }
        )
    return {
        "schema": "cnncalc/visualise@1",
        "method": explanation.method,
        "map": explanation.map_label,
        "layer": explanation.layer,
        "model": explanation.origin,
        "settings": dict(explanation.settings),
        "notes": list(explanation.notes),
        "images": images,
    }


def filters_json(result: Filters) -> dict[str, Any]:
    return {
        "schema": "cnncalc/visualise@1",
        "method": "filters",
        "layer": result.layer,
        "mode": result.mode,
        "caption": result.caption,
        "weights": {**statistics(result.weights), "shape": list(result.weights.shape)},
        "per_filter_norm": [float((kernel**2).sum() ** 0.5) for kernel in result.weights],
    }


def activations_json(result: Activations) -> dict[str, Any]:
    return {
        "schema": "cnncalc/visualise@1",
        "method": "activations",
        "layer": result.layer,
        "caption": result.caption,
        "images": [
            {
                "image": name,
                "maps": {**statistics(maps), "shape": list(maps.shape)},
                "mean_per_map": [float(channel.mean()) for channel in maps],
            }
            for name, maps in zip(result.names, result.maps, strict=True)
        ],
    }


def sanity_json(report: SanityReport) -> dict[str, Any]:
    return {
        "schema": "cnncalc/visualise-sanity@1",
        "method": report.method,
        "measures": report.measures,
        "original": explanation_json(report.original),
        "steps": [
            {
                "randomised_down_to": step.layer,
                "spearman": _number(step.spearman),
                "ssim": _number(step.ssim),
            }
            for step in report.steps
        ],
    }


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def sanity_text(report: SanityReport) -> str:
    lines = [
        f"sanity check of {report.method}: weights randomised from the output down, cascading "
        "(Adebayo et al. 2018)",
        f"{report.measures}; 1 = unchanged, 0 = unrelated",
        f"{'randomised down to':<28} {'spearman':>9} {'ssim':>7}",
    ]
    for step in report.steps:
        lines.append(f"{step.layer:<28} {_shown(step.spearman):>9} {_shown(step.ssim):>7}")
    return "\n".join(lines)


def _shown(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
