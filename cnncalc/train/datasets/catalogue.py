"""The standard datasets cnncalc reads from their published files: names, files, archives.

Checksums are the MD5s the datasets' authors publish (and torchvision checks): MNIST's are
those of the gzipped IDX files on PyTorch's mirror (yann.lecun.com refuses scripted
downloads), Fashion-MNIST's those in zalandoresearch/fashion-mnist's README, CIFAR's those on
https://www.cs.toronto.edu/~kriz/cifar.html.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Archive:
    """One file to download: where from, what it is called on disk, its published checksum.

    ``extract``: a tar archive unpacked into the data directory after checking (CIFAR);
    otherwise the downloaded file is itself read (MNIST's ``.gz`` IDX files).
    """

    url: str
    filename: str
    md5: str
    extract: bool = False


@dataclass(frozen=True)
class Catalogued:
    """A standard dataset: its CLI name, title, the files a reader needs, its archives."""

    name: str
    title: str
    files: tuple[str, ...]
    """The files the reader opens, relative to :attr:`folder` (IDX files may be gzipped)."""
    folder: str
    """The sub-folder of the data directory the files are in ('' for the directory itself)."""
    archives: tuple[Archive, ...]
    classes: tuple[str, ...]

    def fetch_command(self, directory: Path | str) -> str:
        return f"cnncalc train SPEC --data {self.name} --data-dir {directory} --download"


MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FASHION_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
CIFAR_SITE = "https://www.cs.toronto.edu/~kriz/"

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _idx_set(
    name: str, title: str, mirror: str, md5s: tuple[str, ...], classes: tuple[str, ...]
) -> Catalogued:
    """An IDX dataset (MNIST's four files, gzipped at ``mirror``), one MD5 per file."""
    return Catalogued(
        name=name,
        title=title,
        files=IDX_FILES,
        folder="",
        archives=tuple(
            Archive(f"{mirror}{file}.gz", f"{file}.gz", md5)
            for file, md5 in zip(IDX_FILES, md5s, strict=True)
        ),
        classes=classes,
    )


MNIST = _idx_set(
    "mnist",
    "MNIST",
    MNIST_MIRROR,
    (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
    tuple(str(digit) for digit in range(10)),
)

FASHION_MNIST = _idx_set(
    "fashion-mnist",
    "Fashion-MNIST",
    FASHION_MIRROR,
    (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
    # zalandoresearch/fashion-mnist's README, label order 0-9
    (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
)

CIFAR10 = Catalogued(
    name="cifar10",
    title="CIFAR-10",
    files=(*(f"data_batch_{index}" for index in range(1, 6)), "test_batch", "batches.meta"),
    folder="cifar-10-batches-py",
    archives=(
        Archive(
            f"{CIFAR_SITE}cifar-10-python.tar.gz",
            "cifar-10-python.tar.gz",
            "c58f30108f718f92721af3b95e74349a",
            extract=True,
        ),
    ),
    classes=(),  # read from batches.meta
)

CIFAR100 = Catalogued(
    name="cifar100",
    title="CIFAR-100",
    files=("train", "test", "meta"),
    folder="cifar-100-python",
    archives=(
        Archive(
            f"{CIFAR_SITE}cifar-100-python.tar.gz",
            "cifar-100-python.tar.gz",
            "eb9058c3a382ffc7106e4002c42a8d85",
            extract=True,
        ),
    ),
    classes=(),  # read from meta (fine_label_names)
)

CATALOGUE: dict[str, Catalogued] = {
    entry.name: entry for entry in (MNIST, FASHION_MNIST, CIFAR10, CIFAR100)
}
"""The standard datasets by their ``--data`` name."""
