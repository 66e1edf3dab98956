"""Image datasets read from their published files, folders or a data YAML (no torchvision).

:func:`read_dataset` is the one entry point. ``source`` is one of

- a standard dataset, by name (:data:`STANDARD`): ``mnist``, ``fashion-mnist`` (IDX files,
  gzipped or not), ``cifar10``, ``cifar100`` (the python pickle batches, unpickled by an
  allow-list), read from the data directory ``root`` (default ``data/<name>``);
- an ImageFolder-style directory (:mod:`.folder`);
- a data YAML (:mod:`.data_yaml`).

It returns the splits the data has, keyed ``"train"``, ``"val"`` (only when the data has
one: the standard sets do not) and ``"test"``, each an :class:`~cnncalc.train.imageset.ImageSet`
of uint8 N×C×H×W images as stored. Nothing is downloaded unless ``download=True``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..imageset import DataError, ImageSet
from .catalogue import CATALOGUE, Archive, Catalogued
from .download import Log, download_dataset, extract, fetch, needs_download

STANDARD = tuple(CATALOGUE)
"""The standard datasets' names, as ``--data`` takes them."""

DEFAULT_ROOT = Path("data")
"""Where a standard dataset is looked for when no data directory is given: ``data/<name>``."""


def read_dataset(
    source: str,
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
    *,
    image_size: Sequence[int] | None = None,
    log: Log | None = None,
) -> dict[str, ImageSet]:
    """Read a dataset's splits (``"train"``, ``"val"`` when it has one, ``"test"``).

    ``root``: the data directory of a standard dataset (its files directly in it, or as its
    archive unpacks: ``root/cifar-10-batches-py/``); a relative folder or YAML ``source`` is
    looked for under it. ``download``: fetch a standard dataset's missing archives from
    their official URLs first, checking their published MD5s. ``image_size`` (H, W): resize
    folder images on load (they must otherwise share one size). ``log``: called with a line
    per download step. Raises :class:`DataError` with the files expected and the fix.
    """
    name = source.strip().lower()
    if name in CATALOGUE:
        entry = CATALOGUE[name]
        directory = Path(root).expanduser() if root is not None else DEFAULT_ROOT / name
        if download and needs_download(entry, directory):
            download_dataset(entry, directory, log)
        return read_standard(entry, directory)
    path = Path(source).expanduser()
    if root is not None and not path.is_absolute():
        path = Path(root).expanduser() / path
    if download:
        raise DataError(
            f"--download fetches only the standard datasets ({', '.join(STANDARD)}), "
            f"not '{source}': a folder or data YAML must already be on disk"
        )
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
        from .data_yaml import read_data_yaml

        return read_data_yaml(path, image_size, _standard_by_name)
    if path.is_dir():
        from .folder import read_image_folder

        return read_image_folder(path, image_size)
    raise DataError(
        f"no dataset '{source}': it is not a standard dataset ({', '.join(STANDARD)}) and "
        f"there is no folder or data YAML at {path}"
    )


def read_standard(entry: Catalogued, directory: Path) -> dict[str, ImageSet]:
    """A standard dataset's train and test splits from its files in ``directory``."""
    if entry.folder:
        from .cifar import read_cifar

        return read_cifar(entry, directory)
    from .idx import read_idx_dataset

    return read_idx_dataset(entry, directory)


def _standard_by_name(name: str, directory: Path) -> dict[str, ImageSet]:
    if name not in CATALOGUE:
        raise DataError(f"unknown data format '{name}': use one of folder, {', '.join(STANDARD)}")
    return read_standard(CATALOGUE[name], directory)


__all__ = [
    "CATALOGUE",
    "DEFAULT_ROOT",
    "STANDARD",
    "Archive",
    "Catalogued",
    "DataError",
    "ImageSet",
    "download_dataset",
    "extract",
    "fetch",
    "read_dataset",
    "read_standard",
]
