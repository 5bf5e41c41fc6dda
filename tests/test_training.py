"""Real (short) training runs: determinism, resume, and learning beyond chance."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the 'train' extra (torch)")

from edgeemo.errors import EdgeemoError  # noqa: E402
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


@pytest.mark.parametrize("name", ["edgenet", "deepnet"])
def test_default_candidates_are_small(name):
    """Both architectures a default may have stay within 100 M multiply-adds per face."""
    pre = REGISTRY[name].preprocess
    assert count_macs(build_model(name), (pre.channels, *pre.size)) <= 100e6


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


def _tiny_run(fer_npz, out, epochs, resume=False, snapshots=False):
    cfg = make_config("cnn1", epochs=epochs, limit=256, batch_size=64, lr=0.01, seed=3, patience=99,
                      snapshots=snapshots)
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
    with pytest.raises(EdgeemoError, match="run of 2 epochs; resume it with --epochs 2"):
        train(make_config("cnn1", epochs=3, limit=256, batch_size=64, lr=0.01, seed=3, patience=99), fer_npz,
              tmp_path / "c", resume=True, progress=False, log=lambda s: None)
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


def test_trainer_files_and_shipped_weights_load_weights_only(fer_npz, tmp_path):
    """Checkpoints are read with torch.load(weights_only=True): every file the current trainer writes
    (best.pt, snapshots, last.pt with optimizer, scheduler and numpy RNG state, for SGD and AdamW), and
    the committed benchmarks/weights, load without any allow-list — and a resumed run continues."""
    from pathlib import Path

    for optimizer in ("sgd", "adamw"):
        out = tmp_path / optimizer
        cfg = make_config("cnn1", epochs=2, limit=128, batch_size=64, lr=0.01, seed=3, patience=99, snapshots=True,
                          optimizer=optimizer)

        def stop_in_epoch_2(msg: str) -> None:
            if msg.startswith("epoch 2/"):
                raise _Interrupt

        with pytest.raises(_Interrupt):  # stopped after epoch 1's files were written, as a killed run is
            train(cfg, fer_npz, out, progress=False, log=stop_in_epoch_2)
        for f in (out / "best.pt", out / "last.pt", out / "snap" / "epoch_1.pt"):
            raw = torch.load(f, map_location="cpu", weights_only=True)
            assert raw["format"] == "edgeemo-checkpoint" and load_checkpoint(f)["meta"]["model"] == "cnn1"
        st = load_checkpoint(out / "last.pt")["train_state"]
        assert st["np_rng"]["bit_generator"] == "PCG64" and st["optimizer"]["state"] and st["scheduler"]
        res = train(cfg, fer_npz, out, resume=True, progress=False, log=lambda s: None)
        assert [h["epoch"] for h in res.history] == [0, 1]
    weights = sorted((Path(__file__).resolve().parent.parent / "benchmarks" / "weights").glob("*.pt"))
    for f in weights:
        ckpt = load_checkpoint(f)
        model = ckpt["meta"]["model"]  # NAME.pt, or NAME_VARIANT.pt (deepnet_ferplus.pt)
        assert model in REGISTRY and f.stem.split("_")[0] == model
        build_model(model).load_state_dict(ckpt["state_dict"])  # strict: the network code still fits them


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


def test_average_state_dicts_is_the_elementwise_mean():
    from edgeemo.errors import EdgeemoError
    from edgeemo.training.averaging import average_state_dicts

    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(7)}
    out = average_state_dicts([a, b])
    assert torch.equal(out["w"], torch.tensor([2.0, 4.0]))
    assert int(out["n"]) == 7  # integer buffers (BN step counters) come from the last snapshot
    with pytest.raises(EdgeemoError, match="other tensors"):
        average_state_dicts([a, {"w": torch.zeros(2)}])


def test_recalibrated_batchnorm_holds_the_exact_statistics():
    from edgeemo.training.averaging import recalibrate_batchnorm

    bn = torch.nn.BatchNorm2d(3)
    bn.running_mean.fill_(5.0)
    x = torch.randn(100, 3, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 + 1
    assert recalibrate_batchnorm(torch.nn.Sequential(bn), x, batch_size=16) == 1
    # momentum=None makes the running statistics the plain mean of the per-batch statistics.
    batches = [x[i : i + 16] for i in range(0, 100, 16)]
    mean = torch.stack([b.mean((0, 2, 3)) for b in batches]).mean(0)
    var = torch.stack([b.transpose(0, 1).reshape(3, -1).var(1) for b in batches]).mean(0)
    assert torch.allclose(bn.running_mean, mean, atol=1e-5)
    assert torch.allclose(bn.running_var, var, atol=1e-4)
    assert bn.momentum == 0.1 and not bn.training


def test_batchnorm_is_recalibrated_under_the_runs_own_augmentation():
    from dataclasses import asdict

    from edgeemo.training.augment import PRESETS
    from edgeemo.training.averaging import augmented, training_augmentation

    for name, cfg in PRESETS.items():
        assert training_augmentation({"config": {"augment": asdict(cfg)}}) == name
    listed = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(PRESETS["photos"]).items()}
    assert training_augmentation({"config": {"augment": listed}}) == "photos"  # tuples stored as lists
    custom = {**asdict(PRESETS["crops"]), "rotation_deg": 3.0}
    for meta in ({}, {"config": "photos"}, {"config": {"augment": custom}}, {"config": {"augment": torch.zeros(1)}}):
        assert training_augmentation(meta) is None  # then the faces are used as they are
    x = torch.rand(300, 1, 48, 48)
    a, b = augmented(x, "photos", seed=3), augmented(x, "photos", seed=3)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)


def test_averaged_checkpoint_is_a_working_model(fer_npz, tmp_path):
    """The two epoch snapshots of a short run averaged into one checkpoint: weights are the mean,
    the reported PublicTest accuracy is what the written file scores, and it evaluates."""
    from edgeemo.data import load_dataset
    from edgeemo.evaluate import evaluate
    from edgeemo.metrics import classification_metrics
    from edgeemo.models import get_spec
    from edgeemo.training.averaging import average_checkpoints
    from edgeemo.training.trainer import predict_logits

    run = _tiny_run(fer_npz, tmp_path / "run", epochs=2, snapshots=True)
    one, two = (tmp_path / "run" / "snap" / f"epoch_{n}.pt" for n in (1, 2))
    last = load_checkpoint(run.last_path)["state_dict"]
    assert all(torch.equal(last[k], load_checkpoint(two)["state_dict"][k]) for k in last)
    out = tmp_path / "avg.pt"
    val = average_checkpoints([one, two], fer_npz, out, bn_faces=512, log=lambda s: None)

    ck = load_checkpoint(out)
    w1, w2 = (load_checkpoint(p)["state_dict"] for p in (one, two))
    conv = "features.0.0.weight"
    assert torch.allclose(ck["state_dict"][conv], (w1[conv] + w2[conv]) / 2)
    assert [e["epoch"] for e in ck["meta"]["averaged_from"]] == [0, 1]
    assert ck["meta"]["bn_recalibration_faces"] == 512 and "train_state" not in ck
    assert ck["meta"]["bn_recalibration_augment"] == "crops"  # the tiny run's augmentation

    model = build_model("cnn1")
    model.load_state_dict(ck["state_dict"])
    pub = load_dataset(fer_npz).get_split("PublicTest")
    acc = classification_metrics(pub.labels, predict_logits(model, pub.images, get_spec("cnn1").preprocess).argmax(1))
    assert acc["accuracy"] == pytest.approx(val["accuracy"]) == pytest.approx(ck["meta"]["metrics"]["val_accuracy"])
    # the written file through the runtime layer (numpy preprocessing) scores what training's torch path scores
    res = evaluate(str(out), fer_npz, split="PublicTest", limit=300)
    first300 = classification_metrics(pub.labels[:300], predict_logits(model, pub.images[:300],
                                                                        get_spec("cnn1").preprocess).argmax(1))
    assert res["n"] == 300 and abs(res["accuracy"] - first300["accuracy"]) <= 1 / 300


def test_early_stopping_waits_for_the_annealing_half_of_the_schedule():
    import torch

    from edgeemo.training.trainer import early_stop_armed, one_cycle

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.03, momentum=0.9)
    epochs, steps = 22, 10
    sched = one_cycle(opt, 0.03, epochs, steps)
    armed, lrs = [], []
    for _ in range(epochs):
        for _ in range(steps):
            opt.step()
            sched.step()
        armed.append(early_stop_armed(sched, 0.03))
        lrs.append(sched.get_last_lr()[0])
    first = armed.index(True)
    assert not any(armed[:first]) and all(armed[first:])  # once armed, it stays armed
    assert lrs[0] < 0.015  # warm-up epoch 1: below half the peak, yet not armed
    assert lrs[first] <= 0.015 < lrs[first - 1]
    assert 11 <= first + 1 <= 14  # about the middle of the cosine decay, not the peak (epoch 4)


def test_distillation_loss_is_cross_entropy_plus_scaled_kl():
    from edgeemo.training.trainer import batch_loss

    cfg = make_config("fastnet", distill=0.5, temperature=2.0)
    logits = torch.tensor([[2.0, 0.0, -1.0, 0, 0, 0, 0]])
    targets = torch.nn.functional.one_hot(torch.tensor([0]), 7).float()
    ce = float(batch_loss(logits, targets, None, cfg))
    soft = torch.log_softmax(logits / 2, 1)  # the teacher's term arrives as log-probabilities at the temperature
    assert float(batch_loss(logits, targets, soft, cfg)) == pytest.approx(0.5 * ce, abs=1e-6)
    other = torch.zeros(1, 7)
    p = torch.softmax(other / 2, 1)
    kl = float(torch.sum(p * (torch.log(p) - soft)))
    assert float(batch_loss(logits, targets, torch.log(p), cfg)) == pytest.approx(0.5 * ce + 0.5 * 4 * kl, rel=1e-5)


def test_student_trains_with_a_teacher_and_ferplus_labels(fer_npz, tmp_path):
    teacher = _tiny_run(fer_npz, tmp_path / "teacher", epochs=1).best_path
    cfg = make_config("cnn1", epochs=1, limit=256, batch_size=64, lr=0.01, seed=3, patience=99, labels="ferplus",
                      soft_labels=1.0, teacher=str(teacher), distill=0.7)
    res = train(cfg, fer_npz, tmp_path / "student", progress=False, log=lambda s: None)
    meta = load_checkpoint(res.best_path)["meta"]
    assert list(meta["config"]["teacher"]) == [str(teacher)] and meta["config"]["labels"] == "ferplus"
    assert np.isfinite(res.history[0]["train_loss"])


def test_an_ensemble_teacher_averages_its_members_softened_probabilities(fer_npz, tmp_path):
    from edgeemo.training.trainer import Teacher, load_teacher

    a = str(_tiny_run(fer_npz, tmp_path / "a", epochs=1).best_path)
    cfg = make_config("cnn1", epochs=1, limit=256, batch_size=64, lr=0.05, seed=4, patience=99)
    b = str(train(cfg, fer_npz, tmp_path / "b", progress=False, log=lambda s: None).best_path)
    pre = REGISTRY["cnn1"].preprocess
    x = torch.randn(5, 1, *pre.size)
    with torch.no_grad():
        pa, pb = (torch.softmax(load_teacher(m, pre)(x) / 3.0, 1) for m in (a, b))
    assert not torch.allclose(pa, pb)  # two different members
    got = Teacher((a, b), pre, temperature=3.0)(x)
    assert torch.allclose(got.exp(), (pa + pb) / 2, atol=1e-6)
    assert torch.allclose(Teacher((a,), pre, temperature=3.0)(x).exp(), pa, atol=1e-6)
    with torch.no_grad():  # --teacher-flip: each member also sees the mirrored faces, all views averaged
        pa_m, pb_m = (torch.softmax(load_teacher(m, pre)(x.flip(-1)) / 3.0, 1) for m in (a, b))
    assert not torch.allclose(pa, pa_m)
    got = Teacher((a, b), pre, temperature=3.0, flip=True)(x)
    assert torch.allclose(got.exp(), (pa + pa_m + pb + pb_m) / 4, atol=1e-6)

    cfg = make_config("cnn1", epochs=1, limit=128, batch_size=64, lr=0.01, seed=3, patience=99, teacher=(a, b))
    res = train(cfg, fer_npz, tmp_path / "student", progress=False, log=lambda s: None)
    assert list(load_checkpoint(res.best_path)["meta"]["config"]["teacher"]) == [a, b]


def test_bf16_trains_with_fp32_weights_where_the_cpu_has_it(fer_npz, tmp_path):
    from edgeemo.hardware import native_bf16_cpu

    if not native_bf16_cpu():  # this CPU would emulate bfloat16: the option is refused, in one sentence
        with pytest.raises(EdgeemoError, match="natively"):
            make_config("cnn1", bf16=True)
        return
    teacher = _tiny_run(fer_npz, tmp_path / "teacher", epochs=1).best_path
    cfg = make_config("cnn1", epochs=1, limit=256, batch_size=64, lr=0.01, seed=3, patience=99, bf16=True,
                      teacher=str(teacher), teacher_flip=True)
    res = train(cfg, fer_npz, tmp_path / "student", progress=False, log=lambda s: None)
    ck = load_checkpoint(res.best_path)
    assert ck["meta"]["config"]["bf16"] is True and np.isfinite(res.history[0]["train_loss"])
    assert {t.dtype for t in ck["state_dict"].values() if t.is_floating_point()} == {torch.float32}


def test_train_step_bf16_script_times_both_precisions_or_says_why_not(fer_npz, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from edgeemo.hardware import native_bf16_cpu

    repo = Path(__file__).resolve().parents[1]
    teacher = str(_tiny_run(fer_npz, tmp_path / "teacher", epochs=1).best_path)
    out = tmp_path / "steps.json"
    run = subprocess.run([sys.executable, str(repo / "benchmarks" / "train_step_bf16.py"), "--data", str(fer_npz),
                          "--model", "cnn1", "--teacher", teacher, "--teacher-flip", "--batch-size", "16",
                          "--steps", "3", "--threads", "1", "--json", str(out)],
                         capture_output=True, text=True, cwd=repo)
    if not native_bf16_cpu():
        assert run.returncode != 0 and "natively" in run.stderr and "Traceback" not in run.stderr
        return
    assert run.returncode == 0, run.stderr
    res = json.loads(out.read_text())
    assert {k: v["n"] for k, v in res["step_ms"].items()} == {"fp32": 3, "bf16": 3}
    assert res["bf16_over_fp32_median"] == pytest.approx(res["step_ms"]["bf16"]["p50"] / res["step_ms"]["fp32"]["p50"])
    assert res["teachers"] == [teacher] and res["machine"]["flags"]


def test_teacher_flip_without_a_teacher_is_refused():
    with pytest.raises(EdgeemoError, match="needs a teacher"):
        make_config("cnn1", teacher_flip=True)


def test_teacher_with_other_preprocessing_is_refused(fer_npz, tmp_path):
    from edgeemo.errors import EdgeemoError
    from edgeemo.training.trainer import load_teacher

    save_checkpoint(tmp_path / "t.pt", build_model("resnet50").state_dict(),
                    {"model": "resnet50", "preprocess": REGISTRY["resnet50"].preprocess.to_dict()})
    with pytest.raises(EdgeemoError, match="preprocessing differs"):
        load_teacher(str(tmp_path / "t.pt"), REGISTRY["fastnet"].preprocess)


def test_photo_augmentation_keeps_shape_and_changes_pixels():
    from edgeemo.training.augment import PRESETS, augment

    x = torch.randn(16, 1, 48, 48)
    out = augment(x, PRESETS["photos"], torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.allclose(out, x)


def test_choose_tau_keeps_accuracy_and_raises_balanced_accuracy():
    from edgeemo.training.priors import choose_tau

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(7), [300, 10, 10, 300, 100, 100, 300])
    prior = np.bincount(labels, minlength=7) / len(labels)
    logits = np.log(prior)[None, :] * 1.0 + rng.normal(0, 1.0, (len(labels), 7))
    logits[np.arange(len(labels)), labels] += 2.0  # informative, but biased towards the common classes
    tau, scan = choose_tau(logits, labels, prior, max_accuracy_drop=0.02)
    by = {r["tau"]: r for r in scan}
    assert tau > 0 and by[tau]["accuracy"] >= by[0.0]["accuracy"] - 0.02
    assert by[tau]["balanced_accuracy"] > by[0.0]["balanced_accuracy"]


def test_adjust_prior_folds_the_shift_into_the_last_bias(fer_npz, tmp_path):
    from edgeemo.training.priors import adjust_prior, final_linear

    src = _tiny_run(fer_npz, tmp_path / "run", epochs=1).best_path
    rec = adjust_prior(src, fer_npz, tmp_path / "adj.pt", tau=0.5, log=lambda s: None)
    before, after = load_checkpoint(src), load_checkpoint(tmp_path / "adj.pt")
    model = build_model("cnn1")
    key = next(k for k, v in model.named_parameters() if v is final_linear(model).bias)
    shift = after["state_dict"][key] - before["state_dict"][key]
    assert torch.allclose(shift, -0.5 * torch.log(torch.tensor(rec["prior"])).float(), atol=1e-5)
    assert after["meta"]["logit_adjustment"]["tau"] == 0.5 and len(rec["scan"]) == 11


def test_adjust_prior_replaces_an_earlier_adjustment_instead_of_stacking_it(fer_npz, tmp_path):
    from edgeemo.training.priors import adjust_prior, final_linear

    src = _tiny_run(fer_npz, tmp_path / "run", epochs=1).best_path
    adjust_prior(src, fer_npz, tmp_path / "adj.pt", tau=0.5, log=lambda s: None)
    rec = adjust_prior(tmp_path / "adj.pt", fer_npz, tmp_path / "undone.pt", tau=0.0, log=lambda s: None)
    model = build_model("cnn1")
    key = next(k for k, v in model.named_parameters() if v is final_linear(model).bias)
    original = load_checkpoint(src)["state_dict"][key]
    undone = load_checkpoint(tmp_path / "undone.pt")["state_dict"][key]
    assert rec["replaced_tau"] == 0.5 and rec["tau"] == 0.0
    assert torch.allclose(undone, original, atol=1e-4)

    damaged = load_checkpoint(tmp_path / "adj.pt")
    damaged["meta"]["logit_adjustment"]["prior"] = [0.5, -1.0]
    save_checkpoint(tmp_path / "damaged.pt", damaged["state_dict"], damaged["meta"])
    with pytest.raises(EdgeemoError, match="damaged.pt: its logit_adjustment record is damaged"):
        adjust_prior(tmp_path / "damaged.pt", fer_npz, tmp_path / "x.pt", tau=0.5, log=lambda s: None)


def test_teacher_ensemble_script_scores_members_and_their_ensemble(fer_npz, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    a = str(_tiny_run(fer_npz, tmp_path / "a", epochs=1).best_path)
    out = tmp_path / "ens.json"
    subprocess.run([sys.executable, str(repo / "benchmarks" / "teacher_ensemble.py"), "--data", str(fer_npz),
                    "--labels", "fer2013", "--threads", "1", "--json", str(out), a, a], check=True, cwd=repo)
    res = json.loads(out.read_text())
    assert res["split"] == "PublicTest" and res["n"] > 3000
    assert res["accuracy"]["ensemble"] == res["accuracy"][a] > 1 / 7  # two copies of one member: the member itself
