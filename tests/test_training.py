"""Real (short) training runs: determinism, resume, and learning beyond chance."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the 'train' extra (torch)")

from edgeemo.models import REGISTRY, build_model  # noqa: E402
from edgeemo.models.complexity import count_macs, count_params  # noqa: E402
from edgeemo.training.checkpoint import load_checkpoint, load_init_weights, save_checkpoint  # noqa: E402
from edgeemo.training.trainer import make_config, train  # noqa: E402


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_model_builds_and_runs(name):
    spec = REGISTRY[name]
    model = build_model(name).eval()
    pre = spec.preprocess
    with torch.no_grad():
        out = model(torch.zeros(2, pre.channels, *pre.size))
    assert out.shape == (2, 7)
    assert count_params(model) > 0 and count_macs(model, (pre.channels, *pre.size)) > 0


def test_default_model_is_small():
    pre = REGISTRY["edgenet"].preprocess
    assert count_macs(build_model("edgenet"), (pre.channels, *pre.size)) <= 100e6


def test_torchvision_names_load_as_init(tmp_path):
    """A state dict with torchvision's names (here: our own ResNet50's) loads by name;
    the classifier of another shape is skipped, not an error."""
    src = build_model("resnet50").state_dict()
    src["fc.weight"] = torch.zeros(1000, 2048)
    src["fc.bias"] = torch.zeros(1000)
    torch.save(src, tmp_path / "imagenet.pth")
    model = build_model("resnet50")
    loaded, skipped = load_init_weights(model, tmp_path / "imagenet.pth")
    assert "conv1.weight" in loaded and "layer4.2.conv3.weight" in loaded
    assert set(skipped) == {"fc.weight", "fc.bias"}
    vgg_keys = set(build_model("vgg16").state_dict())
    assert {"features.0.weight", "features.28.weight"} <= vgg_keys  # torchvision vgg16 indices


def _tiny_run(fer_npz, out, epochs, resume=False):
    cfg = make_config("cnn1", epochs=epochs, limit=256, batch_size=64, lr=0.01, seed=3, patience=99)
    return train(cfg, fer_npz, out, resume=resume, progress=False, log=lambda s: None)


class _Interrupt(Exception):
    pass


def test_same_seed_same_weights_and_resume_is_exact(fer_npz, tmp_path):
    a = _tiny_run(fer_npz, tmp_path / "a", epochs=2)
    b = _tiny_run(fer_npz, tmp_path / "b", epochs=2)

    # Interrupt a third run during its second epoch's bookkeeping (after epoch 1's
    # last.pt was written, before epoch 2's), then resume it: same weights as run "a".
    def interrupt_in_epoch_2(msg: str) -> None:
        if msg.startswith("epoch 2/"):
            raise _Interrupt

    cfg = make_config("cnn1", epochs=2, limit=256, batch_size=64, lr=0.01, seed=3, patience=99)
    with pytest.raises(_Interrupt):
        train(cfg, fer_npz, tmp_path / "c", progress=False, log=interrupt_in_epoch_2)
    assert load_checkpoint(tmp_path / "c" / "last.pt")["train_state"]["epoch"] == 0
    c = train(cfg, fer_npz, tmp_path / "c", resume=True, progress=False, log=lambda s: None)

    wa = load_checkpoint(a.last_path)["state_dict"]
    for other in (b, c):
        wo = load_checkpoint(other.last_path)["state_dict"]
        for k in wa:
            assert torch.equal(wa[k], wo[k]), k
    assert [h["epoch"] for h in c.history] == [0, 1]
    hist = json.loads((tmp_path / "a" / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [0, 1]


def test_checkpoint_carries_its_metadata(fer_npz, tmp_path):
    res = _tiny_run(fer_npz, tmp_path / "m", epochs=1)
    meta = load_checkpoint(res.best_path)["meta"]
    assert meta["model"] == "cnn1"
    assert meta["classes"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert meta["preprocess"]["size"] == [48, 48] and meta["preprocess"]["channels"] == 1
    assert meta["dataset"]["train_rows"] == 256 and meta["dataset"]["val_split"] == "PublicTest"
    assert "val_accuracy" in meta["metrics"] and meta["code_version"]
    assert "train_state" not in load_checkpoint(res.best_path)  # best.pt is weights + metadata only


def test_short_training_beats_chance(fer_npz, tmp_path):
    """4 epochs of cnn1 on 4000 faces must beat always answering the most common class."""
    cfg = make_config("cnn1", epochs=4, limit=4000, batch_size=64, lr=2e-3, optimizer="adamw",
                      label_smoothing=0.0, patience=5)
    res = train(cfg, fer_npz, tmp_path / "s", progress=False, log=lambda s: None)
    from edgeemo.data import load_dataset

    val = load_dataset(fer_npz).get_split("PublicTest")
    majority = np.bincount(val.labels[:1000]).max() / 1000
    assert res.best_val_accuracy > majority + 0.03, (res.best_val_accuracy, majority)


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    from edgeemo.errors import ModelFileError

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelFileError, match="bad.pt"):
        load_checkpoint(bad)
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ModelFileError, match="not an edgeemo checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    save_checkpoint(tmp_path / "ok.pt", {"w": torch.zeros(1)}, {"model": "cnn1"})
    assert load_checkpoint(tmp_path / "ok.pt")["meta"]["model"] == "cnn1"
