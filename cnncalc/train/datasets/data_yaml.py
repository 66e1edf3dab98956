"""A data YAML: where a dataset's files are and what its classes are called. Data only.

Read with ``yaml.safe_load`` (plain mappings, lists, strings and numbers; no tags, no
objects, nothing executed)::

    # flowers.yaml
    path: flowers            # the data folder, relative to this file (default: its folder)
    train: train             # ImageFolder split folders under path
    val: val                 # optional
    test: test               # optional
    names: [daisy, rose, tulip]   # optional: label order (default: sorted folder names)

or, for a standard dataset kept somewhere: ``format: mnist`` (``fashion-mnist``,
``cifar10``, ``cifar100``) with ``path:`` its data directory, and optionally ``names`` to
rename its classes (same count, in label order).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..imageset import DataError, ImageSet

KEYS = ("path", "format", "train", "val", "test", "names", "description")
MAX_BYTES = 1_000_000

Reader = Callable[[str, Path], dict[str, ImageSet]]


def read_data_yaml(
    file: Path, image_size: Sequence[int] | None, read_standard: Reader
) -> dict[str, ImageSet]:
    """The splits a data YAML describes (``read_standard(name, directory)`` reads a
    ``format:`` dataset)."""
    from .folder import read_folder_splits

    data = _load(file)
    root = _root(file, data)
    names = _names(file, data.get("names"))
    form = data.get("format", "folder")
    if form != "folder":
        splits = read_standard(str(form), root)
        return splits if names is None else _renamed(file, splits, names)
    given = {split: data[split] for split in ("train", "val", "test") if split in data}
    if not given:
        raise DataError(f"{file}: no 'train', 'val' or 'test' folder is given; add 'train: DIR'")
    folders: dict[str, Path] = {
        split: root / _text(file, split, value) for split, value in given.items()
    }
    return read_folder_splits(folders, image_size, names)


def _load(file: Path) -> dict[str, Any]:
    import yaml

    if file.stat().st_size > MAX_BYTES:
        raise DataError(f"{file} is larger than {MAX_BYTES:,} bytes: not a data YAML")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise DataError(f"{file} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise DataError(f"{file} must be a mapping with keys {', '.join(KEYS)}")
    for key in data:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise DataError(
                f"{file}: unknown key '{key}' (a data YAML has {', '.join(KEYS)}){hint}"
            )
    return data


def _text(file: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise DataError(f"{file}: '{key}' must be a folder name or path, got {value!r}")
    return value


def _root(file: Path, data: dict[str, Any]) -> Path:
    path = Path(_text(file, "path", data["path"])) if "path" in data else Path(".")
    return path if path.is_absolute() else (file.parent / path)


def _names(file: Path, value: Any) -> tuple[str, ...] | None:
    """``names`` as a list, or a mapping {0: name, 1: name, …} (as Ultralytics writes it)."""
    if value is None:
        return None
    if isinstance(value, dict):
        if sorted(value) != list(range(len(value))):
            raise DataError(f"{file}: 'names' as a mapping must have the keys 0..{len(value) - 1}")
        value = [value[index] for index in range(len(value))]
    if not isinstance(value, list) or not all(isinstance(name, (str, int)) for name in value):
        raise DataError(f"{file}: 'names' must be a list of class names, in label order")
    return tuple(str(name) for name in value)


def _renamed(
    file: Path, splits: dict[str, ImageSet], names: tuple[str, ...]
) -> dict[str, ImageSet]:
    count = len(next(iter(splits.values())).classes)
    if len(names) != count:
        raise DataError(f"{file}: 'names' lists {len(names)} classes, the data has {count}")
    return {
        split: ImageSet(images=part.images, labels=part.labels, classes=names)
        for split, part in splits.items()
    }
