"""``--download``: fetch a standard dataset's published archives, check them, unpack them.

Nothing here runs unless asked: :func:`cnncalc.train.datasets.read_dataset` downloads only
with ``download=True`` (the CLI's ``--download``). Each file is streamed to ``NAME.part``
in the data directory while its MD5 is computed, compared with the published checksum, and
only then renamed to ``NAME`` (so an interrupted or corrupted download never looks like
data). Tar archives are unpacked after checking every member's path: no absolute paths, no
``..``, no links or devices, nothing outside the data directory.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..imageset import DataError
from .catalogue import Archive, Catalogued

CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60.0

Log = Callable[[str], None]


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(archive: Archive, directory: Path, log: Log | None = None) -> Path:
    """Download ``archive`` into ``directory`` unless a file with its checksum is there;
    the checked file's path. :class:`DataError` if the download fails or does not match."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / archive.filename
    if target.is_file() and file_md5(target) == archive.md5:
        return target
    partial = target.with_name(target.name + ".part")
    if log:
        log(f"downloading {archive.url} -> {target}")
    try:
        digest = _stream(archive.url, partial)
    except (urllib.error.URLError, OSError, ValueError) as error:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"could not download {archive.url}: {getattr(error, 'reason', error)}. Check the "
            f"network connection, or fetch the file by another route into {directory}/ "
            f"(its MD5 must be {archive.md5}) and run again without --download"
        ) from None
    if digest != archive.md5:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"the download of {archive.url} has MD5 {digest}, but the published checksum is "
            f"{archive.md5}: the file was damaged on the way or changed at the source; "
            "nothing was kept. Run the command again; if it fails the same way, the mirror "
            "is serving a different file"
        )
    os.replace(partial, target)
    return target


def _stream(url: str, destination: Path) -> str:
    """Copy ``url`` to ``destination`` in chunks; the MD5 of what was written."""
    digest = hashlib.md5(usedforsecurity=False)
    request = urllib.request.Request(url, headers={"User-Agent": "cnncalc"})
    with (
        urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response,
        destination.open("wb") as output,
    ):
        for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
            digest.update(chunk)
            output.write(chunk)
        output.flush()
        os.fsync(output.fileno())
    return digest.hexdigest()


def extract(archive_path: Path, directory: Path) -> None:
    """Unpack a (gzipped) tar archive into ``directory``, refusing any member that would
    land outside it or is not a plain file or folder."""
    root = directory.resolve()
    try:
        with tarfile.open(archive_path, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, root, archive_path)
            if hasattr(tarfile, "data_filter"):  # Python ≥ 3.10.12: the stdlib's own guard
                tar.extractall(root, members=members, filter="data")
            else:  # pragma: no cover - older Pythons; every member was checked above
                tar.extractall(root, members=members)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(
            f"cannot unpack {archive_path}: {error}. Delete it and run again with --download"
        ) from None


def _check_member(member: tarfile.TarInfo, root: Path, archive_path: Path) -> None:
    target = (root / member.name).resolve()
    inside = target == root or root in target.parents
    if not (member.isfile() or member.isdir()) or not inside or Path(member.name).is_absolute():
        raise DataError(
            f"{archive_path} holds '{member.name}', which is not a plain file or folder inside "
            f"{root}; cnncalc does not unpack it. The archive is not the published one: "
            "delete it and run again with --download"
        )


def download_dataset(entry: Catalogued, directory: Path, log: Log | None = None) -> None:
    """Fetch and check each of ``entry``'s archives into ``directory``, then unpack the tar
    ones (archives already there with the right checksum are not fetched again)."""
    for archive in entry.archives:
        path = fetch(archive, directory, log)
        if archive.extract:
            if log:
                log(f"unpacking {path} into {directory}")
            extract(path, directory)


def needs_download(entry: Catalogued, directory: Path) -> bool:
    """Whether ``entry``'s files are not all in place (or a downloaded file fails its checksum).

    A file read as downloaded (MNIST's ``.gz``) is checked against its MD5; unpacked files
    only for presence (the archive they came from was checked when it was unpacked).
    """
    from .cifar import cifar_folder
    from .idx import find_idx

    if entry.folder:
        folder = cifar_folder(entry, directory)
        return not all((folder / name).is_file() for name in entry.files)
    for archive in entry.archives:
        found = find_idx(directory, archive.filename.removesuffix(".gz"))
        if found is None or (found.suffix == ".gz" and file_md5(found) != archive.md5):
            return True
    return False
