"""Image folders: Kaggle's FER2013 image release and any folder-per-class image set."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import DataError
from ..labels import _SYNONYMS, EXCLUDED, class_index
from .collector import FaceCollector
from .dataset import FaceSet

SIZE = 48
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")

# Split folder names (lower-case) -> index in dataset.SPLITS. Kaggle's release has train/ and test/;
# its test/ is the PrivateTest split.
SPLIT_FOLDERS = {
    "train": 0, "training": 0,
    "val": 1, "validation": 1, "publictest": 1,
    "test": 2, "privatetest": 2,
}

REASON_EXCLUDED = "class outside the 7 FER2013 classes (e.g. contempt)"
REASON_UNREADABLE = "unreadable or corrupt image file"
REASON_NOT_IMAGE = f"not an image file (suffix not {'/'.join(s[1:] for s in IMAGE_SUFFIXES)})"

LAYOUTS = (
    "expected either Kaggle's image-folder release (ROOT/train/<class>/*.jpg and ROOT/test/<class>/*.jpg, "
    "optionally ROOT/val/<class>/) or one folder per class (ROOT/<class>/*.jpg|jpeg|png|bmp)"
)


def _subdirs(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def _read_gray(path: Path) -> np.ndarray | None:
    """The image as 48×48 uint8 grayscale, or None when it cannot be decoded."""
    try:
        # imdecode(fromfile) rather than imread: same decoder, but also reads non-ASCII paths on Windows.
        img = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    except (OSError, cv2.error):
        return None
    if img is None or img.ndim != 2 or img.size == 0:
        return None
    if img.shape != (SIZE, SIZE):
        img = cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return img


def load_image_folder(path: str | Path) -> FaceSet:
    """Load an image folder (see :data:`LAYOUTS`) as 48×48 grayscale faces.

    Class folder names may be any spelling :func:`edgeemo.labels.class_index` accepts
    (``happy``, ``Happiness``, ``anger`` ...). Images of another size are resized with
    ``INTER_AREA``. Contempt (and other classes outside FER2013) and unreadable files are
    skipped, counted in :attr:`FaceSet.dropped` and reported in a warning. Files are read in
    sorted order, so loading is deterministic.
    """
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: is not a folder; {LAYOUTS}")
    faces = _Faces(root)
    for split, class_dirs in _class_folders(root):
        for class_dir in class_dirs:
            faces.read_class(class_dir, split)
    return faces.finish()


def _split_key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _class_folders(root: Path) -> list[tuple[int, list[Path]]]:
    """(split index, class folders) for each split folder, or (-1, the class folders) without splits."""
    top = _subdirs(root)
    if not top:
        raise DataError(f"{root}: holds no subfolders; {LAYOUTS}")
    split_dirs = [d for d in top if _split_key(d.name) in SPLIT_FOLDERS]
    if not split_dirs:
        return [(-1, top)]
    others = [d.name for d in top if d not in split_dirs]
    if others:
        raise DataError(
            f"{root}: mixes split folders ({', '.join(d.name for d in split_dirs)}) with other folders "
            f"({', '.join(others)}); {LAYOUTS}"
        )
    groups = []
    for d in split_dirs:
        classes = _subdirs(d)
        if not classes:
            raise DataError(f"{d}: split folder holds no class subfolders; {LAYOUTS}")
        groups.append((SPLIT_FOLDERS[_split_key(d.name)], classes))
    return groups


class _Faces(FaceCollector):
    """The faces read so far, and the files skipped (counted per reason, a few names each)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def read_class(self, class_dir: Path, split: int) -> None:
        try:
            label = class_index(class_dir.name)
        except KeyError:
            raise DataError(
                f"{class_dir}: folder name {class_dir.name!r} is not an emotion class edgeemo knows; "
                f"accepted names (any case): {', '.join(sorted(_SYNONYMS))}"
            ) from None
        files = sorted((p for p in class_dir.iterdir() if p.is_file() and not p.name.startswith(".")),
                       key=lambda p: p.name)
        pictures = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        for p in files:
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                self.drop(REASON_NOT_IMAGE, str(p.relative_to(self.root)))
        if label == EXCLUDED:
            if pictures:
                self.drop(REASON_EXCLUDED, f"{class_dir.relative_to(self.root)}/ ({len(pictures)} files)",
                          len(pictures))
            return
        for p in pictures:
            img = _read_gray(p)
            if img is None:
                self.drop(REASON_UNREADABLE, str(p.relative_to(self.root)))
                continue
            self.add(img, label, split)

    def finish(self) -> FaceSet:
        if not self.images:
            detail = f" (skipped: {self.problems()})" if self.dropped else ""
            raise DataError(f"{self.root}: no readable images found{detail}; {LAYOUTS}")
        return self.face_set(str(self.root), "file(s)")
