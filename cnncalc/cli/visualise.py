"""``cnncalc visualise``: what a spec's network (trained or fresh) looks at, as pictures.

The command parses options and calls :mod:`cnncalc.visualise` (which imports torch); the
pictures and files come from :mod:`cnncalc.visualise.render`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import typer

from .common import InputOption, choice_type, exit_with, value_of

METHODS = (
    *("filters", "activations", "saliency", "guided-backprop", "grad-cam", "guided-grad-cam"),
    *("occlusion", "deconvnet", "gallery"),
)
"""cnncalc.visualise.METHODS, written out: importing the library to list them would slow every
command's start (tests/test_visualise_cli.py checks the two agree)."""

if TYPE_CHECKING:
    Method: TypeAlias = str
    OutputFormat: TypeAlias = str
    FilterMode: TypeAlias = str
else:
    Method = choice_type("Method", METHODS)
    OutputFormat = choice_type("OutputFormat", ("png", "html", "json", "text"))
    FilterMode = choice_type("FilterMode", ("auto", "average", "channels"))

SUFFIX_FORMATS = {".png": "png", ".html": "html", ".htm": "html", ".json": "json"}


def visualise(
    method: Annotated[
        Method,
        typer.Argument(
            help="filters LAYER, activations LAYER, saliency, guided-backprop, grad-cam, "
            "guided-grad-cam, occlusion, deconvnet, or gallery (all of them, as HTML).",
            show_default=False,
        ),
    ],
    source: Annotated[
        Path,
        typer.Argument(
            help="A spec (.yaml: fresh weights, seeded), a cnncalc train checkpoint (.pt) or "
            "a run folder (runs/NAME: its best.pt).",
            show_default=False,
        ),
    ],
    images: Annotated[
        list[Path] | None,
        typer.Argument(help="PNG/JPEG images; without them, --samples digits.", show_default=False),
    ] = None,
    layer: Annotated[
        str | None,
        typer.Option(
            "--layer",
            "-l",
            help="A layer by its path as cnncalc summary names it (layer1.0.conv1). filters, "
            "activations: required; grad-cam: default the last spatial layer; occlusion: the "
            "patch is this layer's receptive field; deconvnet: project its strongest activation.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            "-t",
            help="The class to explain (name or index). Default: the image's label where known, "
            "else the predicted class.",
            show_default=False,
        ),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            "-n",
            "--per-class",
            min=1,
            help="Without images: this many scikit-learn digits, one class after another "
            "(default 3); gallery: per class (default 1), from the run's own validation split "
            "when SOURCE is a run folder or a checkpoint of cnncalc train.",
            show_default=False,
        ),
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="The spec a checkpoint must have been trained from."),
    ] = None,
    patch: Annotated[
        int | None, typer.Option("--patch", help="occlusion: patch side in pixels.")
    ] = None,
    stride: Annotated[
        int | None, typer.Option("--stride", help="occlusion: patch step in pixels.")
    ] = None,
    mode: Annotated[
        FilterMode,
        typer.Option(
            "--mode",
            help="filters: auto (colour for 3 input channels, else averaged), average, channels.",
        ),
    ] = FilterMode("auto"),
    sanity: Annotated[
        bool,
        typer.Option(
            "--sanity",
            help="Repeat the method as the weights are randomised layer by layer from the "
            "output down (Adebayo et al. 2018) and report how much the map changes.",
        ),
    ] = False,
    format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="png (default), html, json (summary statistics of the arrays) or text "
            "(a summary on stdout). Default: what -o's suffix says.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write, or a directory (METHOD.png inside). Default: METHOD.png here; "
            "json and text go to stdout.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of a spec's fresh weights.")] = 0,
    input: InputOption = None,
) -> None:
    """Look inside the network: filters, activation maps, attributions, an HTML gallery.

    Methods: filters, activations, occlusion, saliency, guided backprop, Grad-CAM, guided
    Grad-CAM, the deconvnet, or all of them in an HTML gallery.

    Example: cnncalc visualise grad-cam specs/lenet5.yaml --samples 4 -o gradcam.png

    Example: cnncalc visualise gallery runs/lenet5 --per-class 2 -o lenet5.html
    """
    from .run import guarded, torch_missing

    missing = torch_missing()
    if missing:
        sys.stderr.write(missing.replace("cnncalc[torch]", "cnncalc[visualise]") + "\n")
        raise typer.Exit(2)
    options = Options(
        method=value_of(method),
        source=source,
        images=list(images or []),
        layer=layer,
        target=target,
        samples=samples,
        spec=spec,
        patch=patch,
        stride=stride,
        mode=value_of(mode),
        sanity=sanity,
        format=value_of(format) if format else None,
        output=output,
        seed=seed,
        input=input,
    )
    exit_with(guarded(lambda: run_visualise(options)))


