"""``edgeemo analyze`` and :class:`edgeemo.Analyzer` on photos generated at test time.

Real FER2013 PublicTest faces (labels confirmed by the FER+ crowd majority) are pasted at known
places, sizes and rolls onto textured backgrounds, several per photo; the photos, a video and a
folder-per-class tree are written to a temporary folder (never committed). Needs ``$EDGEEMO_DATA``.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeemo.labels import CLASSES, FERPLUS_TO_FER7


def _iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.fixture(scope="module")
def clean_faces(fer_npz: Path) -> tuple[np.ndarray, np.ndarray]:
    """PublicTest faces whose FER2013 label the FER+ majority confirms: 12 per class, classes interleaved."""
    with np.load(fer_npz) as d:
        labels = d["labels"].astype(np.int64)
        fp = d["ferplus_majority"].astype(np.int64)
        fp7 = np.where(fp >= 0, FERPLUS_TO_FER7[np.clip(fp, 0, None)], -1)
        ok = (d["split_id"] == 1) & (d["pixel_source"] == 0) & (d["label_flag"] == 0) & (fp7 == labels)
        rng = np.random.default_rng(13)
        idx = np.stack([rng.choice(np.flatnonzero(ok & (labels == c)), 12, replace=False) for c in range(7)], 1)
        idx = idx.reshape(-1)
        return d["images"][idx], labels[idx]


@pytest.fixture(scope="module")
def photos(clean_faces):
    """Eight 640×480 photos, three faces each (80-150 px, rolled up to ±20°), and where each face went."""
    from edgeemo.demo.synth import compose_photo

    faces, labels = clean_faces
    rng = np.random.default_rng(5)
    out = []
    for k in range(8):
        sel = slice(3 * k, 3 * k + 3)
        out.append(compose_photo(faces[sel], labels[sel], rng, sizes=(80, 150), max_angle=20.0))
    return out


@pytest.fixture(scope="module")
def analyzer():
    from edgeemo import Analyzer

    an = Analyzer(threads=1)
    yield an
    an.close()


def _matches(result, placements, min_iou: float = 0.3) -> dict[int, int]:
    """Placement index -> face index, by the best box overlap (each face used once)."""
    used, out = set(), {}
    for k, pl in enumerate(placements):
        best = max(((_iou(f.box, pl.box), j) for j, f in enumerate(result.faces) if j not in used), default=(0, -1))
        if best[0] >= min_iou:
            used.add(best[1])
            out[k] = best[1]
    return out


def test_faces_found_at_their_places_with_landmarks_inside(analyzer, photos):
    found = total = 0
    extra = 0
    for img, placements in photos:
        res = analyzer.analyze(img)
        assert (res.width, res.height) == (640, 480) and res.ok
        m = _matches(res, placements)
        found += len(m)
        total += len(placements)
        extra += len(res.faces) - len(m)
        for k, j in m.items():
            face, quad = res.faces[j], placements[k].quad
            assert face.landmarks.shape == (5, 2) and face.crop.shape == (4, 2)
            eye = tuple(map(float, face.landmarks[0]))
            inside = cv2.pointPolygonTest(quad.astype(np.float32).reshape(-1, 1, 2), eye, False)
            assert inside >= 0, (face.landmarks, quad)  # the eye lies on the pasted face
            assert face.label in CLASSES and abs(sum(face.probs.values()) - 1) < 1e-4
        sizes = [f.box[2] * f.box[3] for f in res.faces]
        assert sizes == sorted(sizes, reverse=True)  # largest first
    print(f"\nfound {found}/{total} pasted faces, {extra} other detections")
    assert found >= 0.85 * total
    assert extra <= 2  # the textured background is not taken for faces


def test_aligned_crops_undo_the_roll_and_match_fers_framing(analyzer, photos, clean_faces):
    """Labels of aligned crops agree with the labels the model gives FER's own crops of the same faces."""
    faces, _ = clean_faces
    agree = n = 0
    for k, (img, placements) in enumerate(photos):
        res = analyzer.analyze(img)
        own = analyzer.classifier.predict(faces[3 * k:3 * k + 3])
        for p, j in _matches(res, placements).items():
            agree += res.faces[j].label == own[p].label
            n += 1
    print(f"\nlabel agreement with FER's own crops: {agree}/{n}")
    assert agree >= 0.7 * n  # box crops of rolled faces agree far less (benchmarks/results/align_template.md)


