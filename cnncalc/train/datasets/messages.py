"""The two messages every standard-dataset reader shares: files missing, a file corrupt."""

from __future__ import annotations

from pathlib import Path

from ..imageset import DataError
from .catalogue import Catalogued


def expected_files(entry: Catalogued, directory: Path) -> str:
    folder = directory / entry.folder if entry.folder else directory
    gz = " (or .gz)" if entry.name in ("mnist", "fashion-mnist") else ""
    return f"{folder}/: " + ", ".join(entry.files) + gz


def missing_files(entry: Catalogued, directory: Path, missing: list[str]) -> DataError:
    return DataError(
        f"{entry.title} files not found: {', '.join(missing)}. "
        f"Expected {expected_files(entry, directory)}. "
        f"Fetch them (about {_size(entry)}, needs internet) with: "
        f"{entry.fetch_command(directory)}"
    )


def corrupt_file(entry: Catalogued, directory: Path, path: Path, why: str) -> DataError:
    return DataError(
        f"{entry.title} file {path} is corrupt: {why}. "
        f"Delete it and fetch the data again with: {entry.fetch_command(directory)}"
    )


def _size(entry: Catalogued) -> str:
    return {"mnist": "11 MB", "fashion-mnist": "30 MB", "cifar10": "163 MB"}.get(
        entry.name, "161 MB"
    )
