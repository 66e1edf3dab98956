"""ImageFolder-style directories: one folder per class, images read with Pillow.

Layouts (as torchvision's ``ImageFolder`` and Keras's ``image_dataset_from_directory``):

- ``DIR/train/<class>/<image>``, with optional ``DIR/val/`` (or ``valid/``,
  ``validation/``) and ``DIR/test/`` beside it: one split per folder;
- ``DIR/<class>/<image>``: a single tree, returned as the ``train`` split for the caller to
  divide.

Classes are the class folder names in sorted order (label 0 is the first), unless a data
YAML gives ``names``. Image files are those with the extensions in
:data:`IMAGE_EXTENSIONS`; hidden files and other files are skipped.

Modes: every image is converted to one mode, grey ("L", 1 channel) when every image is a
grey mode (1, L, LA, I, I;16, F), otherwise RGB (3 channels), as torchvision's loader does.
Alpha is dropped (not composited). Sizes: all images must have one size, or ``image_size``
(H, W) must be given to resize each on load (bilinear); otherwise :class:`DataError` names
two files of different sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..imageset import DataError, ImageSet

IMAGE_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".ppm",
    ".pgm",
)
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
SPLIT_FOLDERS = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}


def read_image_folder(
    directory: Path,
    image_size: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, ImageSet]:
    """The splits of an ImageFolder directory (see the module's docstring for the rules)."""
    if not directory.is_dir():
        raise DataError(f"data folder {directory} does not exist")
    folders = _subfolders(directory)
    splits: dict[str, Path] = {}
    for path in (path for path in folders if path.name in SPLIT_FOLDERS):
        split = SPLIT_FOLDERS[path.name]
        if split in splits:
            raise DataError(
                f"{directory} has two {split} folders, {splits[split].name}/ and {path.name}/: "
                "keep one"
            )
        splits[split] = path
    if not splits:
        return read_folder_splits({"train": directory}, image_size, class_names)
    others = [path.name for path in folders if path.name not in SPLIT_FOLDERS]
    if others:
        raise DataError(
            f"{directory} mixes split folders ({', '.join(sorted(splits))}) with other folders "
            f"({', '.join(others[:3])}): put every class folder inside train/ (and val/, test/)"
        )
    return read_folder_splits(splits, image_size, class_names)


def read_folder_splits(
    splits: dict[str, Path],
    image_size: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, ImageSet]:
    """Each split folder (``{"train": DIR/train, ...}``) read as one class tree, with one class
    list, one mode and one size for all of them."""
    trees = {split: _class_tree(path) for split, path in splits.items()}
    classes = _classes(trees, splits, class_names)
    files = [file for tree in trees.values() for paths in tree.values() for file in paths]
    mode, size = _common_format(files, image_size)
    return {
        split: _image_set(tree, classes, mode, size)
        for split, tree in trees.items()
        if any(tree.values())
    }


def _subfolders(directory: Path) -> list[Path]:
    return sorted(
        path for path in directory.iterdir() if path.is_dir() and not path.name.startswith(".")
    )


def _class_tree(directory: Path) -> dict[str, list[Path]]:
    """Class name → its image files (sorted), for one split folder."""
    if not directory.is_dir():
        raise DataError(f"split folder {directory} does not exist")
    tree = {}
    for folder in _subfolders(directory):
        images = sorted(
            path
            for path in folder.rglob("*")
            if path.is_file()
            and path.suffix.lower() in IMAGE_EXTENSIONS
            and not path.name.startswith(".")
        )
        if not images:
            raise DataError(
                f"class folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)}): "
                "add its images or remove the folder"
            )
        tree[folder.name] = images
    return tree


def _classes(
    trees: dict[str, dict[str, list[Path]]],
    splits: dict[str, Path],
    class_names: Sequence[str] | None,
) -> tuple[str, ...]:
    first = "train" if "train" in trees else next(iter(trees))
    found = sorted(trees[first])
    where = splits[first]
    if len(found) < 2:
        shown = f"only one class folder ('{found[0]}')" if found else "no class folders"
        raise DataError(
            f"{where} has {shown}: a classifier needs at least two classes, one folder per "
            f"class ({where}/<class>/<image>.png)"
        )
    for split, tree in trees.items():
        extra = sorted(set(tree) - set(found))
        if extra:
            raise DataError(
                f"{splits[split]} has class folder(s) {', '.join(extra)} that {where} lacks: "
                f"every class of the {split} split must have {first} images"
            )
    if class_names is None:
        return tuple(found)
    if sorted(class_names) != found or len(set(class_names)) != len(class_names):
        raise DataError(
            f"the class names given ({', '.join(class_names)}) are not the class folders of "
            f"{where} ({', '.join(found)}): list each folder name once, in label order"
        )
    return tuple(class_names)


def _common_format(files: list[Path], image_size: Sequence[int] | None) -> tuple[str, Any]:
    """One mode ('L' or 'RGB') and one (W, H) size for all images (see the module's rules)."""
    modes: set[str] = set()
    sizes: dict[tuple[int, int], Path] = {}
    for path in files:
        with _open(path) as image:
            modes.add(image.mode)
            sizes.setdefault(image.size, path)
    mode = "L" if modes <= GREY_MODES else "RGB"
    if image_size is not None:
        height, width = (int(value) for value in image_size)
        return mode, (width, height)
    if len(sizes) > 1:
        (size_a, file_a), (size_b, file_b) = list(sizes.items())[:2]
        raise DataError(
            f"the images have {len(sizes)} different sizes, e.g. {file_a} is "
            f"{size_a[1]}×{size_a[0]} (H×W) and {file_b} is {size_b[1]}×{size_b[0]}: resize "
            "them to one size, or give an image size to resize every image on load "
            "(cnncalc train --resize: to the spec's input H×W)"
        )
    return mode, None


def _open(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"cannot read image {path}: {error}. Delete or replace the file") from None


def _image_set(
    tree: dict[str, list[Path]], classes: tuple[str, ...], mode: str, size: Any
) -> ImageSet:
    import numpy as np
    import torch

    arrays, labels = [], []
    for label, name in enumerate(classes):
        for path in tree.get(name, []):
            arrays.append(_pixels(path, mode, size))
            labels.append(label)
    stacked = np.stack(arrays)  # N×H×W (grey) or N×H×W×3
    images = stacked[:, None] if mode == "L" else stacked.transpose(0, 3, 1, 2)
    return ImageSet(
        images=torch.from_numpy(np.ascontiguousarray(images)),
        labels=torch.tensor(labels, dtype=torch.int64),
        classes=classes,
    )


def _pixels(path: Path, mode: str, size: Any) -> Any:
    import numpy as np
    from PIL import Image

    with _open(path) as image:
        try:
            converted = image.convert(mode)
            if size is not None and converted.size != size:
                converted = converted.resize(size, Image.Resampling.BILINEAR)
            return np.asarray(converted, dtype=np.uint8)
        except (OSError, ValueError) as error:  # truncated after a valid header
            raise DataError(
                f"cannot read image {path}: {error}. Delete or replace the file"
            ) from None
