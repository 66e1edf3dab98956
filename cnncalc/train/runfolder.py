"""The run folder ``runs/NAME/``: config, per-epoch logs, curves, confusion matrices, report.

Only rank 0 writes here. Every file is small and rewritten whole after each epoch (the
checkpoints atomically, see :mod:`.checkpoint`), so a run stopped at any moment leaves a
readable folder.
"""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .metrics import Metrics, metrics_dict, metrics_text

LOG_COLUMNS = (
    "epoch",
    "step",
    "lr",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "val_top5",
    "images_per_second",
    "seconds",
)


def new_run_dir(runs_dir: str, name: str) -> Path:
    """``runs_dir/name``, or ``name-2``, ``name-3``… when it exists (never overwritten)."""
    base = Path(runs_dir)
    base.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        candidate = base / (name if number == 1 else f"{name}-{number}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            number += 1


def write_text(path: Path, text: str) -> None:
    """Write whole, through a temporary file, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_logs(run_dir: Path, history: Sequence[Mapping[str, Any]]) -> None:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({key: _cell(row.get(key)) for key in LOG_COLUMNS})
    write_text(run_dir / "log.csv", buffer.getvalue())
    write_text(run_dir / "log.json", json.dumps(list(history), indent=1) + "\n")


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def write_curves(run_dir: Path, history: Sequence[Mapping[str, Any]]) -> Path:
    """Loss and accuracy per epoch, training against validation."""
    pyplot = _pyplot()
    epochs = [row["epoch"] for row in history]
    figure, (loss_axes, accuracy_axes) = pyplot.subplots(1, 2, figsize=(9, 3.5))
    for axes, key, title in (
        (loss_axes, "loss", "loss (cross-entropy)"),
        (accuracy_axes, "acc", "accuracy (top-1)"),
    ):
        axes.plot(epochs, [row[f"train_{key}"] for row in history], "o-", label="training")
        axes.plot(epochs, [row[f"val_{key}"] for row in history], "s-", label="validation")
        axes.set_xlabel("epoch")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    path = run_dir / "curves.png"
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def write_confusion(run_dir: Path, metrics: Metrics, stem: str = "confusion") -> list[Path]:
    """The confusion matrix as counts and row-normalised (each true class sums to 1)."""
    pyplot = _pyplot()
    count = len(metrics.classes)
    paths = []
    for suffix, normalise in (("", False), ("_normalised", True)):
        matrix = [list(map(float, row)) for row in metrics.confusion]
        if normalise:
            matrix = [[value / (sum(row) or 1) for value in row] for row in matrix]
        size = min(12.0, 2.5 + 0.45 * count)
        figure, axes = pyplot.subplots(figsize=(size, size * 0.9))
        image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1 if normalise else None)
        figure.colorbar(image, ax=axes, fraction=0.046)
        if count <= 30:
            axes.set_xticks(range(count), metrics.classes, rotation=90 if count > 10 else 0)
            axes.set_yticks(range(count), metrics.classes)
            top = max(max(row) for row in matrix) or 1
            for row_index, row in enumerate(matrix):
                for column, value in enumerate(row):
                    text = f"{value:.2f}" if normalise else f"{int(value)}"
                    colour = "white" if value > top / 2 else "black"
                    axes.text(
                        column,
                        row_index,
                        text,
                        ha="center",
                        va="center",
                        fontsize=7 if count > 10 else 9,
                        color=colour,
                    )
        axes.set_xlabel("predicted class")
        axes.set_ylabel("true class")
        axes.set_title(
            "confusion matrix"
            + (" (row-normalised: recall on the diagonal)" if normalise else " (counts)")
        )
        figure.tight_layout()
        path = run_dir / f"{stem}{suffix}.png"
        figure.savefig(path, dpi=110)
        pyplot.close(figure)
        paths.append(path)
    return paths


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, no window
    import matplotlib.pyplot as pyplot

    return pyplot


def write_metrics(run_dir: Path, metrics: Metrics, stem: str = "metrics") -> None:
    write_text(run_dir / f"{stem}.json", json.dumps(metrics_dict(metrics), indent=1) + "\n")
    write_text(run_dir / f"{stem}.txt", metrics_text(metrics) + "\n")


def report_rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(quantity, the engine's analysis, what training measured) for the run report."""
    return [
        (
            "parameters",
            f"{summary['params']:,} (trainable {summary['trainable']:,})",
            f"{summary['measured_params']:,} in the built model",
        ),
        ("MACs per image (forward)", f"{summary['macs']:,}", "—"),
        (
            "training MACs per image",
            f"≈ {3 * summary['macs']:,} (forward + 2× backward)",
            f"{summary['achieved_gmacs']:.2f} GMAC/s achieved",
        ),
        ("training memory estimate", summary["memory_estimate"], summary["memory_measured"]),
        ("throughput", "—", f"{summary['images_per_second']:,.0f} images/s (training)"),
        (
            "best validation accuracy",
            "—",
            f"{summary['best_accuracy']:.4f} at epoch {summary['best_epoch']}",
        ),
        ("time", "—", f"{summary['seconds']:.1f} s for {summary['epochs']} epoch(s)"),
    ]


def write_report(
    run_dir: Path, summary: Mapping[str, Any], metrics: Metrics | None, pictures: bool = True
) -> None:
    """``report.md`` and ``report.html``: the engine's numbers beside the measured ones (and
    the curves and confusion matrices when they were drawn)."""
    rows = report_rows(summary)
    lines = [
        f"# Training run: {summary['spec_name']}",
        "",
        f"Spec `{summary['spec_path']}` on `{summary['data']}` "
        f"({summary['train_images']:,} training, {summary['val_images']:,} validation images, "
        f"input {summary['input']}), {summary['device']}, stopped: {summary['stopped']}.",
        "",
        "| quantity | engine (cnncalc analysis) | measured in training |",
        "|---|---|---|",
        *(f"| {name} | {engine} | {measured} |" for name, engine, measured in rows),
        "",
        f"**Reproducibility:** {summary['guarantee']}.",
        "",
        *(["![curves](curves.png)", ""] if pictures else []),
    ]
    if metrics is not None:
        lines += [
            "## Validation metrics (best epoch)",
            "",
            "```",
            metrics_text(metrics),
            "```",
            "",
        ]
        if pictures:
            lines += [
                "![confusion](confusion.png) "
                "![confusion, row-normalised](confusion_normalised.png)",
                "",
            ]
    write_text(run_dir / "report.md", "\n".join(lines))
    write_text(run_dir / "report.html", _html(summary, rows, metrics, pictures))


def _html(
    summary: Mapping[str, Any],
    rows: Sequence[tuple[str, str, str]],
    metrics: Metrics | None,
    pictures: bool,
) -> str:
    escape = html.escape
    table = "".join(
        f"<tr><td>{escape(a)}</td><td>{escape(b)}</td><td>{escape(c)}</td></tr>" for a, b, c in rows
    )
    confusion = (
        '<img src="confusion.png" alt="confusion matrix">'
        '<img src="confusion_normalised.png" alt="row-normalised confusion matrix">'
    )
    block = (
        f"<h2>Validation metrics (best epoch)</h2><pre>{escape(metrics_text(metrics))}</pre>"
        + (confusion if pictures else "")
        if metrics is not None
        else ""
    )
    curves = '<img src="curves.png" alt="training curves">' if pictures else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(summary['spec_name'])} training run</title>"
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
        "img{max-width:100%}</style></head><body>"
        f"<h1>Training run: {escape(summary['spec_name'])}</h1>"
        f"<p>Spec <code>{escape(summary['spec_path'])}</code> on <code>{escape(summary['data'])}"
        f"</code>, {escape(summary['device'])}, stopped: {escape(summary['stopped'])}.</p>"
        "<table><tr><th>quantity</th><th>engine (cnncalc analysis)</th>"
        f"<th>measured in training</th></tr>{table}</table>"
        f"<p><b>Reproducibility:</b> {escape(summary['guarantee'])}.</p>"
        f"{curves}{block}</body></html>\n"
    )
