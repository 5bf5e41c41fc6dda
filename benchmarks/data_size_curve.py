"""Where trained models overtake GPT-4V: accuracy against training-set size.

Trains ``cnn2`` and ``edgenet`` on stratified subsets of FER2013 Training (nested per seed: a
seed's 140 faces hold its 70), selects each run's checkpoint on PublicTest, and scores it on
PrivateTest against FER2013 and FER+ majority labels, on the faces GPT-4V's published answers
cover; GPT-4V's accuracy on those faces is drawn as a horizontal line and the crossover stated.

    python benchmarks/data_size_curve.py --data ../shared/data/fer2013.npz \
        --answers ../shared/data/gpt4v-emotion/ferplus_label-gpt4v.csv

Compute is bounded for a CPU: each run shows 60 passes over its subset (at least 20,000 and at most
280,000 faces, so 7,000 faces and more get fewer passes), with bf16 autocast, one thread, and is
scored once; ``all`` is the committed full-data checkpoint (benchmarks/weights/MODEL.pt, trained on its
own, longer schedule). Results go to benchmarks/results/data_size_curve.{json,png} after every
run; a re-run skips the runs already there (resume), ``--plot-only`` redraws. To use more cores, run
one process per model (``--models edgenet --out DIR/edgenet``) and join them with ``--merge``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edgeemo.data import FaceSet, load_dataset
from edgeemo.hardware import cpu_info
from edgeemo.labels import CLASSES
from edgeemo.metrics import classification_metrics
from edgeemo.version import code_version

ROOT = Path(__file__).resolve().parent
# "full": all of Training under the same bounded budget (a control: what the budget, not the data, allows);
# "all": the committed checkpoint trained on all of Training on its full schedule.
SIZES = (70, 140, 350, 700, 1400, 3500, 7000, "all")  # "full" on request (--sizes)
NAMED = ("full", "all")
MODELS = ("cnn2", "edgenet")
SELECT_FACES = 700  # stratified PublicTest sample for checkpoint selection
SELECT_AT = [0.7, 1.0]  # fractions of the run at which the selection faces are scored
# faces shown in training (with repeats) = passes × size, clipped; bf16 autocast halves the CPU time
BUDGET = {"passes": 60, "min_samples": 20000, "max_samples": 280000, "max_batch": 64, "lr_scale": 1.0,
          "autocast": "bfloat16"}


def seeds_for(size) -> list[int]:
    """Several seeds where one subset is a noisy sample of the data, one where it is not."""
    if size in NAMED:
        return [0]
    return [0, 1] if size <= 140 else [0]


def train_samples(size: int) -> int:
    """Faces shown in training (with repeats): 60 passes over the subset, at least 20,000, at most 280,000."""
    return int(min(max(BUDGET["passes"] * size, BUDGET["min_samples"]), BUDGET["max_samples"]))


def stratified_subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` row indices in the classes' proportions (at least one per class), nested across sizes
    for one seed: each class's rows are shuffled once per seed and the first k taken."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels, minlength=len(CLASSES)).astype(np.float64)
    share = counts / counts.sum() * size
    k = np.maximum(np.floor(share), 1).astype(int)
    for c in np.argsort(-(share - np.floor(share))):  # largest remainders get the rest
        if k.sum() >= size:
            break
        k[c] += 1
    while k.sum() > size:  # the at-least-one rule overshot: take from the largest class
        k[k.argmax()] -= 1
    idx = []
    for c in range(len(CLASSES)):
        rows = np.flatnonzero(labels == c)
        idx += rng.permutation(rows)[: k[c]].tolist()
    return np.sort(np.asarray(idx, dtype=np.int64))


def train_subset(model_name: str, train: FaceSet, select: FaceSet, size: int, seed: int) -> tuple[object, dict]:
    """One bounded run: SGD (Nesterov) on the model's recipe with the learning rate scaled to the batch,
    one-cycle over the budget, batch augmentation; the checkpoint best on ``select`` is kept."""
    import torch
    import torch.nn.functional as F

    from edgeemo.models import build_model, get_spec
    from edgeemo.training.augment import AugmentConfig, augment
    from edgeemo.training.trainer import make_config, one_cycle, predict_logits, to_tensor

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = make_config(model_name)
    pre = get_spec(model_name).preprocess
    batch = min(BUDGET["max_batch"], max(16, len(train) // 2))
    steps = max(1, train_samples(size) // batch)
    lr = cfg.lr * BUDGET["lr_scale"]
    model = build_model(model_name).to(memory_format=torch.channels_last)
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0}],
                          lr=lr, momentum=0.9, nesterov=True)
    sched = one_cycle(opt, lr, 1, steps)
    x_all = train.images
    y_all = torch.from_numpy(train.labels)
    checks = sorted({max(1, round(f * steps)) for f in SELECT_AT})
    best = (-1.0, None, 0)
    order = np.zeros(0, dtype=np.int64)
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        model.train()
        if len(order) < batch:
            order = np.concatenate([order, rng.permutation(len(train))])
        idx, order = order[:batch], order[batch:]
        xb = augment(to_tensor(x_all[idx], pre), AugmentConfig(), gen).contiguous(memory_format=torch.channels_last)
        target = F.one_hot(y_all[idx], len(CLASSES)).float() * (1 - cfg.label_smoothing) + cfg.label_smoothing / len(
            CLASSES)
        with torch.autocast("cpu", dtype=getattr(torch, BUDGET["autocast"]), enabled=bool(BUDGET["autocast"])):
            logits = model(xb)
        loss = torch.sum(-target * F.log_softmax(logits.float(), 1), 1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step in checks:
            acc = classification_metrics(select.labels, predict_logits(model, select.images, pre).argmax(1))["accuracy"]
            if acc > best[0]:
                best = (acc, copy.deepcopy(model.state_dict()), step)
    model.load_state_dict(best[1])
    return model, {"batch": batch, "steps": steps, "lr": lr, "samples_seen": steps * batch,
                   "selected_step": best[2], "select_accuracy": best[0],
                   "train_seconds": round(time.perf_counter() - t0, 1)}


def score(pred_of: dict[str, int], sets: dict[str, tuple[FaceSet, str]]) -> dict:
    """Accuracy and macro-F1 on each label set's faces, from predictions by face name."""
    out = {}
    for labels, (fs, key) in sets.items():
        pred = np.array([pred_of[n] for n in fs.names[key]], dtype=np.int64)
        m = classification_metrics(fs.labels, pred)
        out[labels] = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "n": m["n"]}
    return out


