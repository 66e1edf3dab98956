"""MNIST and Fashion-MNIST: the IDX file format, read with numpy (no torchvision).

IDX (http://yann.lecun.com/exdb/mnist/, "file formats"): a 4-byte magic number — two zero
bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D
float32, 0x0E float64) and the number of dimensions — then each dimension as a big-endian
uint32, then the values in C order, big-endian. MNIST's image files are 0x00000803 (N×28×28
uint8), its label files 0x00000801 (N uint8).
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import Any

from ..imageset import DataError, ImageSet
from .catalogue import Catalogued
from .messages import corrupt_file, missing_files

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
"""IDX type code → numpy dtype (big-endian)."""

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

GZIP_MAGIC = b"\x1f\x8b"


class IdxError(ValueError):
    """An IDX file that does not hold what its header says."""


def parse_idx(data: bytes) -> Any:
    """The array an IDX file holds (numpy, native byte order); :class:`IdxError` if malformed."""
    import numpy as np

    if len(data) < 4:
        raise IdxError(f"{len(data)} bytes, shorter than the 4-byte IDX magic number")
    if data[0] != 0 or data[1] != 0:
        raise IdxError(f"magic number 0x{data[:4].hex()} does not start with two zero bytes")
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_TYPES:
        raise IdxError(f"unknown IDX type code 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{len(data)} bytes, shorter than its {header}-byte header")
    dims = tuple(int.from_bytes(data[4 + 4 * axis : 8 + 4 * axis], "big") for axis in range(ndim))
    dtype = np.dtype(IDX_TYPES[type_code])
    expected = header + dtype.itemsize * math.prod(dims)  # Python ints: no overflow
    if len(data) != expected:
        shape = "×".join(str(dim) for dim in dims)
        raise IdxError(
            f"the header promises {shape} values ({expected:,} bytes with the header), "
            f"the file has {len(data):,} bytes (truncated or padded)"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx_file(path: Path) -> tuple[int, Any]:
    """The magic number and array of an IDX file, gunzipped when it is gzipped (by content,
    not by name)."""
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise IdxError(f"gzip stream is damaged ({error})") from None
    array = parse_idx(data)
    return int.from_bytes(data[:4], "big"), array


def find_idx(directory: Path, name: str) -> Path | None:
    """The file as published (``name.gz``) or unpacked (``name``); the unpacked one first."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx_dataset(entry: Catalogued, directory: Path) -> dict[str, ImageSet]:
    """MNIST-format train and test splits from ``directory`` (uint8 N×1×28×28 images)."""
    paths = {name: find_idx(directory, name) for name in entry.files}
    missing = [f"{name}(.gz)" for name, path in paths.items() if path is None]
    if missing:
        raise missing_files(entry, directory, missing)
    return {
        split: _split(
            entry,
            directory,
            paths[f"{prefix}-images-idx3-ubyte"],
            paths[f"{prefix}-labels-idx1-ubyte"],
        )
        for split, prefix in (("train", "train"), ("test", "t10k"))
    }


def _split(entry: Catalogued, directory: Path, images_path: Any, labels_path: Any) -> ImageSet:
    import torch

    images = _checked(entry, directory, images_path, IMAGES_MAGIC, 3)
    labels = _checked(entry, directory, labels_path, LABELS_MAGIC, 1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{entry.title}: {images_path} holds {images.shape[0]:,} images but "
            f"{labels_path} holds {labels.shape[0]:,} labels; the two files come from "
            f"different downloads. Fetch both again with: {entry.fetch_command(directory)}"
        )
    if labels.size and int(labels.max()) >= len(entry.classes):
        raise corrupt_file(
            entry,
            directory,
            labels_path,
            f"label {int(labels.max())} is outside 0-{len(entry.classes) - 1}",
        )
    return ImageSet(
        images=torch.from_numpy(images).unsqueeze(1),
        labels=torch.from_numpy(labels.astype("int64")),
        classes=entry.classes,
    )


def _checked(entry: Catalogued, directory: Path, path: Path, magic: int, ndim: int) -> Any:
    try:
        found, array = read_idx_file(path)
    except IdxError as error:
        raise corrupt_file(entry, directory, path, str(error)) from None
    if found != magic or array.ndim != ndim:
        what = "images (0x00000803, N×rows×columns)" if ndim == 3 else "labels (0x00000801, N)"
        raise corrupt_file(
            entry, directory, path, f"magic number 0x{found:08x}, expected IDX {what}"
        )
    return array
