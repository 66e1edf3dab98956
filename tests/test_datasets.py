"""Dataset readers on small synthetic files written in the real formats (no network)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import io
import pickle
import re
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

from cnncalc.train import datasets  # noqa: E402
from cnncalc.train.datasets import Archive, DataError, read_dataset  # noqa: E402
from cnncalc.train.datasets.idx import IdxError, parse_idx  # noqa: E402

RNG = np.random.default_rng(9)


# ------------------------------------------------------------------ writers of the real formats


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file: magic (0, 0, type, ndim), big-endian uint32 dims, big-endian values."""
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim])
    header += b"".join(int(dim).to_bytes(4, "big") for dim in array.shape)
    return header + array.astype(dtype).tobytes()


def write_mnist(directory: Path, train: int = 5, test: int = 3, gz: bool = True) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": RNG.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": RNG.integers(0, 10, train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": RNG.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": RNG.integers(0, 10, test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        data = idx_bytes(array)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)
    return arrays


def cifar_batch(count: int, labels_key: str = "labels", classes: int = 10) -> dict:
    return {
        "batch_label": "training batch 1 of 5",
        labels_key: [int(value) for value in RNG.integers(0, classes, count)],
        "data": RNG.integers(0, 256, (count, 3072), dtype=np.uint8),
        "filenames": [f"image_{index}.png" for index in range(count)],
    }


def write_pickle(path: Path, content: object, protocol: int = 2) -> None:
    path.write_bytes(pickle.dumps(content, protocol=protocol))  # CIFAR's files are protocol 2


CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse"]
CIFAR10_NAMES += ["ship", "truck"]


def write_cifar10(folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{index}": cifar_batch(2) for index in range(1, 6)}
    batches["test_batch"] = cifar_batch(3)
    for name, batch in batches.items():
        write_pickle(folder / name, batch)
    write_pickle(folder / "batches.meta", {"label_names": CIFAR10_NAMES, "num_vis": 3072})
    return batches


def write_png(path: Path, array: np.ndarray, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)


def fetch_command(directory: Path, name: str = "mnist") -> str:
    return f"cnncalc train SPEC --data {name} --data-dir {directory} --download"


# ------------------------------------------------------------------ IDX


def test_parse_idx_hand_worked():
    # magic 0x00000B02 (int16, 2 dims), dims 2 and 3, then six big-endian int16 values
    data = bytes.fromhex("00000b02 00000002 00000003 0001 ffff 0100 0002 7fff 8000")
    array = parse_idx(data)
    assert array.tolist() == [[1, -1, 256], [2, 32767, -32768]]
    assert array.dtype == np.int16


def test_parse_idx_float_and_errors():
    values = np.array([0.5, -2.25], dtype=np.float32)
    assert parse_idx(idx_bytes(values, 0x0D)).tolist() == [0.5, -2.25]
    with pytest.raises(IdxError, match="two zero bytes"):
        parse_idx(b"\x01\x00\x08\x01" + bytes(4))
    with pytest.raises(IdxError, match="unknown IDX type code 0x07"):
        parse_idx(b"\x00\x00\x07\x01" + bytes(4))
    with pytest.raises(IdxError, match="truncated or padded"):
        parse_idx(idx_bytes(np.zeros((2, 2), np.uint8))[:-1])


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_back_exactly(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    splits = read_dataset("mnist", tmp_path)
    assert sorted(splits) == ["test", "train"]  # MNIST has no validation split
    train, test = splits["train"], splits["test"]
    assert train.images.shape == (5, 1, 28, 28) and train.images.dtype == torch.uint8
    assert np.array_equal(train.images[:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    assert np.array_equal(test.images[:, 0].numpy(), arrays["t10k-images-idx3-ubyte"])
    assert train.labels.dtype == torch.int64
    assert train.labels.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert train.classes == tuple("0123456789") and len(test) == 3


def test_fashion_mnist_class_names(tmp_path):
    write_mnist(tmp_path, gz=False)
    splits = read_dataset("fashion-mnist", tmp_path)
    assert splits["train"].classes[0] == "T-shirt/top"
    assert splits["train"].classes[9] == "Ankle boot"


def test_missing_mnist_names_every_file_and_the_fetch_command(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("read_dataset touched the network without download=True")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as error:
        read_dataset("mnist", tmp_path)
    message = str(error.value)
    assert "MNIST files not found: t10k-labels-idx1-ubyte(.gz)" in message
    assert "train-images-idx3-ubyte, train-labels-idx1-ubyte" in message
    assert fetch_command(tmp_path) in message


def test_truncated_mnist_file_is_corrupt(tmp_path):
    write_mnist(tmp_path, gz=False)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DataError) as error:
        read_dataset("mnist", tmp_path)
    message = str(error.value)
    assert f"MNIST file {images} is corrupt" in message
    assert "the header promises 5×28×28 values (3,936 bytes with the header)" in message
    assert "the file has 3,836 bytes" in message and fetch_command(tmp_path) in message


def test_damaged_gzip_and_swapped_files(tmp_path):
    write_mnist(tmp_path)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    images = tmp_path / "train-images-idx3-ubyte.gz"
    saved = labels.read_bytes()
    labels.write_bytes(saved[:12])
    with pytest.raises(DataError, match="gzip stream is damaged"):
        read_dataset("mnist", tmp_path)
    labels.write_bytes(images.read_bytes())  # an images file where the labels should be
    with pytest.raises(DataError, match=r"magic number 0x00000803, expected IDX labels"):
        read_dataset("mnist", tmp_path)
    labels.write_bytes(gzip.compress(idx_bytes(np.zeros(4, np.uint8))))
    with pytest.raises(DataError, match=r"holds 5 images but .* holds 4 labels"):
        read_dataset("mnist", tmp_path)


# ------------------------------------------------------------------ CIFAR


def test_cifar10_reads_back_exactly(tmp_path):
    batches = write_cifar10(tmp_path / "cifar-10-batches-py")
    splits = read_dataset("cifar10", tmp_path)
    train, test = splits["train"], splits["test"]
    assert train.images.shape == (10, 3, 32, 32) and train.images.dtype == torch.uint8
    first = batches["data_batch_1"]["data"]
    # the row holds 1024 red, 1024 green, 1024 blue values, each 32×32 row-major
    assert int(train.images[0, 1, 0, 0]) == first[0, 1024]
    assert int(train.images[1, 2, 31, 31]) == first[1, 3071]
    expected = np.concatenate([batches[f"data_batch_{i}"]["data"] for i in range(1, 6)])
    assert np.array_equal(train.images.reshape(10, -1).numpy(), expected)
    assert test.labels.tolist() == batches["test_batch"]["labels"]
    assert train.classes == tuple(CIFAR10_NAMES)
    # the folder itself may be given as the data directory
    same = read_dataset("cifar10", tmp_path / "cifar-10-batches-py")
    assert torch.equal(same["test"].images, test.images)


def py2_string(text: bytes) -> bytes:
    """SHORT_BINSTRING (U) or BINSTRING (T): a Python 2 ``str``, as cPickle wrote it."""
    if len(text) < 256:
        return b"U" + bytes([len(text)]) + text
    return b"T" + len(text).to_bytes(4, "little") + text


def python2_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """A CIFAR batch exactly as Python 2's cPickle (protocol 2) and numpy 1 wrote it,
    assembled opcode by opcode: numpy.core.multiarray._reconstruct, then BUILD with
    (version, shape, dtype('u1'), fortran=False, raw bytes as a Python 2 str)."""
    rows, columns = data.shape
    dtype = (
        b"cnumpy\ndtype\n" + py2_string(b"u1") + b"K\x00K\x01\x87R"
        b"(K\x03" + py2_string(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85"
        + py2_string(b"b")
        + b"\x87R(K\x01K"
        + bytes([rows])
        + b"M"
        + columns.to_bytes(2, "little")
        + b"\x86"
        + dtype
        + b"\x89"
        + py2_string(data.tobytes())
        + b"tb"
    )
    label_list = b"](" + b"".join(b"K" + bytes([value]) for value in labels) + b"e"
    return b"\x80\x02}(" + py2_string(b"data") + array + py2_string(b"labels") + label_list + b"u."


def test_cifar_batch_as_python2_wrote_it(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    data = RNG.integers(0, 256, (2, 3072), dtype=np.uint8)
    (folder / "data_batch_5").write_bytes(python2_batch(data, [7, 2]))
    train = read_dataset("cifar10", tmp_path)["train"]
    assert np.array_equal(train.images[8:].reshape(2, -1).numpy(), data)
    assert train.labels[8:].tolist() == [7, 2]


def test_cifar100_fine_labels_and_bytes_keys(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    names = [f"class_{index}" for index in range(100)]
    train = cifar_batch(4, "fine_labels", 100)
    test = cifar_batch(2, "fine_labels", 100)
    # keys and names as bytes, as a batch re-saved after pickle.load(encoding='bytes') has them
    write_pickle(folder / "train", {key.encode(): value for key, value in train.items()}, 4)
    write_pickle(folder / "test", test)
    write_pickle(folder / "meta", {b"fine_label_names": [name.encode() for name in names]})
    splits = read_dataset("cifar100", tmp_path)
    assert splits["train"].labels.tolist() == train["fine_labels"]
    assert np.array_equal(splits["test"].images.reshape(2, -1).numpy(), test["data"])
    assert splits["train"].classes[99] == "class_99"


class Exploit:
    """A pickle that would create a file if loaded with pickle.load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_cifar_pickle_with_code_is_refused_and_not_run(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    marker = tmp_path / "pwned"
    batch = cifar_batch(2)
    batch["filenames"] = Exploit(marker)
    write_pickle(folder / "data_batch_3", batch)
    with pytest.raises(DataError) as error:
        read_dataset("cifar10", tmp_path)
    assert not marker.exists()
    message = str(error.value)
    assert f"CIFAR-10 file {folder / 'data_batch_3'} is corrupt" in message
    # protocol 2 names the callable io.open (builtins.open in later protocols)
    assert re.search(
        r"asks for the Python object '(io|builtins)\.open', which cnncalc refuses", message
    )
    assert fetch_command(tmp_path, "cifar10") in message


def test_cifar_truncated_and_missing(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    batch = folder / "test_batch"
    batch.write_bytes(batch.read_bytes()[:1000])
    with pytest.raises(DataError, match="test_batch is corrupt: pickle data was truncated"):
        read_dataset("cifar10", tmp_path)
    batch.unlink()
    (folder / "batches.meta").unlink()
    with pytest.raises(DataError) as error:
        read_dataset("cifar10", tmp_path)
    assert "CIFAR-10 files not found: test_batch, batches.meta" in str(error.value)
    assert fetch_command(tmp_path, "cifar10") in str(error.value)


def test_cifar_labels_that_are_not_numbers(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    batch = cifar_batch(2)
    batch["labels"] = ["cat", "dog"]
    write_pickle(folder / "data_batch_4", batch)
    with pytest.raises(DataError, match="'labels' does not hold one label per image"):
        read_dataset("cifar10", tmp_path)
    batch["labels"] = [3, 10]
    write_pickle(folder / "data_batch_4", batch)
    with pytest.raises(DataError, match="a label is outside 0-9"):
        read_dataset("cifar10", tmp_path)


def test_cifar_wrong_row_length(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    batch = cifar_batch(2)
    batch["data"] = batch["data"][:, :3000]
    write_pickle(folder / "data_batch_2", batch)
    with pytest.raises(DataError, match="'data' rows hold 3000 values, not 3072"):
        read_dataset("cifar10", tmp_path)


# ------------------------------------------------------------------ folders


def write_folder_tree(root: Path) -> dict[str, dict[str, np.ndarray]]:
    """train/ and test/ splits of RGB 6×5 PNGs; classes 'cat', 'dog' (and 'ant' in train)."""
    content: dict[str, dict[str, np.ndarray]] = {}
    for split, counts in (("train", {"ant": 1, "cat": 2, "dog": 1}), ("test", {"cat": 1})):
        for name, count in counts.items():
            for index in range(count):
                pixels = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)
                path = root / split / name / f"{index}.png"
                write_png(path, pixels, "RGB")
                content.setdefault(split, {})[f"{name}/{index}"] = pixels
    return content


def test_image_folder_reads_back_exactly(tmp_path):
    content = write_folder_tree(tmp_path)
    (tmp_path / "train" / "cat" / "notes.txt").write_text("not an image")
    splits = read_dataset(str(tmp_path), None)
    assert sorted(splits) == ["test", "train"]
    train = splits["train"]
    assert train.classes == ("ant", "cat", "dog")  # sorted folder names, label 0 first
    assert train.images.shape == (4, 3, 6, 5) and train.labels.tolist() == [0, 1, 1, 2]
    expected = [content["train"][key] for key in ("ant/0", "cat/0", "cat/1", "dog/0")]
    assert np.array_equal(train.images.permute(0, 2, 3, 1).numpy(), np.stack(expected))
    assert splits["test"].labels.tolist() == [1] and splits["test"].classes == train.classes


def test_single_tree_grey_and_mixed_modes(tmp_path):
    tree = tmp_path / "tree"
    grey = RNG.integers(0, 256, (4, 4), dtype=np.uint8)
    write_png(tree / "a" / "0.png", grey, "L")
    write_png(tree / "b" / "0.png", grey, "L")
    splits = read_dataset("tree", tmp_path)  # a relative folder, under the data directory
    assert sorted(splits) == ["train"]  # a single tree: the caller divides it
    assert splits["train"].images.shape == (2, 1, 4, 4)  # all grey: one channel
    assert np.array_equal(splits["train"].images[0, 0].numpy(), grey)
    colour = RNG.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    write_png(tree / "b" / "1.png", colour, "RGB")
    images = read_dataset(str(tree))["train"].images
    assert images.shape == (3, 3, 4, 4)  # one RGB image: all RGB, grey replicated
    assert all(np.array_equal(images[0, channel].numpy(), grey) for channel in range(3))
    assert np.array_equal(images[2].permute(1, 2, 0).numpy(), colour)


def test_jpeg_reads_as_pillow_decodes_it(tmp_path):
    pixels = RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    for name in ("x", "y"):
        path = tmp_path / name / "0.jpg"
        path.parent.mkdir()
        Image.fromarray(pixels).save(path, quality=90)
    images = read_dataset(str(tmp_path))["train"].images
    decoded = np.asarray(Image.open(tmp_path / "y" / "0.jpg").convert("RGB"))
    assert np.array_equal(images[1].permute(1, 2, 0).numpy(), decoded)


def test_mixed_sizes_name_two_files_and_resize_on_load(tmp_path):
    write_png(tmp_path / "a" / "0.png", np.zeros((4, 4), np.uint8), "L")
    write_png(tmp_path / "b" / "0.png", np.zeros((6, 3), np.uint8), "L")
    with pytest.raises(DataError) as error:
        read_dataset(str(tmp_path))
    message = str(error.value)
    assert f"2 different sizes, e.g. {tmp_path / 'a' / '0.png'} is 4×4 (H×W)" in message
    assert f"{tmp_path / 'b' / '0.png'} is 6×3" in message and "cnncalc train --resize" in message
    resized = read_dataset(str(tmp_path), image_size=(5, 7))["train"].images
    assert resized.shape == (2, 1, 5, 7)


def test_one_class_and_unknown_class_folders(tmp_path):
    write_png(tmp_path / "train" / "cat" / "0.png", np.zeros((2, 2), np.uint8), "L")
    with pytest.raises(DataError) as error:
        read_dataset(str(tmp_path))
    assert "only one class folder ('cat')" in str(error.value)
    assert "a classifier needs at least two classes" in str(error.value)
    write_png(tmp_path / "train" / "dog" / "0.png", np.zeros((2, 2), np.uint8), "L")
    write_png(tmp_path / "val" / "eel" / "0.png", np.zeros((2, 2), np.uint8), "L")
    with pytest.raises(DataError, match=r"has class folder\(s\) eel that .*train lacks"):
        read_dataset(str(tmp_path))
    (tmp_path / "val" / "eel" / "0.png").unlink()
    with pytest.raises(DataError, match=r"class folder .*eel holds no images"):
        read_dataset(str(tmp_path))


def test_two_folders_for_one_split(tmp_path):
    for split in ("train", "val", "valid"):
        for name in ("a", "b"):
            write_png(tmp_path / split / name / "0.png", np.zeros((2, 2), np.uint8), "L")
    with pytest.raises(DataError, match=r"has two val folders, val/ and valid/: keep one"):
        read_dataset(str(tmp_path))


def test_unreadable_image_names_the_file(tmp_path):
    write_png(tmp_path / "a" / "0.png", np.zeros((2, 2), np.uint8), "L")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "0.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=f"cannot read image {tmp_path / 'b' / '0.png'}"):
        read_dataset(str(tmp_path))


def test_unknown_source(tmp_path):
    with pytest.raises(DataError) as error:
        read_dataset("imagenet", tmp_path)
    assert "no dataset 'imagenet': it is not a standard dataset (mnist, fashion-mnist" in str(
        error.value
    )
    with pytest.raises(DataError, match="--download fetches only the standard datasets"):
        read_dataset(str(tmp_path), download=True)


# ------------------------------------------------------------------ data YAML


def test_data_yaml_with_names_in_label_order(tmp_path):
    content = write_folder_tree(tmp_path / "pets")
    (tmp_path / "pets.yaml").write_text(
        "# pets\npath: pets\ntrain: train\ntest: test\nnames: [dog, cat, ant]\n"
    )
    splits = read_dataset(str(tmp_path / "pets.yaml"))
    assert splits["train"].classes == ("dog", "cat", "ant")
    assert splits["train"].labels.tolist() == [0, 1, 1, 2]  # dog first, then cat, then ant
    dog = splits["train"].images[0].permute(1, 2, 0).numpy()
    assert np.array_equal(dog, content["train"]["dog/0"])


def test_data_yaml_standard_format_and_mapping_names(tmp_path):
    write_mnist(tmp_path / "digits")
    names = "\n".join(f"  {index}: digit {index}" for index in range(10))
    (tmp_path / "d.yml").write_text(f"format: mnist\npath: digits\nnames:\n{names}\n")
    splits = read_dataset(str(tmp_path / "d.yml"))
    assert splits["test"].classes[3] == "digit 3" and len(splits["train"]) == 5


def test_data_yaml_is_data_only(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "evil.yaml").write_text(
        f"train: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    with pytest.raises(DataError, match="is not valid YAML"):
        read_dataset(str(tmp_path / "evil.yaml"))
    assert not marker.exists()
    (tmp_path / "typo.yaml").write_text("trian: train\n")
    with pytest.raises(DataError, match=r"unknown key 'trian'.*did you mean 'train'"):
        read_dataset(str(tmp_path / "typo.yaml"))
    (tmp_path / "few.yaml").write_text("format: mnist\npath: nowhere\nnames: [a, b]\n")
    with pytest.raises(DataError, match="MNIST files not found"):
        read_dataset(str(tmp_path / "few.yaml"))


# ------------------------------------------------------------------ --download (offline)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def cifar_archive(tmp_path: Path, extra: tarfile.TarInfo | None = None) -> Path:
    source = tmp_path / "source"
    write_cifar10(source / "cifar-10-batches-py")
    archive = tmp_path / "served" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
        if extra is not None:
            tar.addfile(extra, io.BytesIO(b"x" * extra.size))
    return archive


def use_archives(monkeypatch, name: str, archives: tuple[Archive, ...]) -> None:
    entry = dataclasses.replace(datasets.CATALOGUE[name], archives=archives)
    monkeypatch.setitem(datasets.CATALOGUE, name, entry)


def test_download_checks_and_unpacks_a_file_url(tmp_path, monkeypatch):
    archive = cifar_archive(tmp_path)
    served = Archive(archive.as_uri(), archive.name, md5(archive.read_bytes()), extract=True)
    use_archives(monkeypatch, "cifar10", (served,))
    root = tmp_path / "data"
    lines: list[str] = []
    splits = read_dataset("cifar10", root, download=True, log=lines.append)
    assert len(splits["train"]) == 10 and (root / "cifar-10-python.tar.gz").is_file()
    assert lines == [
        f"downloading {archive.as_uri()} -> {root / 'cifar-10-python.tar.gz'}",
        f"unpacking {root / 'cifar-10-python.tar.gz'} into {root}",
    ]
    lines.clear()
    read_dataset("cifar10", root, download=True, log=lines.append)
    assert lines == []  # already there: nothing fetched again


def test_download_with_a_wrong_checksum_keeps_nothing(tmp_path, monkeypatch):
    archive = cifar_archive(tmp_path)
    wrong = Archive(archive.as_uri(), archive.name, "0" * 32, extract=True)
    use_archives(monkeypatch, "cifar10", (wrong,))
    root = tmp_path / "data"
    with pytest.raises(DataError) as error:
        read_dataset("cifar10", root, download=True)
    message = str(error.value)
    assert f"has MD5 {md5(archive.read_bytes())}, but the published checksum is {'0' * 32}" in (
        message
    )
    assert list(root.iterdir()) == []


def test_unreachable_url(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere.gz"
    use_archives(monkeypatch, "mnist", (Archive(missing.as_uri(), "x.gz", "0" * 32),))
    with pytest.raises(DataError, match=f"could not download {missing.as_uri()}"):
        read_dataset("mnist", tmp_path / "data", download=True)


def test_archive_escaping_the_folder_is_refused(tmp_path, monkeypatch):
    evil = tarfile.TarInfo("../escaped.txt")
    evil.size = 3
    archive = cifar_archive(tmp_path, evil)
    served = Archive(archive.as_uri(), archive.name, md5(archive.read_bytes()), extract=True)
    use_archives(monkeypatch, "cifar10", (served,))
    root = tmp_path / "data"
    with pytest.raises(DataError, match=r"holds '\.\./escaped\.txt', which is not a plain file"):
        read_dataset("cifar10", root, download=True)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (root / "cifar-10-batches-py").exists()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test output clean
        pass


def test_download_mnist_over_http_and_refetch_a_corrupt_file(tmp_path, monkeypatch):
    served = tmp_path / "served"
    write_mnist(served)

    def handler(*args, **kwargs):
        return QuietHandler(*args, directory=str(served), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        archives = tuple(
            Archive(base + path.name, path.name, md5(path.read_bytes()))
            for path in sorted(served.glob("*.gz"))
        )
        use_archives(monkeypatch, "mnist", archives)
        root = tmp_path / "data"
        first = read_dataset("mnist", root, download=True)
        damaged = root / "train-images-idx3-ubyte.gz"
        damaged.write_bytes(b"\x1f\x8b broken")
        lines: list[str] = []
        again = read_dataset("mnist", root, download=True, log=lines.append)
        assert lines == [f"downloading {base}train-images-idx3-ubyte.gz -> {damaged}"]
        assert torch.equal(first["train"].images, again["train"].images)
    finally:
        server.shutdown()
        server.server_close()