def scoring_sets(data: str, answers: str | None) -> tuple[dict, dict]:
    """PrivateTest with FER2013 and with FER+ labels (on the faces the answers cover, when given), and
    GPT-4V's figures on the same faces."""
    from edgeemo.vlm.answers import match_answers, read_answers

    sets, lines = {}, {}
    af = read_answers(answers) if answers else None
    for labels in ("fer2013", "ferplus"):
        fs = load_dataset(data, labels=labels).get_split("PrivateTest")
        key = "ferplus_image_name"
        if af is not None:
            m = match_answers(af, fs, match_on=key)
            fs = m.faces
            met = classification_metrics(fs.labels, m.pred)
            lines[labels] = {"accuracy": met["accuracy"], "macro_f1": met["macro_f1"], "n": met["n"],
                             "invalid_answers": m.info["invalid_answers"]}
        sets[labels] = (fs, key)
    return sets, lines


def full_data_point(model_name: str, sets: dict, threads: int) -> dict:
    """The committed checkpoint trained on all of Training, scored on the same faces."""
    from edgeemo.evaluate import predict_faces

    path = ROOT / "weights" / f"{model_name}.pt"
    fs, key = sets["fer2013"]
    pred, who = predict_faces(str(path), fs, threads=threads)
    return {"weights": str(path.relative_to(ROOT.parent)), "scores": score(dict(zip(fs.names[key], pred)), sets)}