@dataclass(frozen=True)
class Options:
    """The command's options, as the runner reads them."""

    method: str
    source: Path
    images: list[Path]
    layer: str | None
    target: str | None
    samples: int | None
    spec: Path | None
    patch: int | None
    stride: int | None
    mode: str
    sanity: bool
    format: str | None
    output: str | None
    seed: int
    input: str | None


def run_visualise(options: Options) -> int:
    from ..visualise import render
    from ..visualise.source import load_source

    fmt = output_format(options)
    source = load_source(options.source, options.spec, options.seed, _input_shape(options))
    if options.method == "filters":
        return _filters(source, options, fmt)
    if options.method == "gallery" and not options.images and source.run_config is not None:
        from ..visualise import run_gallery

        page = run_gallery(source, options.samples or 1, _progress_bar())
        _write(page.encode("utf-8"), options, "html")
        return 0
    batch = _batch(source, options)
    if options.method == "activations":
        return _activations(source, batch, options, fmt)
    if options.method == "gallery":
        from ..visualise import gallery

        _write(gallery(source, batch, _progress_bar()).encode("utf-8"), options, "html")
        return 0
    if options.sanity:
        return _sanity(source, batch, options, fmt)
    result = _attribution(source, batch, options)
    _emit(result, render.explanation_png, render.explanation_json, _explanation_text, options, fmt)
    return 0


def _input_shape(options: Options) -> list[int] | None:
    from ..visualise.source import VisualiseError
    from .run import parse_input

    if options.input is None:
        return None
    dims = parse_input(options.input)
    if len(dims) != 3 or not all(isinstance(dim, int) for dim in dims):
        raise VisualiseError(f"--input {options.input}: give numbers C×H×W, e.g. 3x64x64")
    return [int(dim) for dim in dims]


def output_format(options: Options) -> str:
    from ..visualise.source import VisualiseError

    wanted = "html" if options.method == "gallery" else None
    suffix = Path(options.output).suffix.lower() if options.output else ""
    from_suffix = SUFFIX_FORMATS.get(suffix)
    fmt = options.format or wanted or from_suffix or "png"
    if wanted and fmt != "html":
        raise VisualiseError("gallery writes one HTML page: use -o FILE.html")
    if fmt == "html" and not wanted:
        raise VisualiseError(
            f"--format html is the gallery of every method: cnncalc visualise gallery "
            f"{options.source}; {options.method} writes png, json or text"
        )
    if options.output and fmt != "text" and not _is_dir(options.output):
        expected = {"png": (".png",), "json": (".json",), "html": (".html", ".htm")}[fmt]
        if suffix not in expected:
            raise VisualiseError(
                f"-o {options.output}: {fmt} is written to a {expected[0]} file or into a "
                f"directory; name the file {Path(options.output).stem}{expected[0]}"
            )
    return fmt


def _is_dir(path: str | None) -> bool:
    return bool(path) and os.path.isdir(str(path))


def _batch(source: Any, options: Options) -> Any:
    from ..visualise.images import digit_samples, load_images
    from ..visualise.source import VisualiseError

    if options.images:
        if options.samples is not None:
            raise VisualiseError("give images or --samples, not both")
        return load_images(source, options.images)
    if options.method == "gallery":
        return digit_samples(source, (options.samples or 1) * len(source.classes[:10]))
    return digit_samples(source, options.samples or 3)