def test_array_inputs_gray_bgr_bgra_and_floats_give_the_same_faces(analyzer, photos):
    img, _ = photos[0]
    bgr = analyzer.analyze(img)
    bgra = analyzer.analyze(cv2.cvtColor(img, cv2.COLOR_BGR2BGRA))
    floats = analyzer.analyze(img.astype(np.float32) / 255.0)
    gray = analyzer.analyze(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    gray1 = analyzer.analyze(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None])
    assert [f.box for f in bgra.faces] == [f.box for f in bgr.faces] == [f.box for f in floats.faces]
    assert [f.box for f in gray.faces] == [f.box for f in gray1.faces]
    assert len(gray.faces) == len(bgr.faces)
    for g, c in zip(gray.faces, bgr.faces):
        assert _iou(g.box, c.box) > 0.7
    from edgeemo.analysis.inputs import InputError

    for bad, why in ((img.astype(np.float32), r"\[0, 1\]"), (img.astype(np.int32), "pixel type"),
                     (np.zeros((5, 5, 2), np.uint8), "not an image")):
        with pytest.raises(InputError, match=why):
            analyzer.analyze(bad)


def test_no_face_photo_and_many_photos_batched_in_order(analyzer, photos):
    from edgeemo.demo.synth import background

    empty = background(640, 480, np.random.default_rng(1))
    assert analyzer.analyze(empty).faces == []
    images = [photos[0][0], empty, photos[1][0], "missing.jpg", photos[2][0]]
    analyzer.batch_size = 4  # several batches, faces of several photos in each
    try:
        results = list(analyzer.analyze_many(images))
    finally:
        analyzer.batch_size = 64
    assert [r.source for r in results] == ["<array 0>", "<array 1>", "<array 2>", "missing.jpg", "<array 4>"]
    assert results[1].faces == [] and "missing.jpg" in results[3].error
    for r, (img, _) in zip([results[0], results[2], results[4]], photos[:3]):
        one = analyzer.analyze(img)
        assert [f.box for f in r.faces] == [f.box for f in one.faces]
        assert [f.label for f in r.faces] == [f.label for f in one.faces]
        assert r.ms > 0 and set(r.stages_ms) == {"read", "detect", "crop", "infer"}


