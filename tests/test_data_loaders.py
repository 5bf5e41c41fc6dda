"""Dataset loaders: Kaggle csv, image folders, npz, and load_dataset's dispatch.

Format tests write tiny generated fixtures into tmp_path; the real-data tests at the end use
$EDGEEMO_DATA and skip without it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import synthetic_faces

from edgeemo.data import load_dataset, load_npz
from edgeemo.data.fer_csv import REASON_COUNT, REASON_VALUES, load_fer2013_csv
from edgeemo.data.folders import REASON_EXCLUDED, REASON_UNREADABLE, load_image_folder
from edgeemo.errors import DataError
from edgeemo.labels import CLASSES, MUXSPACE_CLASSES

USAGES = ("Training", "PublicTest", "PrivateTest")


# ----------------------------------------------------------------------------- csv


def pixel_string(img: np.ndarray) -> str:
    return " ".join(str(int(v)) for v in img.ravel())


def write_csv(path: Path, rows: list[list[str]], header=("emotion", "pixels", "Usage")) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def good_rows(n: int, seed: int = 0, usage: bool = True) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    images, labels = synthetic_faces(n, seed=seed)
    rows = [[str(int(y)), pixel_string(img)] + ([USAGES[i % 3]] if usage else []) for i, (img, y) in
            enumerate(zip(images, labels, strict=True))]
    return rows, images, labels


def test_csv_round_trip(tmp_path):
    rows, images, labels = good_rows(12)
    path = write_csv(tmp_path / "fer2013.csv", rows)
    fs = load_fer2013_csv(path)
    assert fs.images.dtype == np.uint8 and fs.images.shape == (12, 48, 48)
    np.testing.assert_array_equal(fs.images, images)
    np.testing.assert_array_equal(fs.labels, labels)
    np.testing.assert_array_equal(fs.split, [i % 3 for i in range(12)])
    assert fs.dropped == {}
    assert fs.source == str(path)
    assert len(fs.get_split("PrivateTest")) == 4


def test_csv_through_load_dataset(tmp_path):
    rows, images, _ = good_rows(3)
    fs = load_dataset(write_csv(tmp_path / "faces.CSV", rows))
    np.testing.assert_array_equal(fs.images, images)


def test_csv_without_usage_has_no_split(tmp_path):
    rows, images, labels = good_rows(5, usage=False)
    fs = load_fer2013_csv(write_csv(tmp_path / "plain.csv", rows, header=("emotion", "pixels")))
    np.testing.assert_array_equal(fs.labels, labels)
    assert (fs.split == -1).all()
    with pytest.raises(DataError, match="no split information"):
        fs.get_split("Training")


def test_csv_icml_headers_with_spaces(tmp_path):
    # icml_face_data.csv spells its header "emotion, Usage, pixels"
    rows, images, labels = good_rows(4)
    rows = [[r[0], r[2], r[1]] for r in rows]
    fs = load_fer2013_csv(write_csv(tmp_path / "icml_face_data.csv", rows, header=("emotion", " Usage", " pixels")))
    np.testing.assert_array_equal(fs.images, images)
    np.testing.assert_array_equal(fs.split, [0, 1, 2, 0])


def test_csv_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match="nope.csv: no such file"):
        load_fer2013_csv(path)


def test_csv_missing_columns_names_missing_and_found(tmp_path):
    path = write_csv(tmp_path / "cols.csv", [["3", "Training"]], header=("emotion", "Usage"))
    with pytest.raises(DataError) as err:
        load_fer2013_csv(path)
    msg = str(err.value)
    assert "cols.csv" in msg and "missing column(s) pixels" in msg
    assert "'emotion'" in msg and "'Usage'" in msg


def test_csv_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        load_fer2013_csv(path)


def test_csv_header_only(tmp_path):
    path = write_csv(tmp_path / "header.csv", [])
    with pytest.raises(DataError, match="header.csv: no data rows"):
        load_fer2013_csv(path)


@pytest.mark.parametrize("bad", ["7", "-1", "happy", ""])
def test_csv_label_outside_range(tmp_path, bad):
    rows, _, _ = good_rows(3)
    rows[1][0] = bad
    path = write_csv(tmp_path / "labels.csv", rows)
    with pytest.raises(DataError) as err:
        load_fer2013_csv(path)
    msg = str(err.value)
    assert "labels.csv: line 3" in msg and f"emotion {bad!r}" in msg and "0..6" in msg


def test_csv_unknown_usage(tmp_path):
    rows, _, _ = good_rows(2)
    rows[0][2] = "Holdout"
    with pytest.raises(DataError, match="usage.csv: line 2: Usage 'Holdout'"):
        load_fer2013_csv(write_csv(tmp_path / "usage.csv", rows))


def test_csv_corrupt_rows_skipped_and_counted(tmp_path):
    rows, images, labels = good_rows(10)
    rng = np.random.default_rng(1)
    rows[1][1] = " ".join(["7"] * 2000)                                     # line 3: not a square
    rows[4][1] = pixel_string(rng.integers(0, 256, (64, 64)))               # line 6: 64×64, not 48×48
    rows[5][1] = rows[5][1].replace(" ", " 12.5 ", 1)[: len(rows[5][1])]    # line 7: non-integer
    rows[6][1] = " ".join(["300"] + ["0"] * 2303)                           # line 8: out of range
    rows[8][1] = ""                                                         # line 10: empty
    with pytest.warns(UserWarning) as rec:
        fs = load_fer2013_csv(write_csv(tmp_path / "corrupt.csv", rows))
    keep = [0, 2, 3, 7, 9]
    np.testing.assert_array_equal(fs.images, images[keep])
    np.testing.assert_array_equal(fs.labels, labels[keep])
    np.testing.assert_array_equal(fs.split, [i % 3 for i in keep])
    assert fs.dropped == {REASON_COUNT: 3, REASON_VALUES: 2}
    msg = str(rec[0].message)
    assert "corrupt.csv" in msg and "skipped 5 corrupt row(s)" in msg
    for text in ("line 3 (2000 values, not a square image)", "line 6 (4096 values = a 64×64 image",
                 "line 7 (non-integer value '12.5')", "line 8 (value 300 outside 0..255)", "line 10 (empty"):
        assert text in msg


def test_csv_fast_path_does_not_accept_signs(tmp_path):
    # "+" and "-" tokens: numpy's text parser would read "1 + 2" as two values
    rows, _, _ = good_rows(2)
    rows[0][1] = rows[0][1] + " +"
    rows[1][1] = "-3 " + " ".join(["0"] * 2303)
    with pytest.raises(DataError) as err:
        load_fer2013_csv(write_csv(tmp_path / "signs.csv", rows))
    msg = str(err.value)
    assert "2305 values, not a square image" in msg and "value -3 outside 0..255" in msg


def test_csv_all_rows_wrong_size_is_an_error(tmp_path):
    rng = np.random.default_rng(2)
    rows = [[str(i % 7), pixel_string(rng.integers(0, 256, (64, 64))), "Training"] for i in range(3)]
    with pytest.raises(DataError) as err:
        load_fer2013_csv(write_csv(tmp_path / "big.csv", rows))
    msg = str(err.value)
    assert "big.csv" in msg and "every row is corrupt" in msg and "64×64 image, expected 48×48" in msg
    assert "line 2" in msg and "line 4" in msg


def test_csv_all_rows_non_integer_is_an_error(tmp_path):
    rows = [[str(i % 7), " ".join(["0.5"] * 2304), "Training"] for i in range(3)]
    with pytest.raises(DataError, match=r"floats.csv: no usable row.*non-integer value '0\.5'"):
        load_fer2013_csv(write_csv(tmp_path / "floats.csv", rows))


def test_csv_truncated_last_row(tmp_path):
    rows, images, _ = good_rows(4)
    path = write_csv(tmp_path / "cut.csv", rows)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 3000])  # cut in the middle of the last pixel string
    with pytest.warns(UserWarning, match="line 5"):
        fs = load_fer2013_csv(path)
    assert len(fs) == 3 and fs.dropped == {REASON_COUNT: 1}
    np.testing.assert_array_equal(fs.images, images[:3])


# ----------------------------------------------------------------------------- image folders


def write_png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def test_folder_kaggle_layout(tmp_path):
    faces, _ = synthetic_faces(9, seed=3)
    plan = [  # (split folder, class folder, expected split, expected label)
        ("train", "angry", 0, 0), ("train", "angry", 0, 0), ("train", "happy", 0, 3), ("train", "surprise", 0, 5),
        ("test", "angry", 2, 0), ("test", "neutral", 2, 6), ("test", "neutral", 2, 6),
        ("validation", "sad", 1, 4), ("validation", "fear", 1, 2),
    ]
    for i, (split, cls, _, _) in enumerate(plan):
        write_png(tmp_path / split / cls / f"im{i:03d}.png", faces[i])
    fs = load_image_folder(tmp_path)
    # deterministic order: split folders, class folders and files sorted by name
    order = sorted(range(len(plan)), key=lambda i: (plan[i][0], plan[i][1], i))
    np.testing.assert_array_equal(fs.images, faces[order])
    np.testing.assert_array_equal(fs.labels, [plan[i][3] for i in order])
    np.testing.assert_array_equal(fs.split, [plan[i][2] for i in order])
    assert fs.split_counts() == {"Training": 4, "PublicTest": 2, "PrivateTest": 3}
    assert fs.dropped == {}
    assert len(load_dataset(tmp_path).get_split("test")) == 3


def test_folder_kaggle_jpgs(tmp_path):
    faces, _ = synthetic_faces(4, seed=4)
    for i, cls in enumerate(["disgust", "fear", "disgust", "sad"]):
        split = "train" if i < 2 else "test"
        (tmp_path / split / cls).mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(tmp_path / split / cls / f"PrivateTest_{i}.jpg"), faces[i])
    fs = load_image_folder(tmp_path)
    assert fs.images.shape == (4, 48, 48) and fs.images.dtype == np.uint8
    # "test" sorts before "train": test/disgust, test/sad, train/disgust, train/fear
    np.testing.assert_array_equal(fs.labels, [1, 4, 1, 2])
    np.testing.assert_array_equal(fs.split, [2, 2, 0, 0])


def test_folder_per_class_layout(tmp_path):
    faces, _ = synthetic_faces(6, seed=5)
    big = np.random.default_rng(6).integers(0, 256, (64, 64), dtype=np.uint8)
    color = np.random.default_rng(7).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    write_png(tmp_path / "Happiness" / "a.png", faces[0])
    write_png(tmp_path / "Happiness" / "b.bmp", faces[1])
    write_png(tmp_path / "anger" / "x.PNG", faces[2])
    write_png(tmp_path / "anger" / "y.png", big)             # resized to 48×48
    write_png(tmp_path / "Neutral" / "c.png", color)         # read as grayscale
    (tmp_path / "Neutral" / "d.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")  # corrupt
    (tmp_path / "Neutral" / "e.png").write_bytes(b"")                                       # empty
    write_png(tmp_path / "contempt" / "f.png", faces[3])
    write_png(tmp_path / "contempt" / "g.png", faces[4])
    with pytest.warns(UserWarning) as rec:
        fs = load_image_folder(tmp_path)
    # class folders sorted by name: Happiness, Neutral, anger, contempt
    np.testing.assert_array_equal(fs.labels, [3, 3, 6, 0, 0])
    assert (fs.split == -1).all()
    np.testing.assert_array_equal(fs.images[0], faces[0])
    np.testing.assert_array_equal(fs.images[1], faces[1])
    np.testing.assert_array_equal(fs.images[2], cv2.imread(str(tmp_path / "Neutral" / "c.png"), cv2.IMREAD_GRAYSCALE))
    np.testing.assert_array_equal(fs.images[3], faces[2])
    np.testing.assert_array_equal(fs.images[4], cv2.resize(big, (48, 48), interpolation=cv2.INTER_AREA))
    assert fs.dropped == {REASON_UNREADABLE: 2, REASON_EXCLUDED: 2}
    msg = str(rec[0].message)
    assert str(tmp_path) in msg and "d.jpg" in msg and "e.png" in msg and "contempt" in msg


def test_folder_non_image_files_counted(tmp_path):
    faces, _ = synthetic_faces(1, seed=8)
    write_png(tmp_path / "sad" / "a.png", faces[0])
    (tmp_path / "sad" / "notes.txt").write_text("hello")
    (tmp_path / "sad" / ".DS_Store").write_bytes(b"\0")  # hidden files are not data
    with pytest.warns(UserWarning, match="notes.txt"):
        fs = load_image_folder(tmp_path)
    assert len(fs) == 1 and sum(fs.dropped.values()) == 1


def test_folder_unknown_class(tmp_path):
    faces, _ = synthetic_faces(2, seed=9)
    write_png(tmp_path / "happy" / "a.png", faces[0])
    write_png(tmp_path / "bored" / "b.png", faces[1])
    with pytest.raises(DataError) as err:
        load_image_folder(tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "bored") in msg and "'bored'" in msg
    assert "accepted names" in msg and "happiness" in msg and "surprise" in msg


def test_folder_unknown_class_inside_split(tmp_path):
    faces, _ = synthetic_faces(1, seed=10)
    write_png(tmp_path / "train" / "smirk" / "a.png", faces[0])
    with pytest.raises(DataError, match="smirk"):
        load_image_folder(tmp_path)


def test_folder_missing(tmp_path):
    with pytest.raises(DataError, match="nothere: no such folder"):
        load_image_folder(tmp_path / "nothere")


def test_folder_empty(tmp_path):
    with pytest.raises(DataError) as err:
        load_image_folder(tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg and "no subfolders" in msg and "ROOT/train/<class>" in msg and "ROOT/<class>" in msg


def test_folder_files_but_no_class_folders(tmp_path):
    faces, _ = synthetic_faces(1, seed=11)
    write_png(tmp_path / "a.png", faces[0])
    with pytest.raises(DataError, match="no subfolders; expected"):
        load_image_folder(tmp_path)


def test_folder_split_without_classes(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError, match="train: split folder holds no class subfolders"):
        load_image_folder(tmp_path)


def test_folder_mixed_layout(tmp_path):
    faces, _ = synthetic_faces(2, seed=12)
    write_png(tmp_path / "train" / "happy" / "a.png", faces[0])
    write_png(tmp_path / "sad" / "b.png", faces[1])
    with pytest.raises(DataError, match="mixes split folders"):
        load_image_folder(tmp_path)


def test_folder_no_readable_image(tmp_path):
    (tmp_path / "happy").mkdir()
    (tmp_path / "happy" / "a.jpg").write_bytes(b"garbage")
    (tmp_path / "sad").mkdir()
    with pytest.raises(DataError, match=r"no readable images found \(skipped: 1 × unreadable"):
        load_image_folder(tmp_path)


# ----------------------------------------------------------------------------- npz


def test_npz_plain(tmp_path):
    images, labels = synthetic_faces(10, seed=20)
    np.savez(tmp_path / "plain.npz", images=images, labels=labels)
    fs = load_npz(tmp_path / "plain.npz")
    np.testing.assert_array_equal(fs.images, images)
    np.testing.assert_array_equal(fs.labels, labels)
    assert (fs.split == -1).all() and fs.dropped == {} and fs.soft is None


def test_npz_class_names_in_muxspace_order(tmp_path):
    images, _ = synthetic_faces(8, seed=21)
    mux = np.arange(8)  # anger, contempt, disgust, fear, happiness, neutral, sadness, surprise
    np.savez(tmp_path / "mux.npz", images=images, labels=mux, class_names=np.array(MUXSPACE_CLASSES))
    fs = load_npz(tmp_path / "mux.npz")
    np.testing.assert_array_equal(fs.labels, [0, 1, 2, 3, 6, 4, 5])
    np.testing.assert_array_equal(fs.images, images[[0, 2, 3, 4, 5, 6, 7]])
    assert fs.dropped == {"class outside the 7 FER2013 classes (e.g. contempt)": 1}


def test_npz_class_names_unknown(tmp_path):
    images, _ = synthetic_faces(2, seed=22)
    np.savez(tmp_path / "odd.npz", images=images, labels=np.array([0, 1]), class_names=np.array(["happy", "bored"]))
    with pytest.raises(DataError, match="odd.npz: class_names holds a class edgeemo cannot map"):
        load_npz(tmp_path / "odd.npz")


def test_npz_labels_out_of_range(tmp_path):
    images, _ = synthetic_faces(3, seed=23)
    np.savez(tmp_path / "range.npz", images=images, labels=np.array([0, 9, 2]))
    with pytest.raises(DataError, match=r"range.npz: 1 labels fall outside 0..6 \(first at row 1\)"):
        load_npz(tmp_path / "range.npz")


def test_npz_split_id_with_names(tmp_path):
    images, labels = synthetic_faces(6, seed=24)
    split_id = np.array([0, 1, 2, 2, 1, 0], dtype=np.int8)
    names = np.array(["PrivateTest", "Training", "PublicTest"])  # not SPLITS' order
    np.savez(tmp_path / "split.npz", images=images, labels=labels, split_id=split_id, split_names=names)
    fs = load_npz(tmp_path / "split.npz")
    np.testing.assert_array_equal(fs.split, [2, 0, 1, 1, 0, 2])
    np.savez(tmp_path / "split2.npz", images=images, labels=labels, split_id=split_id)
    np.testing.assert_array_equal(load_npz(tmp_path / "split2.npz").split, split_id)
    np.savez(tmp_path / "split3.npz", images=images, labels=labels, split=np.array(names[split_id]))
    np.testing.assert_array_equal(load_npz(tmp_path / "split3.npz").split, [2, 0, 1, 1, 0, 2])


def test_npz_pixel_source_rows_dropped(tmp_path):
    images, labels = synthetic_faces(6, seed=25)
    source = np.array([0, 1, 0, 2, 0, 0], dtype=np.int8)
    np.savez(tmp_path / "px.npz", images=images, labels=labels, pixel_source=source)
    fs = load_npz(tmp_path / "px.npz")
    np.testing.assert_array_equal(fs.images, images[source == 0])
    np.testing.assert_array_equal(fs.labels, labels[source == 0])
    assert fs.dropped == {"altered pixels (pixel_source != 0)": 2}


def test_npz_float_images_scaled(tmp_path):
    images, labels = synthetic_faces(4, seed=26)
    np.savez(tmp_path / "f32.npz", images=images.astype(np.float32) / 255.0, labels=labels)
    np.savez(tmp_path / "f64.npz", images=images / 255.0, labels=labels)
    np.savez(tmp_path / "chan.npz", images=images[..., None], labels=labels)
    for name in ("f32.npz", "f64.npz", "chan.npz"):
        fs = load_npz(tmp_path / name)
        assert fs.images.dtype == np.uint8
        np.testing.assert_array_equal(fs.images, images)


def test_npz_ferplus_majority_without_class_names(tmp_path):
    images, _ = synthetic_faces(3, seed=27)
    # FER+ order: 0 neutral, 1 happiness, 7 contempt, -1 excluded
    np.savez(tmp_path / "fp.npz", images=images, labels=np.zeros(3), ferplus_majority=np.array([0, 1, 7]))
    fs = load_npz(tmp_path / "fp.npz", labels="ferplus")
    np.testing.assert_array_equal(fs.labels, [6, 3])


def test_npz_missing_images(tmp_path):
    np.savez(tmp_path / "noimg.npz", pixels=np.zeros((2, 48, 48), np.uint8), labels=np.array([0, 1]))
    with pytest.raises(DataError, match=r"noimg.npz: no 'images' array \(found: labels, pixels\)"):
        load_npz(tmp_path / "noimg.npz")


def test_npz_missing_labels(tmp_path):
    np.savez(tmp_path / "nolab.npz", images=np.zeros((2, 48, 48), np.uint8))
    with pytest.raises(DataError, match="nolab.npz: no 'labels' or 'labels_fer7' array"):
        load_npz(tmp_path / "nolab.npz")


def test_npz_truncated(tmp_path):
    images, labels = synthetic_faces(20, seed=28)
    path = tmp_path / "cut.npz"
    np.savez(path, images=images, labels=labels)
    path.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(DataError, match="cut.npz: not a readable .npz file"):
        load_npz(path)


def test_npz_damaged_member(tmp_path):
    images, labels = synthetic_faces(20, seed=29)
    for save in (np.savez, np.savez_compressed):
        path = tmp_path / f"damaged_{save.__name__}.npz"
        save(path, images=images, labels=labels)
        data = bytearray(path.read_bytes())
        data[200:1200] = bytes(1000)  # zero a stretch inside the 'images' member
        path.write_bytes(bytes(data))
        with pytest.raises(DataError, match=f"{path.name}: the 'images' array is damaged"):
            load_npz(path)


def test_npz_that_is_a_npy(tmp_path):
    path = tmp_path / "single.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((2, 48, 48), np.uint8))
    with pytest.raises(DataError, match="single.npz: holds a single array"):
        load_npz(path)


def test_npz_not_a_zip(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello")
    with pytest.raises(DataError, match="text.npz: not a readable .npz file: it does not start like a zip") as err:
        load_npz(path)
    assert "pickle" not in str(err.value)  # numpy's own message would suggest loading it unsafely


# ----------------------------------------------------------------------------- dispatch


def test_load_dataset_unknown_suffix(tmp_path):
    path = tmp_path / "faces.h5"
    path.write_bytes(b"\0")
    with pytest.raises(DataError, match=r"faces.h5: unknown data format '.h5'"):
        load_dataset(path)


def test_load_dataset_missing_path(tmp_path):
    with pytest.raises(DataError, match="missing.npz: no such file or folder"):
        load_dataset(tmp_path / "missing.npz")


def test_load_dataset_npz(tmp_path):
    images, labels = synthetic_faces(3, seed=30)
    with open(tmp_path / "d.NPZ", "wb") as f:  # np.savez would append ".npz" to a path
        np.savez(f, images=images, labels=labels)
    np.testing.assert_array_equal(load_dataset(tmp_path / "d.NPZ").labels, labels)


# ----------------------------------------------------------------------------- real shared data

OFFICIAL_COUNTS = {  # README: per split, angry/disgust/fear/happy/sad/surprise/neutral
    0: [3995, 436, 4097, 7215, 4830, 3171, 4965],
    1: [467, 56, 496, 895, 653, 415, 607],
    2: [491, 55, 528, 879, 594, 416, 626],
}


@pytest.fixture(scope="module")
def fer_loaded(fer_npz):
    return load_dataset(fer_npz), np.load(fer_npz, allow_pickle=False)


def test_real_fer2013_private_test_count(fer_loaded):
    fs, raw = fer_loaded
    private = raw["split_id"] == 2
    assert private.sum() == 3589
    altered = int((private & (raw["pixel_source"] != 0)).sum())
    assert altered > 0
    assert len(fs.get_split("PrivateTest")) == 3589 - altered
    assert fs.dropped == {"altered pixels (pixel_source != 0)": int((raw["pixel_source"] != 0).sum())}


def test_real_fer2013_class_counts_per_split(fer_loaded):
    fs, raw = fer_loaded
    split_id, labels, lossy = raw["split_id"], raw["labels"].astype(np.int64), raw["pixel_source"] != 0
    for s, official in OFFICIAL_COUNTS.items():
        in_split = split_id == s
        np.testing.assert_array_equal(np.bincount(labels[in_split], minlength=7), official)
        dropped = np.bincount(labels[in_split & lossy], minlength=7)
        got = np.bincount(fs.labels[fs.split == s], minlength=7)
        np.testing.assert_array_equal(got, np.array(official) - dropped, err_msg=f"split {s}")
    assert fs.images.shape[1:] == (48, 48) and fs.soft is not None and fs.soft.shape == (len(fs), len(CLASSES))


def test_real_muxspace(mux_npz):
    fs = load_dataset(mux_npz)
    raw = np.load(mux_npz, allow_pickle=False)
    labels, fer7 = raw["labels"].astype(np.int64), raw["labels_fer7"].astype(np.int64)
    assert len(labels) == 13682
    contempt = labels == MUXSPACE_CLASSES.index("contempt")
    assert contempt.sum() == 9 and (fer7[contempt] == -1).all()
    # besides the 9 contempt faces, one face whose labellers disagree carries label -1
    unlabelled = labels == -1
    assert unlabelled.sum() == 1 and raw["label_conflict"][unlabelled].all() and (fer7[unlabelled] == -1).all()
    assert len(fs) == 13682 - 9 - 1
    assert (fs.labels >= 0).all()
    np.testing.assert_array_equal(fs.labels, fer7[fer7 >= 0])
    assert fs.dropped == {"class outside the 7 FER2013 classes (e.g. contempt)": 10}
    assert (fs.split == -1).all()