def summarize(points: list[dict], lines: dict) -> dict:
    """Per model and size: mean, min and max over seeds; per model and label set: where the mean first
    reaches GPT-4V's accuracy (interpolated on log size between the sizes either side), along the
    subsets and the full-schedule checkpoint ("all"); the same-budget run on all faces ("full") is
    reported beside it as ``control``, not part of the crossover."""
    out: dict = {}
    for model in dict.fromkeys(p["model"] for p in points):
        rows: dict = {}
        for p in points:
            if p["model"] == model:
                rows.setdefault(str(p["size"]), []).append(p)
        entries = []
        for group in rows.values():
            entry = {"n_train": group[0]["n_train"], "size": group[0]["size"], "seeds": len(group)}
            for labels in ("fer2013", "ferplus"):
                accs = [p["scores"][labels]["accuracy"] for p in group]
                entry[labels] = {"mean": float(np.mean(accs)), "min": min(accs), "max": max(accs)}
            entries.append(entry)
        entries.sort(key=lambda e: (e["n_train"], str(e["size"])))
        curve = [e for e in entries if e["size"] != "full"]
        control = next((e for e in entries if e["size"] == "full"), None)
        cross = {}
        for labels, line in lines.items():
            target = line["accuracy"]
            prev = None
            cross[labels] = {"gpt4v_accuracy": target, "first_size_at_or_above": None, "interpolated_size": None}
            for e in curve:
                if e[labels]["mean"] >= target:
                    c = cross[labels]
                    c["first_size_at_or_above"] = e["n_train"]
                    if prev is not None:
                        c["last_size_below"] = prev["n_train"]
                    if prev is not None and e["size"] != "all":
                        a, b = prev[labels]["mean"], e[labels]["mean"]
                        t = (target - a) / (b - a)
                        lo, hi = math.log10(prev["n_train"]), math.log10(e["n_train"])
                        c["interpolated_size"] = round(10 ** (lo + t * (hi - lo)))
                    elif prev is not None:
                        c["note"] = ("reached only by the full-schedule checkpoint: the step from the last subset "
                                     "also changes the training budget, so no size is interpolated")
                    break
                prev = e
        out[model] = {"curve": curve, "crossover": cross, "control": control}
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), dpi=120, sharey=True)
    colors = {"cnn2": "tab:blue", "edgenet": "tab:green"}
    for ax, labels, title in zip(axes, ("fer2013", "ferplus"), ("FER2013 labels", "FER+ majority labels")):
        for model, s in result["summary"].items():
            c = s["curve"]
            sub = [e for e in c if e["size"] != "all"]
            full = [e for e in c if e["size"] == "all"]
            x = [e["n_train"] for e in sub]
            y = [e[labels]["mean"] for e in sub]
            err = [[e[labels]["mean"] - e[labels]["min"] for e in sub],
                   [e[labels]["max"] - e[labels]["mean"] for e in sub]]
            ax.errorbar(x, y, yerr=err, marker="o", ms=4, capsize=3, color=colors.get(model), label=f"{model}, subsets")
            if full:
                f = full[0]
                ax.plot([x[-1], f["n_train"]], [y[-1], f[labels]["mean"]], ls=":", color=colors.get(model))
                ax.scatter([f["n_train"]], [f[labels]["mean"]], marker="*", s=120, color=colors.get(model),
                           label=f"{model}, all of Training, full schedule (committed weights)")
            ctl = s.get("control")
            if ctl:
                ax.scatter([ctl["n_train"]], [ctl[labels]["mean"]], marker="s", s=40, facecolors="none",
                           edgecolors=colors.get(model), label=f"{model}, all of Training, same budget as the subsets")
        line = result["gpt4v"].get(labels)
        if line:
            ax.axhline(line["accuracy"], ls="--", color="tab:red",
                       label=f"GPT-4V, published answers ({line['accuracy']:.4f})")
        ax.set_xscale("log")
        ax.set_xlabel("training faces (FER2013 Training, stratified; log scale)")
        ax.set_title(f"PrivateTest, {title}" + (f", n={line['n']}" if line else ""), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("accuracy")
    b = result["config"]["budget"]
    fig.suptitle(f"Trained models against GPT-4V by training-set size: each subset shown {b['passes']} passes, at "
                 f"least {b['min_samples']:,} and at most {b['max_samples']:,} faces; stars: full schedule",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def keep_compatible(result: dict, config: dict, path: Path) -> dict:
    """Resume under a new ``max_samples``: keep the runs it leaves unchanged (same number of steps at the
    same batch); any other change of configuration needs --fresh."""
    old = result["config"]
    same = {k: v for k, v in old.items() if k != "budget"} == {k: v for k, v in config.items() if k != "budget"}
    budget_same = {k: v for k, v in old["budget"].items() if k != "max_samples"} == {
        k: v for k, v in config["budget"].items() if k != "max_samples"}
    if not (same and budget_same):
        sys.exit(f"{path} was made with another configuration; pass --fresh to start over")

    def unchanged(p: dict) -> bool:
        return p["size"] == "all" or (train_samples(p["n_train"]) // p["batch"]) * p["batch"] == p["samples_seen"]

    kept = [p for p in result["points"] if unchanged(p)]
    print(f"configuration changed (max_samples {old['budget']['max_samples']} -> {config['budget']['max_samples']}): "
          f"kept {len(kept)} of {len(result['points'])} runs", flush=True)
    return {**result, "config": config, "points": kept}


def _save(result: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, path)


def merge(result: dict | None, files: list[Path], config: dict) -> dict:
    """Runs made in separate processes (e.g. one per model, ``--models X --out FILE``) joined into one
    result; every file must have this configuration, and a run present twice is an error."""
    points = list(result["points"]) if result else []
    sources = []
    for f in files:
        other = json.loads(f.read_text())
        if other["config"] != config:
            sys.exit(f"{f} was made with another configuration; it cannot be merged")
        result = result or {**other, "points": []}
        points += other["points"]
        sources.append({"file": f.name, "command": other["metadata"].get("command"), "runs": len(other["points"])})
    keys = [(p["model"], str(p["size"]), p["seed"]) for p in points]
    if len(set(keys)) != len(keys):
        sys.exit("the same run appears in more than one file; merge each run once")
    metadata = {**result["metadata"], "merged_from": result["metadata"].get("merged_from", []) + sources,
                "command": "python " + " ".join(sys.argv)}
    return {**result, "config": config, "points": points, "metadata": metadata}


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    json_path, png_path = out.with_suffix(".json"), out.with_suffix(".png")
    config = {"budget": BUDGET, "select_faces": SELECT_FACES, "select_at": SELECT_AT,
              "answers": Path(args.answers).name if args.answers else None}  # what the figures depend on
    result = json.loads(json_path.read_text()) if json_path.exists() and not args.fresh else None
    if result and result["config"] != config:
        result = keep_compatible(result, config, json_path)
    if args.merge:
        result = merge(result, [Path(f) for f in args.merge], config)
    if args.plot_only or args.merge:
        result["summary"] = summarize(result["points"], result["gpt4v"])
        _save(result, json_path)
        plot(result, png_path)
        print(f"wrote {png_path}")
        return
    if not result:
        result = {"config": config, "metadata": {}, "points": []}
    import torch

    torch.set_num_threads(args.threads)
    sets, lines = scoring_sets(args.data, args.answers)
    full = load_dataset(args.data)
    train, public = full.get_split("Training"), full.get_split("PublicTest")
    select = public.subset(stratified_subset(public.labels, SELECT_FACES, 12345))
    result["gpt4v"] = lines
    result["metadata"] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "code_version": code_version(),
        "cpu": cpu_info(), "python": platform.python_version(), "torch": torch.__version__,
        "data": Path(args.data).name, "training_faces": len(train), "select": f"{len(select)} PublicTest faces",
        "scored_on": {k: len(v[0]) for k, v in sets.items()}, "threads": args.threads,
        "command": "python " + " ".join(sys.argv),
    }
    done = {(p["model"], str(p["size"]), p["seed"]) for p in result["points"]}
    for size in args.sizes:
        for model in args.models:
            for seed in seeds_for(size):
                if (model, str(size), seed) in done:
                    continue
                t0 = time.perf_counter()
                if size == "all":
                    point = {"model": model, "size": "all", "seed": seed, "n_train": len(train),
                             **full_data_point(model, sets, args.threads)}
                else:
                    sub = train if size == "full" else train.subset(stratified_subset(train.labels, size, seed))
                    net, info = train_subset(model, sub, select, len(sub), seed)
                    from edgeemo.models import get_spec
                    from edgeemo.training.trainer import predict_logits

                    fs, key = sets["fer2013"]
                    pred = predict_logits(net, fs.images, get_spec(model).preprocess).argmax(1)
                    point = {"model": model, "size": size, "seed": seed, "n_train": len(sub), **info,
                             "scores": score(dict(zip(fs.names[key], pred)), sets)}
                point["seconds"] = round(time.perf_counter() - t0, 1)
                result["points"].append(point)
                result["summary"] = summarize(result["points"], lines)
                _save(result, json_path)
                s = point["scores"]
                print(f"{model} size {size} seed {seed}: FER {s['fer2013']['accuracy']:.4f}  FER+ "
                      f"{s['ferplus']['accuracy']:.4f}  ({point['seconds']:.0f} s)", flush=True)
    result["summary"] = summarize(result["points"], lines)
    _save(result, json_path)
    plot(result, png_path)
    print(f"wrote {json_path} and {png_path}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="fer2013.npz (FER2013 with FER+ votes and names)")
    ap.add_argument("--answers", default=None, help="GPT-4V's published answers CSV (the horizontal lines)")
    ap.add_argument("--models", type=lambda s: s.split(","), default=list(MODELS))
    ap.add_argument("--sizes", type=lambda s: [x if x in NAMED else int(x) for x in s.split(",")],
                    default=list(SIZES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "results" / "data_size_curve"))
    ap.add_argument("--fresh", action="store_true", help="Start over instead of resuming.")
    ap.add_argument("--plot-only", action="store_true", help="Redraw the PNG from the JSON.")
    ap.add_argument("--merge", nargs="+", metavar="JSON", default=None,
                    help="Join the runs of these result files (made with --models/--out in parallel) into --out.")
    ap.add_argument("--max-samples", type=int, default=None,
                    help=f"Cap on faces shown per run [{BUDGET['max_samples']:,}]: a larger one for a longer-budget "
                         "series (it needs its own --out: the budget is part of a result's configuration)")
    args = ap.parse_args(argv)
    if args.max_samples:
        BUDGET["max_samples"] = args.max_samples
    run(args)


if __name__ == "__main__":
    main()