@pytest.fixture(scope="module")
def photo_tree(tmp_path_factory, clean_faces):
    """ROOT/<class>/photo_N.png: one large face of the folder's class and two small faces of other
    classes per photo, a no-face photo, a photo in contempt/, a corrupt JPEG and a text file with a
    .jpg name."""
    from edgeemo.demo.synth import background, paste_face

    faces, labels = clean_faces
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(8)
    truth = {}
    for c in range(7):
        (root / CLASSES[c]).mkdir()
        big = np.flatnonzero(labels == c)[:3]
        for n, i in enumerate(big):
            img = background(640, 480, rng)
            paste_face(img, faces[i], (200, 240), 180, float(rng.uniform(-10, 10)))
            others = rng.choice(np.flatnonzero(labels != c), 2, replace=False)
            paste_face(img, faces[others[0]], (470, 130), 90)
            paste_face(img, faces[others[1]], (480, 360), 90)
            path = root / CLASSES[c] / f"photo_{n}.png"
            cv2.imwrite(str(path), img)
            truth[str(path)] = (c, (110, 150, 180, 180))
    cv2.imwrite(str(root / "neutral" / "empty.png"), background(640, 480, rng))
    (root / "contempt").mkdir()  # a class outside the seven: left out and counted
    cv2.imwrite(str(root / "contempt" / "smirk.png"), background(320, 240, rng))
    ok, jpg = cv2.imencode(".jpg", background(320, 240, rng))
    (root / "happy" / "corrupt.jpg").write_bytes(jpg.tobytes()[: len(jpg) // 3])
    (root / "sad" / "notes.jpg").write_text("not an image")
    return root, truth


def _cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeemo.cli", "analyze", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_scores_the_largest_face_against_folders_and_goes_on_past_bad_files(photo_tree, tmp_path):
    root, truth = photo_tree
    out, table, ann = tmp_path / "out.json", tmp_path / "faces.csv", tmp_path / "annotated"
    proc = _cli(str(root), "--labels-from-folders", "--json", str(out), "--csv", str(table),
                "--save-annotated", str(ann), "--threads", "1")
    assert proc.returncode == 1, proc.stderr  # two files failed; the rest was analyzed
    assert "corrupt.jpg" in proc.stderr and "notes.jpg" in proc.stderr and "2 input(s)" in proc.stderr
    assert "INT8" in proc.stderr or "FP32" in proc.stderr  # the precision choice is printed
    doc = json.loads(out.read_text())
    bad = {str(root / "happy" / "corrupt.jpg"), str(root / "sad" / "notes.jpg")}
    assert {e["source"] for e in doc["errors"]} == bad
    assert doc["metadata"]["precision"] in ("int8", "fp32") and doc["metadata"]["precision_choice"]["how"]
    assert doc["metadata"]["detector"]["name"] == "yunet" and doc["metadata"]["crops"]["aligned"]
    images = {im["source"]: im for im in doc["images"]}
    assert len(images) == 22
    right = found = 0
    for src, (c, big_box) in truth.items():
        faces = images[src]["faces"]
        big = [j for j, f in enumerate(faces) if _iou(f["box"], big_box) > 0.4]
        assert big in ([], [0])  # the large face, when found, comes first
        found += len(big)
        right += bool(faces) and faces[0]["label"] == CLASSES[c]
    assert found >= 0.8 * len(truth)
    assert images[str(root / "neutral" / "empty.png")]["faces"] == []
    s = doc["summary"]
    assert s["n"] == 22 and s["no_face"] == 1 and s["unreadable"] == 2 and s["excluded"] == 1
    assert s["detected"] == pytest.approx(21 / 22)
    assert s["accuracy"] == pytest.approx(right / 22)  # the largest face is each photo's answer
    assert set(s) >= {"balanced_accuracy", "macro_f1", "per_class", "confusion"}
    assert sum(map(sum, s["confusion"])) == 21  # the no-face photo counts wrong, in no column
    print(f"\nlarge face found in {found}/21 photos, right in {right}; summary acc {s['accuracy']:.3f}")
    assert right >= 0.5 * 21  # the model on clean, large FER faces (chance: 1/7)
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == sum(max(1, len(im["faces"])) for im in doc["images"])
    assert {r["label"] for r in rows if r["face"] == "0"} <= set(CLASSES)
    assert len(list(ann.rglob("*.jpg"))) == 22 and (ann / "happy" / "photo_0.jpg").exists()


def test_cli_video_every_nth_frame_globs_and_haar_without_alignment(photos, tmp_path):
    img, placements = photos[3]
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (640, 480))
    for t in range(12):
        writer.write(np.roll(img, 3 * t, axis=1))
    writer.release()
    cv2.imwrite(str(tmp_path / "still.png"), img)
    out = tmp_path / "v.json"
    proc = _cli(str(video), str(tmp_path / "*.png"), "--every", "5", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    frames = [(Path(im["source"]).name, im["frame"]) for im in doc["images"]]
    assert frames == [("clip.mp4", 0), ("clip.mp4", 5), ("clip.mp4", 10), ("still.png", None)]
    still = len(doc["images"][-1]["faces"])
    assert still >= 2 and all(abs(len(im["faces"]) - still) <= 1 for im in doc["images"])
    proc = _cli(str(tmp_path / "still.png"), "--detector", "haar", "--no-align")
    assert proc.returncode == 0, proc.stderr
    assert "still.png:" in proc.stdout and "box crops" in proc.stderr


def test_cli_errors_are_one_line(tmp_path):
    proc = _cli(str(tmp_path / "nothing-here"))
    assert proc.returncode == 2 and "nothing to analyze" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "loose.png").write_bytes(b"")
    proc = _cli(str(tmp_path / "loose.png"), "--labels-from-folders")
    assert proc.returncode == 2 and "not in a folder named after an emotion class" in proc.stderr
