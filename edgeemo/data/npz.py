"""``.npz`` face sets: edgeemo's shared-data format and any plain images+labels file."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..faces import to_uint8
from ..labels import CLASSES, EXCLUDED, FERPLUS_CLASSES, class_index, ferplus_soft_labels, remap
from .dataset import SPLITS, FaceSet

# String arrays kept as row names (FaceSet.names), for matching rows with answers kept elsewhere.
NAME_KEYS = ("ferplus_image_name", "msambare_filename", "filenames")


class _Arrays:
    """Reads members of an open .npz, turning a damaged member into a :class:`DataError`."""

    def __init__(self, npz: np.lib.npyio.NpzFile, path: Path) -> None:
        self._npz, self._path = npz, path

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._npz[key]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            if "allow_pickle" in str(exc):
                raise DataError(f"{self._path}: the {key!r} array holds Python objects, which edgeemo never "
                                "loads (unpickling can run code); store numbers or strings instead") from exc
            raise DataError(f"{self._path}: the {key!r} array is damaged ({exc})") from exc


def _int_array(arr: np.ndarray, key: str, path: Path) -> np.ndarray:
    """Whole-number class or split indices as int64; anything else is a :class:`DataError`."""
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        return arr.astype(np.int64)
    raise DataError(f"{path}: {key!r} must hold whole-number indices, got {arr.dtype} values; "
                    "store class indices (with 'class_names' for their order) or class names")


def _labels_by_name(arr: np.ndarray, path: Path) -> np.ndarray:
    """Labels given as class names (strings), mapped to FER7 indices by name."""
    try:
        names = [str(v) for v in arr.tolist()]
        table = {n: class_index(n) for n in set(names)}
    except KeyError as exc:
        raise DataError(f"{path}: 'labels' holds a class name edgeemo cannot map: {exc}") from exc
    return np.array([table[n] for n in names], dtype=np.int64)


def load_npz(path: str | Path, *, labels: str = "fer2013") -> FaceSet:
    """Load an ``.npz`` holding ``images`` (N×H×W uint8) and labels.

    Understood keys: ``labels`` (with ``class_names`` giving their order; FER2013 order when
    absent), ``labels_fer7`` (already in FER2013 order, preferred when present),
    ``split_id``/``split`` (``split_names``), ``pixel_source`` (rows other than 0 are
    dropped and counted), row names (:data:`NAME_KEYS`, as ``FaceSet.names``) and
    ``ferplus_votes`` (soft labels; ``labels="ferplus"`` trains and
    scores on the FER+ majority instead of the original FER2013 label).
    """
    path = Path(path)
    z, keys = _open(path)
    images = _images(z, path)
    n = len(images)
    soft = ferplus_soft_labels(z["ferplus_votes"]) if "ferplus_votes" in keys else None
    y = _labels(z, keys, path, labels)
    if len(y) != n:
        raise DataError(f"{path}: {len(y)} labels for {n} images")
    split = _splits(z, keys, n, path)
    dropped: dict[str, int] = {}
    keep = _kept_rows(z, keys, y, dropped)
    names = {k: z[k].astype(str) for k in NAME_KEYS if k in keys}
    for k, v in names.items():
        if v.shape != (n,):
            raise DataError(f"{path}: {k!r} must hold one name per image ({n}), got shape {v.shape}")
    fs = FaceSet(images=images, labels=y, split=split, source=str(path), soft=soft, names=names)
    out = fs.subset(keep) if not keep.all() else fs
    out.dropped = dropped
    return out


def _open(path: Path) -> tuple[_Arrays, set[str]]:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes); copy or convert the dataset again")
    with path.open("rb") as f:
        head = f.read(6)
    if not head.startswith((b"PK", b"\x93NUMPY")):
        # numpy reports any other content as "pickled data" and suggests allow_pickle: never the advice to give.
        raise DataError(f"{path}: not a readable .npz file: it does not start like a zip archive, as every .npz "
                        "does; write the dataset with numpy.savez or numpy.savez_compressed")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc}); is it a complete numpy .npz archive?") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds a single array (.npy), not an .npz archive of named arrays")
    keys = set(npz.files)
    if "images" not in keys:
        raise DataError(f"{path}: no 'images' array (found: {', '.join(sorted(keys)) or 'nothing'})")
    return _Arrays(npz, path), keys


def _images(z: _Arrays, path: Path) -> np.ndarray:
    """N×H×W uint8 under the input contract (a trailing channel of 1 dropped)."""
    images = z["images"]
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise DataError(f"{path}: 'images' must be N×H×W grayscale, got shape {images.shape}")
    if len(images) == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise DataError(f"{path}: 'images' holds no faces (shape {images.shape})")
    return to_uint8(images, f"{path}: 'images'")


def _labels(z: _Arrays, keys: set[str], path: Path, labels: str) -> np.ndarray:
    """FER7 labels (``EXCLUDED`` for classes outside them) from whichever label array applies."""
    if labels == "ferplus":
        if "ferplus_majority" not in keys:
            raise DataError(f"{path}: labels='ferplus' needs a 'ferplus_majority' array")
        fer_names = (
            [str(c) for c in z["ferplus_class_names"]] if "ferplus_class_names" in keys else list(FERPLUS_CLASSES)
        )
        raw = _int_array(z["ferplus_majority"], "ferplus_majority", path)
        y = remap(raw, fer_names)
        y[raw < 0] = EXCLUDED
        return y
    if "labels_fer7" in keys:
        return _int_array(z["labels_fer7"], "labels_fer7", path)
    if "labels" not in keys:
        raise DataError(f"{path}: no 'labels' or 'labels_fer7' array")
    if z["labels"].dtype.kind in "USO":
        return _labels_by_name(z["labels"], path)
    raw = _int_array(z["labels"], "labels", path)
    names = [str(c) for c in z["class_names"]] if "class_names" in keys else list(CLASSES)
    try:
        y = remap(raw, names)
    except KeyError as exc:
        raise DataError(f"{path}: class_names holds a class edgeemo cannot map: {exc}") from exc
    bad = (raw < 0) | (raw >= len(names))
    if bad.any():
        raise DataError(
            f"{path}: {int(bad.sum())} labels fall outside 0..{len(names) - 1} "
            f"(first at row {int(np.flatnonzero(bad)[0])})"
        )
    return y


def _splits(z: _Arrays, keys: set[str], n: int, path: Path) -> np.ndarray:
    """Each row's index in :data:`SPLITS` (``-1`` where the file says none)."""
    if "split_id" in keys:
        split = _int_array(z["split_id"], "split_id", path).astype(np.int8)
        if "split_names" in keys:
            names = [str(s) for s in z["split_names"]]
            order = np.array([SPLITS.index(s) if s in SPLITS else -1 for s in names], dtype=np.int8)
            split = np.where(split >= 0, order[np.clip(split, 0, len(order) - 1)], -1).astype(np.int8)
        return split
    if "split" in keys and z["split"].dtype.kind in "US":
        return np.array([SPLITS.index(s) if s in SPLITS else -1 for s in z["split"]], dtype=np.int8)
    return np.full(n, -1, dtype=np.int8)


def _kept_rows(z: _Arrays, keys: set[str], y: np.ndarray, dropped: dict[str, int]) -> np.ndarray:
    """Rows to keep: not altered (``pixel_source != 0``) and inside the 7 classes; the others are counted."""
    keep = np.ones(len(y), dtype=bool)
    if "pixel_source" in keys:
        lossy = z["pixel_source"] != 0
        if lossy.any():
            dropped["altered pixels (pixel_source != 0)"] = int(lossy.sum())
        keep &= ~lossy
    excluded = (y == EXCLUDED) & keep
    if excluded.any():
        dropped["class outside the 7 FER2013 classes (e.g. contempt)"] = int(excluded.sum())
    return keep & (y != EXCLUDED)
