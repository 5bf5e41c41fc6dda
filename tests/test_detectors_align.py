"""The shipped face detector (its file, its checksum, what it returns), alignment and crops.

None of these need the real data: faces are drawn as landmark points or found in no-face images.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeemo.errors import EdgeemoError, ModelFileError


def test_shipped_yunet_is_the_published_file_with_its_licence_and_notice():
    from edgeemo.detectors import YUNET_FILE, YUNET_SHA256
    from edgeemo.filehash import file_sha256

    assert YUNET_SHA256 == "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
    assert file_sha256(YUNET_FILE) == YUNET_SHA256 and YUNET_FILE.stat().st_size == 232_589
    notice = (YUNET_FILE.parent / "NOTICE").read_text()
    assert "ShiqiYu/libfacedetection.train" in notice and "0047ac24afb1a50a0c6105001c89d1b5b805dbf1" in notice
    assert "Apache License" in (YUNET_FILE.parent / "LICENSE").read_text()


ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_package_data_ships_the_detector_and_every_shipped_model_file():
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["edgeemo"]
    pkg = ROOT / "edgeemo"
    shipped = {p.relative_to(pkg).as_posix() for pat in patterns for p in pkg.glob(pat)}
    from edgeemo.model_files import SHIPPED

    models = {f"assets/{f.name}" for s in SHIPPED.values() for f in (s.fp32, s.int8, s.record)}
    assert {"assets/yunet/yunet_s_640_640.onnx", "assets/yunet/LICENSE", "assets/yunet/NOTICE", *models} <= shipped


def test_the_licence_files_named_in_the_package_metadata_exist():
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert {"LICENSE", "edgeemo/assets/yunet/LICENSE", "edgeemo/assets/yunet/NOTICE"} == set(project["license-files"])
    assert all("Apache License" in (ROOT / f).read_text() for f in project["license-files"] if f.endswith("LICENSE"))


def test_a_damaged_or_swapped_detector_file_is_refused(tmp_path, monkeypatch):
    from edgeemo.detectors import YUNET_FILE, make_detector, yunet

    bad = tmp_path / "yunet_s_640_640.onnx"
    shutil.copyfile(YUNET_FILE, bad)
    with bad.open("r+b") as f:  # one flipped byte
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 0xFF]))
    monkeypatch.setattr(yunet, "YUNET_FILE", bad)
    with pytest.raises(ModelFileError, match="SHA-256.*damaged or was replaced"):
        make_detector("yunet")
    monkeypatch.setattr(yunet, "YUNET_FILE", tmp_path / "gone.onnx")
    with pytest.raises(ModelFileError, match="missing; reinstall edgeemo"):
        make_detector("yunet")


def test_detectors_on_an_empty_image_and_their_description():
    from edgeemo.detectors import make_detector

    empty = np.full((240, 320, 3), 128, np.uint8)
    yn = make_detector("yunet", detect_width=160)
    d = yn.detect(empty)
    assert len(d) == 0 and d.landmarks.shape == (0, 5, 2)
    assert len(yn.detect(empty[..., 0])) == 0  # gray is accepted
    desc = yn.describe()
    assert desc["shipped"] and desc["sha256"].startswith("8f2383e4") and desc["detect_width"] == 160
    assert make_detector("haar").describe()["name"] == "haar"
    with pytest.raises(EdgeemoError, match="unknown face detector"):
        make_detector("mtcnn")


def test_small_images_are_enlarged_for_yunet_but_thin_strips_never_become_huge():
    from edgeemo.detectors import make_detector

    yn = make_detector("yunet", detect_width=640)
    assert yn.detection_scale((100, 120, 3)) == pytest.approx(1.6)   # a small crop: shorter side to 160
    assert yn.detection_scale((3000, 4000, 3)) == pytest.approx(0.16)  # a photo: 640 wide
    for shape in [(1, 5000, 3), (20, 8000, 3), (120, 1000, 3), (40, 2000, 3)]:
        s = yn.detection_scale(shape)
        assert max(shape[:2]) * s <= 640 + 1e-9, shape  # not 160 / shorter side: 800,000 px for 1×5000
        assert len(yn.detect(np.full(shape, 128, np.uint8))) == 0
    assert len(yn.detect(np.zeros((8, 300, 3), np.uint8))) == 0  # shorter than min_face: nothing can fit


def test_yunet_finds_no_face_in_blank_or_noise_strips_of_any_size():
    """OpenCV's YuNet returns spurious boxes (even non-finite ones) for inputs under 64 px on a side;
    the detector pads them, so blank and noise images of thin or small shapes give no face."""
    from edgeemo.detectors import make_detector

    rng = np.random.default_rng(0)
    for width in (640, 0):
        yn = make_detector("yunet", detect_width=width)
        for h, w in [(16, 1000), (19, 5000), (19, 8000), (32, 640), (40, 2000), (13, 640), (60, 300), (16, 16)]:
            for img in (np.full((h, w, 3), 128, np.uint8), rng.integers(0, 256, (h, w, 3), dtype=np.uint8)):
                for image in (img, img.transpose(1, 0, 2).copy()):
                    assert len(yn.detect(image)) == 0, (image.shape, width)


def test_similarity_recovers_a_known_transform_and_ignores_zero_weights():
    from edgeemo.align import similarity

    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    a, s, t = np.deg2rad(23.0), 0.37, np.array([12.0, -4.0])
    rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = src @ rot.T + t
    m = similarity(src, dst)
    assert np.allclose(m[:, :2], rot, atol=1e-9) and np.allclose(m[:, 2], t, atol=1e-9)
    moved = dst.copy()
    moved[2] += 50  # an outlier with weight 0 changes nothing
    assert np.allclose(similarity(src, moved, np.array([1, 1, 0, 1, 1.0])), m, atol=1e-9)
    mirrored = src * np.array([-1, 1])  # a reflection is not a similarity: the fit stays a rotation
    assert np.linalg.det(similarity(src, mirrored)[:, :2]) > 0


def test_aligned_crop_of_a_rolled_drawn_face_is_upright():
    """A face drawn as five dots on its template, rolled by 30° and enlarged 5×, comes back upright."""
    from edgeemo.align import FER_TEMPLATE, crop_quads, landmark_transforms, warp_crops
    from edgeemo.crops import face_crops
    from edgeemo.detectors import Detections

    size = (48, 48)
    pts = np.asarray(FER_TEMPLATE.points) * 240 - 120  # centred, 240 px face
    a = np.deg2rad(30)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    lms = (pts @ rot.T + [320, 240]).astype(np.float32)
    img = np.zeros((480, 640), np.uint8)
    for x, y in lms:
        cv2.circle(img, (int(round(x)), int(round(y))), 9, 255, -1)
    m = landmark_transforms(lms[None], FER_TEMPLATE, size)
    crop = warp_crops(img, m, size)[0]
    for (fx, fy) in FER_TEMPLATE.points:  # each dot lands where the template puts it
        assert crop[int(round(fy * 48)), int(round(fx * 48))] > 100
    quad = crop_quads(m, size)[0]
    assert np.allclose(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[3] - quad[0]))  # a square
    dets = Detections(np.array([[200, 100, 240, 280]]), np.array([0.9], np.float32), lms[None])
    crops, quads = face_crops(img, dets, size, FER_TEMPLATE)
    assert np.array_equal(crops[0], crop) and np.allclose(quads[0], quad)
    crops, quads = face_crops(img, dets, size, None)  # no template: a square around the box
    assert quads[0].tolist() == [[180, 100], [460, 100], [460, 380], [180, 380]]


def test_template_zoom_and_shift():
    from edgeemo.align import FER_TEMPLATE

    z = FER_TEMPLATE.zoomed(0.5, 0.1)
    p, q = np.asarray(FER_TEMPLATE.points), np.asarray(z.points)
    assert np.allclose(q, 0.5 + (p - 0.5) * 0.5 + [0, 0.1], atol=1e-5)
    assert z.to_dict()["points"][0] == list(z.points[0])
