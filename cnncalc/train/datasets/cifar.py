"""CIFAR-10 and CIFAR-100: the "python version" pickle batches, unpickled safely.

Each batch is a pickled dict (written by Python 2's cPickle, protocol 2): ``data`` a
uint8 array N×3072 (1024 red, 1024 green, then 1024 blue values, each 32×32 in row-major
order), ``labels`` (CIFAR-10) or ``fine_labels``/``coarse_labels`` (CIFAR-100) lists of
ints, ``filenames`` and ``batch_label``. ``batches.meta``/``meta`` hold ``label_names`` /
``fine_label_names`` (https://www.cs.toronto.edu/~kriz/cifar.html).

A pickle can name any Python callable, so ``pickle.load`` on a file from elsewhere runs
whatever it says. :class:`SafeUnpickler` resolves only the few numpy names an array's
pickle uses (and a latin-1 ``encode`` of protocol-2 byte strings); any other global is
refused before anything is called.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path
from typing import Any

from ..imageset import DataError, ImageSet
from .catalogue import CIFAR10, CIFAR100, Catalogued
from .messages import corrupt_file, missing_files

MAX_BATCH_BYTES = 400_000_000
"""A batch larger than this is not CIFAR (CIFAR-100's train file is 155 MB)."""


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for ``bytes``; only latin-1 is allowed."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"encoding '{encoding}' is not allowed")
    return codecs.encode(text, "latin1")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    import numpy as np

    reconstruct = np.zeros(1).__reduce__()[0]  # numpy's multiarray._reconstruct
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]  # numeric._frombuffer (protocol 5)
    scalar = np.float64(0).__reduce__()[0]  # multiarray.scalar
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray}
    allowed[("numpy", "dtype")] = np.dtype
    allowed[("_codecs", "encode")] = _latin1_encode
    for package in ("numpy.core", "numpy._core"):  # pickles from numpy 1 and numpy 2
        allowed[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = frombuffer
    return allowed


class SafeUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays; refuses every other global."""

    def __init__(self, file: Any) -> None:
        super().__init__(file, encoding="latin1")  # Python 2 str → str, as numpy expects
        self.allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"it asks for the Python object '{module}.{name}', which cnncalc refuses to "
                "load (a CIFAR batch holds only arrays, lists and strings)"
            ) from None


def safe_unpickle(path: Path) -> Any:
    """Unpickle ``path`` with :class:`SafeUnpickler`; ValueError with the reason if it fails."""
    size = path.stat().st_size
    if size > MAX_BATCH_BYTES:
        raise ValueError(f"{size:,} bytes, larger than any CIFAR batch")
    try:
        return SafeUnpickler(io.BytesIO(path.read_bytes())).load()
    except pickle.UnpicklingError as error:
        raise ValueError(str(error)) from None
    except Exception as error:  # truncated or garbled: EOFError, IndexError, struct errors...
        raise ValueError(f"not a readable pickle ({type(error).__name__}: {error})") from None


def read_cifar(entry: Catalogued, directory: Path) -> dict[str, ImageSet]:
    """CIFAR-10 or CIFAR-100 train and test splits (uint8 N×3×32×32) from ``directory``."""
    folder = cifar_folder(entry, directory)
    missing = [name for name in entry.files if not (folder / name).is_file()]
    if missing:
        raise missing_files(entry, directory, missing)
    if entry.name == CIFAR10.name:
        names_key, labels_key, meta = "label_names", "labels", "batches.meta"
        train_files = [f"data_batch_{index}" for index in range(1, 6)]
        test_files = ["test_batch"]
    else:
        names_key, labels_key, meta = "fine_label_names", "fine_labels", "meta"
        train_files, test_files = ["train"], ["test"]
    classes = _class_names(entry, directory, folder / meta, names_key)
    return {
        "train": _split(
            entry, directory, [folder / name for name in train_files], labels_key, classes
        ),
        "test": _split(
            entry, directory, [folder / name for name in test_files], labels_key, classes
        ),
    }


def cifar_folder(entry: Catalogued, directory: Path) -> Path:
    """``DIR/cifar-10-batches-py`` (as the archive unpacks, and torchvision keeps it), or
    ``DIR`` itself when it is that folder."""
    inside = directory.name == entry.folder or not (directory / entry.folder).is_dir()
    if inside and all((directory / name).is_file() for name in entry.files):
        return directory
    return directory / entry.folder


def _load(entry: Catalogued, directory: Path, path: Path) -> dict[str, Any]:
    try:
        content = safe_unpickle(path)
    except ValueError as error:
        raise corrupt_file(entry, directory, path, str(error)) from None
    if not isinstance(content, dict):
        raise corrupt_file(entry, directory, path, f"holds a {type(content).__name__}, not a dict")
    return {_text(key): value for key, value in content.items()}


def _text(value: Any) -> Any:
    """Keys and names are ``bytes`` when a batch was unpickled with encoding='bytes'."""
    return value.decode("latin1") if isinstance(value, bytes) else value


def _class_names(entry: Catalogued, directory: Path, path: Path, key: str) -> tuple[str, ...]:
    meta = _load(entry, directory, path)
    names = meta.get(key)
    expected = 10 if entry.name == CIFAR10.name else 100
    if not isinstance(names, list) or len(names) != expected:
        raise corrupt_file(entry, directory, path, f"'{key}' is not a list of {expected} names")
    return tuple(str(_text(name)) for name in names)


def _split(
    entry: Catalogued, directory: Path, paths: list[Path], labels_key: str, classes: tuple[str, ...]
) -> ImageSet:
    import numpy as np
    import torch

    images, labels = [], []
    for path in paths:
        batch = _load(entry, directory, path)
        data, batch_labels = batch.get("data"), batch.get(labels_key)
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
            raise corrupt_file(entry, directory, path, "'data' is not a uint8 N×3072 array")
        if data.shape[1] != 3 * 32 * 32:
            raise corrupt_file(
                entry,
                directory,
                path,
                f"'data' rows hold {data.shape[1]} values, not 3072 (3×32×32)",
            )
        try:
            labels_array = np.asarray(batch_labels, dtype=np.int64)
        except (TypeError, ValueError):
            labels_array = np.zeros(0, dtype=np.int64)  # reported just below
        if labels_array.shape != (data.shape[0],):
            raise corrupt_file(
                entry, directory, path, f"'{labels_key}' does not hold one label per image"
            )
        if labels_array.size and (labels_array.min() < 0 or labels_array.max() >= len(classes)):
            raise corrupt_file(entry, directory, path, f"a label is outside 0-{len(classes) - 1}")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(labels_array)
    return ImageSet(
        images=torch.from_numpy(np.concatenate(images)),
        labels=torch.from_numpy(np.concatenate(labels)),
        classes=classes,
    )


def read_cifar10(directory: Path) -> dict[str, ImageSet]:
    return read_cifar(CIFAR10, directory)


def read_cifar100(directory: Path) -> dict[str, ImageSet]:
    return read_cifar(CIFAR100, directory)


__all__ = ["DataError", "SafeUnpickler", "read_cifar", "safe_unpickle"]