def _filters(source: Any, options: Options, fmt: str) -> int:
    from ..visualise import filters, render

    result = filters(source, _required_layer(source, options), options.mode)
    _emit(result, render.filters_png, render.filters_json, lambda r: r.caption, options, fmt)
    return 0


def _activations(source: Any, batch: Any, options: Options, fmt: str) -> int:
    from ..visualise import activations, render

    result = activations(source, batch, _required_layer(source, options))
    _emit(
        result, render.activations_png, render.activations_json, lambda r: r.caption, options, fmt
    )
    return 0


def _required_layer(source: Any, options: Options) -> str:
    from ..visualise.source import VisualiseError

    if options.layer is None:
        convs = [row.path for row in source.analysis.layers if row.kind == "conv"]
        example = convs[0] if convs else source.analysis.layers[0].path
        raise VisualiseError(
            f"{options.method} needs --layer (a path as cnncalc summary prints it, "
            f"e.g. --layer {example})"
        )
    return str(options.layer)


def _attribution(source: Any, batch: Any, options: Options, method: str | None = None) -> Any:
    from ..visualise import ATTRIBUTION_METHODS

    name = method or options.method
    function = ATTRIBUTION_METHODS[name]
    return function(source, batch, **_method_options(name, options))


def _method_options(name: str, options: Options) -> dict[str, Any]:
    from ..visualise.source import VisualiseError

    chosen: dict[str, Any] = {"target": options.target}
    if name in ("grad-cam", "guided-grad-cam", "occlusion", "deconvnet"):
        chosen["layer"] = options.layer
    elif options.layer is not None:
        raise VisualiseError(f"{name} explains the input pixels: it takes no --layer")
    if name == "occlusion":
        chosen.update(patch=options.patch, stride=options.stride, progress=_progress_bar())
    elif options.patch is not None or options.stride is not None:
        raise VisualiseError("--patch and --stride are occlusion's options")
    return chosen


def _sanity(source: Any, batch: Any, options: Options, fmt: str) -> int:
    from ..visualise import ATTRIBUTION_METHODS, render, sanity_check

    if options.method not in ATTRIBUTION_METHODS:
        from ..visualise.source import VisualiseError

        raise VisualiseError(
            f"--sanity repeats a method that explains a class: not {options.method}"
        )
    function = ATTRIBUTION_METHODS[options.method]
    report = sanity_check(
        function, source, batch, options.seed, **_method_options(options.method, options)
    )
    if fmt != "json":
        sys.stdout.write(render.sanity_text(report) + "\n")
    _emit(report, render.sanity_png, render.sanity_json, None, options, fmt)
    return 0


def _emit(result: Any, png: Any, data: Any, text: Any, options: Options, fmt: str) -> None:
    from ..visualise import render

    if fmt == "json":
        content = render.to_json(data(result)) + "\n"
        if options.output:
            _write(content.encode("utf-8"), options, "json")
        else:
            sys.stdout.write(content)
    elif fmt == "text":
        if text is not None:
            sys.stdout.write(text(result) + "\n")
    else:
        _write(png(result), options, "png")
        if text is not None:
            sys.stdout.write(text(result) + "\n")


def _explanation_text(result: Any) -> str:
    from ..visualise.render import heading, image_title

    lines = [heading(result)]
    for index, name in enumerate(result.names):
        lines.append(f"{name}: {image_title(result, index)}")
    return "\n".join(lines)


def _write(content: bytes, options: Options, suffix: str) -> None:
    from ..visualise.source import VisualiseError

    path = Path(options.output or f"{options.method}.{suffix}")
    if path.is_dir():
        path = path / f"{options.method}.{suffix}"
    try:
        path.write_bytes(content)
    except OSError as error:
        raise VisualiseError(f"cannot write {path}: {error.strerror or error}") from None
    sys.stderr.write(f"wrote {path}\n")


def _progress_bar() -> Any:
    """A progress callback drawing a bar on stderr when it is a terminal; None otherwise.
    The bar starts with the first report and goes when the work is done."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(transient=True, console=Console(stderr=True))
    task = bar.add_task("occluding", total=None)

    def advance(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)
        if done >= total:
            bar.stop()

    return advance


def register(app: typer.Typer) -> None:
    app.command()(visualise)
