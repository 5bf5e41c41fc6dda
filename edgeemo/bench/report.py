"""Bench outputs: the terminal table (rich), versioned JSON, CSV, Markdown and the Pareto PNG."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

from ..console_log import styled
from .schema import LAT_KEYS, RECORD_KEYS, is_vlm, row_label


def _f(v, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return format(v, fmt)


def _mem(r: dict):
    """The memory figure shown: the board's own (tegrastats) where measured, else the process peak."""
    return r.get("board_ram_delta_mb") if r.get("board_ram_delta_mb") is not None else r.get("peak_rss_mb")


def _prec(r: dict) -> str:
    """The precision of the file and, where it differs in name, what the runtime computed in."""
    p, e = r.get("precision") or "—", r.get("execution_precision")
    return f"{p} (runs in {e})" if e else p


def short_reason(reason: str | None, n: int = 110) -> str:
    """The first clause of a reason, for the terminal table (the files keep it whole)."""
    text = " ".join((reason or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def model_notes(result: dict) -> list[str]:
    """One line per measured model saying which checkpoint it was (flags one stopped before its planned epochs)."""
    seen: dict[str, str] = {}
    for r in result["records"]:
        info = r.get("model_info")
        if not info or r["model"] in seen:
            continue
        line = f"{r['model']}: {info['source']} (sha256 {info['sha256']}…)"
        if info.get("epoch"):
            line += f", best epoch {info['epoch']}"
            if info.get("epochs_planned"):
                line += f" of {info['epochs_planned']} planned"
                if info["epoch"] < info["epochs_planned"] / 2:
                    line += " (an early checkpoint: training looks unfinished)"
        if info.get("val_accuracy") is not None:
            line += f", PublicTest accuracy at training {info['val_accuracy']:.4f}"
        seen[r["model"]] = line
    return list(seen.values())


def _pct(v) -> str:
    return "" if v is None else f"{100 * v:.1f}%"


def print_table(result: dict, console) -> None:
    from ..report import table as new_table

    meta = result["metadata"]
    prof = meta["device_profile"]["name"]
    data = meta.get("data")
    title = (f"edgeemo bench · {prof} · {meta['host']} · {meta['cpu']['model']} · {meta['threads']} thread(s)"
             + (f" · {data['split']} n={data['n']}" if data else " · no labelled data")
             + (f" · {data['labels_description']}" if data and data.get("labels_description") else ""))
    board = any(r.get("power_mw") is not None for r in result["records"])
    cols = ["model", "backend", "prec.", "status", "acc.", "F1", "p50 ms", "p90 ms", "p99 ms",
            "mean±sd ms", f"fps@{meta['method']['throughput_batch']}", "cold ms", "mem MB", "MB"]
    if board:
        cols += ["mW", "mJ/inf"]
    # a narrow terminal gets the headline columns; the files have everything
    drop = {"F1", "p90 ms", "p99 ms", "mean±sd ms"} if console.width < 140 else set()
    if console.width < 100:
        drop |= {cols[10], "cold ms"}
    keep = [i for i, c in enumerate(cols) if c not in drop]
    table = new_table(title, [cols[i] for i in keep], left=("model", "backend", "prec.", "status"))
    failing = [r for r in result["records"] if r["status"] != "ok"]
    for r in result["records"]:
        lat = r.get("latency_ms") or {}
        backend = (r.get("backend") or "—") + (f"/{r['device']}" if r.get("device") not in (None, "cpu") else "")
        if r["status"] != "ok":
            cells = [r["model"], backend, r.get("precision") or "—", styled(r["status"], "yellow")]
            cells += [""] * (len(cols) - len(cells))
            if r.get("size_mb") is not None:
                cells[cols.index("MB")] = f"{r['size_mb']:.2f}"
            table.add_row(*[cells[i] for i in keep])
            continue
        cells = [r["model"], backend, r.get("precision") or "—", "ok", _f(r.get("accuracy"), ".4f"),
                 _f(r.get("macro_f1"), ".4f"),
                 _f(lat.get("p50"), ".3f"), _f(lat.get("p90"), ".3f"), _f(lat.get("p99"), ".3f"),
                 f"{lat['mean']:.3f}±{lat['std']:.3f}" if lat else "", _f(r.get("throughput_fps"), ".0f"),
                 _f(r.get("cold_start_ms"), ".0f"), _f(_mem(r), ".1f"), _f(r.get("size_mb"), ".2f")]
        if board:
            cells += [_f(r.get("power_mw"), ".0f"), _f(r.get("energy_mj_per_inference"), ".3f")]
        table.add_row(*[cells[i] for i in keep])
    console.print(table)
    vlm = [r for r in result["records"] if is_vlm(r) and r["status"] == "ok"]
    if vlm:
        vt = new_table("vision LLMs, zero-shot", ("model", "backend", "n", "invalid", "refused", "model calls",
                                                  "cache hits", "tok/s", "cost USD"), left=("model", "backend"))
        for r in vlm:
            vt.add_row(r["model"], r["backend"], str(r["n"]), _pct(r.get("invalid_rate")), _pct(r.get("refusal_rate")),
                       str(r.get("model_calls", "")), str(r.get("cache_hits", "")), _f(r.get("tokens_per_s"), ".1f"),
                       _f(r.get("cost_usd"), ".4f"))
        console.print(vt)
    for r in failing:
        console.print(styled(f"{row_label(r)}: {r['status']}", "yellow", f" — {short_reason(r.get('reason'), 400)}"),
                      soft_wrap=True)
    for n in model_notes(result):
        if "unfinished" in n:
            console.print(styled("note:", "yellow", f" {n}"), soft_wrap=True)
    if meta.get("note"):
        console.print(styled("note:", "yellow", f" {meta['note']}"), soft_wrap=True)


def write_json(result: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, path)  # atomic: a reader (or Ctrl-C) never sees half a file


def _run_status(result: dict) -> str:
    """complete, interrupted, or running (a partial file written while the sweep goes on)."""
    m = result["metadata"]
    return "interrupted" if m.get("interrupted") else m.get("status") or "complete"


def csv_text(result: dict) -> str:
    extra = ("latency_runs", "import_ms", "load_ms", "first_inference_ms", "baseline_rss_mb", "memory_source",
             "board_ram_used_mb", "board_ram_delta_mb", "power_mw", "energy_mj_per_inference",
             "kind", "invalid_rate", "refusal_rate", "model_calls", "cache_hits", "cost_usd")
    cols = (["run"] + [k for k in RECORD_KEYS if k != "latency_ms"] + [f"latency_{k}_ms" for k in LAT_KEYS]
            + list(extra))
    run = _run_status(result)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in result["records"]:
        row = {k: r.get(k) for k in cols}
        row["run"] = run
        for k in LAT_KEYS:
            row[f"latency_{k}_ms"] = (r.get("latency_ms") or {}).get(k)
        w.writerow(row)
    return buf.getvalue()


def markdown_text(result: dict) -> str:
    """The result as Markdown: how it was measured, one table row per record, the vision LLMs' own table."""
    return "\n".join(_md_header(result) + _md_rows(result) + _md_vlm(result)) + "\n"


def _md_header(result: dict) -> list[str]:
    m = result["metadata"]
    data = m.get("data")
    be = m["backends"]
    lines = [
        f"# edgeemo bench: {m['device_profile']['name']} profile on {m['host']}",
        "",
        f"- Date: {m['date']} · edgeemo {m['code_version']}",
        f"- Machine: {m['cpu']['model']} ({m['cpu']['arch']}, {m['cores_available']} cores available), "
        f"{m['os']}, Python {m['python']}",
        f"- Runtimes: onnxruntime {be.get('onnxruntime')}, OpenVINO {be.get('openvino')}, "
        f"TensorRT {be.get('tensorrt') or 'not installed'}",
        f"- Method: {m['threads']} thread(s) per runtime; single-face latency after {m['method']['warmup']} warm-up "
        f"runs, at least {m['method']['min_runs']} runs and {m['method']['min_seconds']} s; throughput at batch "
        f"{m['method']['throughput_batch']}; each row in a fresh process (cold start = import + load + first "
        "inference; memory = peak RSS above the pre-load baseline)",
        (f"- Data: `{Path(data['path']).name}` {data['split']}, n={data['n']}"
         + (f", {data['labels_description']}" if data.get("labels_description") else "")) if data
        else f"- Data: none. {m['note']}",
    ]
    if m.get("load_average_start"):
        lines.append(f"- Load average at start / end: {m['load_average_start'][0]:.2f} / "
                     f"{(m.get('load_average_end') or [float('nan')])[0]:.2f}")
    if m.get("command"):
        lines.append(f"- Command: `{m['command']}`")
    if m.get("interrupted"):
        lines.append(f"- **Interrupted** ({m.get('interrupted_by') or 'Ctrl-C'}): rows marked 'not run' were "
                     "not measured")
    notes = model_notes(result)
    if notes:
        lines += ["- Models:"] + [f"  - {n}" for n in notes]
    return lines


def _md_rows(result: dict) -> list[str]:
    lines = ["", "| model | backend | precision | status | accuracy | macro-F1 | p50 ms | p90 ms | p99 ms | "
                  "mean ± std ms | fps (batch) | cold start ms | peak mem MB | size MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["records"]:
        lat = r.get("latency_ms") or {}
        backend = (r.get("backend") or "—") + (f" ({r['device']})" if r.get("device") not in (None, "cpu") else "")
        if r["status"] != "ok":
            reason = short_reason(r.get("reason"), 300).replace("|", "/")
            lines.append(f"| {r['model']} | {backend} | {r.get('precision') or '—'} | {r['status']}: {reason} "
                         f"|  |  |  |  |  |  |  |  |  | {_f(r.get('size_mb'), '.2f')} |")
            continue
        batch = f" ({r['throughput_batch']})" if r.get("throughput_batch") else ""
        lines.append(
            f"| {r['model']} | {backend} | {_prec(r)} | ok | {_f(r.get('accuracy'), '.4f')} | "
            f"{_f(r.get('macro_f1'), '.4f')} | {_f(lat.get('p50'), '.3f')} | {_f(lat.get('p90'), '.3f')} | "
            f"{_f(lat.get('p99'), '.3f')} | {_f(lat.get('mean'), '.3f')} ± {_f(lat.get('std'), '.3f')} | "
            f"{_f(r.get('throughput_fps'), '.2f' if is_vlm(r) else '.0f')}{batch} | "
            f"{_f(r.get('cold_start_ms'), '.0f')} | {_f(_mem(r), '.1f')} | {_f(r.get('size_mb'), '.2f')} |")
    return lines


def _md_vlm(result: dict) -> list[str]:
    data = result["metadata"].get("data")
    lines: list[str] = []
    vlm = [r for r in result["records"] if is_vlm(r) and r["status"] == "ok"]
    if vlm:
        lines += ["", "Vision LLMs, zero-shot (same faces as above"
                  + (f", first {data['vlm_n']}" if data and data.get("vlm_n") and data["vlm_n"] < data["n"] else "")
                  + "; latency is per face; a llama.cpp row's cold start is model load + first answer):", "",
                  "| model | backend | n | accuracy | macro-F1 | invalid | refused | model calls | cache hits | "
                  "time to first token ms | decode tok/s | tokens in / out | cost USD |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in vlm:
            tok = r.get("tokens") or {}
            lines.append(
                f"| {r['model']} | {r['backend']} | {r['n']} | {_f(r.get('accuracy'), '.4f')} | "
                f"{_f(r.get('macro_f1'), '.4f')} | {_pct(r.get('invalid_rate'))} | {_pct(r.get('refusal_rate'))} | "
                f"{r.get('model_calls', '')} | {r.get('cache_hits', '')} | {_f(r.get('ttft_ms'), '.1f')} | "
                f"{_f(r.get('tokens_per_s'), '.1f')} | {tok.get('prompt', '')} / {tok.get('completion', '')} | "
                f"{_f(r.get('cost_usd'), '.4f')} |")
        lines += [f"- {r['model']}: {r['note']}" for r in vlm if r.get("note")]
        lines += [f"- {r['model']}: first answers outside the 7 classes (counted wrong): "
                  + ", ".join(f"{w} {n}" for w, n in r["answers_outside_classes"].items())
                  for r in vlm if r.get("answers_outside_classes")]
    return lines


COLORS = {"onnxruntime": "tab:blue", "openvino": "tab:green", "tensorrt": "tab:red", "llama.cpp": "tab:purple",
          "openai-api": "tab:orange"}
MARKERS = {"fp32": "o", "fp16": "s", "int8": "^", "bf16": "D"}


def plot_pareto(result: dict, path: Path) -> str | None:
    """Accuracy against p50 latency (the Pareto view), one labelled point per measured row
    (model size instead of accuracy without labelled data); colour is the runtime, the marker the
    precision, both in the legend. None when drawn, else a note why not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no plot: matplotlib is not installed (pip install 'edgeemo[plot]')"
    if not any(r["status"] == "ok" and r.get("latency_ms") for r in result["records"]):
        return "no plot: no row was measured"
    fig, _ = pareto_figure(result, plt)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return None


def pareto_figure(result: dict, plt) -> tuple[object, list]:
    """The figure :func:`plot_pareto` saves, and the screen boxes of its point labels."""
    pts = [r for r in result["records"] if r["status"] == "ok" and r.get("latency_ms")]
    with_acc = [r for r in pts if r.get("accuracy") is not None]
    fig, ax = plt.subplots(figsize=(10, 6.5), dpi=120)
    y_of = (lambda r: r["accuracy"]) if with_acc else (lambda r: r.get("size_mb") or 0.0)
    pts = with_acc or pts
    for r in pts:
        ax.scatter(r["latency_ms"]["p50"], y_of(r), marker=MARKERS.get(r["precision"], "o"),
                   color=COLORS.get(r["backend"], "tab:gray"), s=45, zorder=3)
    if with_acc:
        _pareto_front(ax, pts, y_of)
        untimed = [r for r in result["records"] if r["status"] == "ok" and not r.get("latency_ms")
                   and r.get("accuracy") is not None]  # published answers: accuracy only
        for r, color in zip(untimed, ("tab:red", "tab:brown", "tab:pink", "tab:olive")):
            ax.axhline(r["accuracy"], color=color, lw=1, ls=":",
                       label=f"{r['model']} ({r['backend']}, no latency): {r['accuracy']:.4f}, n={r['n']}")
    _axes(ax, result["metadata"], [r["latency_ms"]["p50"] for r in pts], bool(with_acc))
    _legend(ax, pts)
    fig.tight_layout()
    return fig, _place_labels(fig, ax, [((r["latency_ms"]["p50"], y_of(r)), row_label(r)) for r in pts])


def _pareto_front(ax, pts: list[dict], y_of) -> None:
    """The rows no other row beats on both latency and accuracy, joined by a dashed step line."""
    best, line = -math.inf, []
    for r in sorted(pts, key=lambda r: (r["latency_ms"]["p50"], -y_of(r))):
        if y_of(r) > best:
            best = y_of(r)
            line.append((r["latency_ms"]["p50"], y_of(r)))
    if len(line) > 1:
        ax.step(*zip(*line), where="post", color="grey", lw=0.8, ls="--", label="Pareto front", zorder=2)


def _axes(ax, m: dict, xs: list[float], with_acc: bool) -> None:
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    log = min(xs) > 0 and max(xs) / min(xs) > 10
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.margins(x=0.25, y=0.12)
    ax.set_xlabel(f"single-face latency p50 (ms{', log scale' if log else ''}), {m['threads']} thread(s)")
    ax.set_ylabel("accuracy" if with_acc else "model size (MB); no labelled data, so no accuracy")
    data = m.get("data")
    ax.set_title(f"edgeemo bench · {m['device_profile']['name']} · {m['cpu']['model'][:40]}"
                 + (f" · {data['split']} n={data['n']}" if data else "")
                 + (", FER+ majority labels" if data and data.get("labels") == "ferplus" else "")
                 + (" · INTERRUPTED: some rows not run" if m.get("interrupted") else ""), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)


def _legend(ax, pts: list[dict]) -> None:
    """Colour = runtime and marker = precision, for those in the plot, beside the axes."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="none", marker="o", color=COLORS.get(b, "tab:gray"), label=b)
               for b in dict.fromkeys(r["backend"] for r in pts)]
    handles += [Line2D([], [], ls="none", marker=MARKERS.get(p, "o"), color="black", mfc="none", label=p or "—")
                for p in dict.fromkeys(r["precision"] for r in pts)]
    handles += [h for h in ax.get_legend_handles_labels()[0]]  # the Pareto front
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title="runtime (colour), precision (marker)", title_fontsize=8)


def _overlaps(a, b, pad: float = 1.0) -> bool:
    return a.x0 < b.x1 + pad and b.x0 < a.x1 + pad and a.y0 < b.y1 + pad and b.y0 < a.y1 + pad


def _place_labels(fig, ax, items: list[tuple[tuple[float, float], str]], fontsize: float = 7) -> list:
    """Label every point without labels overlapping each other or the points: each label is drawn,
    its real extent measured, and it moves to the nearest free slot above or below its point, with a
    leader line when moved."""
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    line = fontsize * 1.4  # points
    dots = [to_px(xy) for xy, _ in items]
    placed: list = []
    order = sorted(range(len(items)), key=lambda i: (-items[i][0][1], items[i][0][0]))
    for i in order:
        (x, y), text = items[i]
        ann = ax.annotate(text, (x, y), xytext=(5, 2), textcoords="offset points", fontsize=fontsize, va="bottom",
                          annotation_clip=False)
        for k in range(80):
            dy = 2 + ((k + 1) // 2) * line * (1 if k % 2 == 0 else -1) if k else 2
            ann.set_position((5, dy))
            box = ann.get_window_extent(renderer)
            hits_dot = any(box.x0 - 3 < dx < box.x1 + 3 and box.y0 - 3 < dy_ < box.y1 + 3 for dx, dy_ in dots)
            if not hits_dot and not any(_overlaps(box, b) for b in placed):
                break
        placed.append(box)
        if abs(dy) > line:  # moved away from its point: a leader line shows whose label it is
            ann.remove()
            ax.annotate(text, (x, y), xytext=(5, dy), textcoords="offset points", fontsize=fontsize, va="bottom",
                        annotation_clip=False,
                        arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "grey", "shrinkA": 0, "shrinkB": 3})
    return placed


def write_outputs(result: dict, stem: str | Path, *, plot: bool = True) -> tuple[list[Path], str | None]:
    """Write STEM.json, .csv, .md (and .png); returns the paths and a note when the plot was skipped."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(stem.name + ext) for ext in (".json", ".csv", ".md")]
    write_json(result, paths[0])
    paths[1].write_text(csv_text(result))
    paths[2].write_text(markdown_text(result))
    note = None
    if plot:
        png = stem.with_name(stem.name + ".png")
        note = plot_pareto(result, png)
        if note is None:
            paths.append(png)
    return paths, note


def spread_markdown(first: dict, second: dict) -> str:
    """Run-to-run spread of two bench results on the same machine: per row p50, p90, mean±std,
    throughput, cold start and memory side by side, with the relative change of p50 and throughput."""
    def key(r: dict) -> tuple:
        return r["model"], r.get("backend"), r.get("device"), r.get("precision")

    other = {key(r): r for r in second["records"] if r["status"] == "ok"}
    m1, m2 = first["metadata"], second["metadata"]

    def load(m: dict) -> str:
        a, b = m.get("load_average_start"), m.get("load_average_end")
        return f"{a[0]:.1f} → {b[0]:.1f}" if a and b else "n/a"

    lines = [f"Run 1: {m1['date']} (load average {load(m1)}); run 2: {m2['date']} (load average {load(m2)}); "
             f"{m1['cpu']['model']}, {m1['threads']} thread(s).", "",
             "| model | backend | precision | accuracy 1 / 2 | p50 ms 1 / 2 | Δ p50 | p90 ms 1 / 2 | "
             "mean ± std 1 / 2 | fps 1 / 2 | Δ fps | cold ms 1 / 2 | peak MB 1 / 2 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    deltas = []
    for r in first["records"]:
        s = other.get(key(r))
        if r["status"] != "ok" or s is None or is_vlm(r):
            continue
        a, b = r["latency_ms"], s["latency_ms"]
        d = 100 * (b["p50"] - a["p50"]) / a["p50"]
        dt = 100 * (s["throughput_fps"] - r["throughput_fps"]) / r["throughput_fps"]
        deltas.append(abs(d))
        acc = (f"{r['accuracy']:.4f} / {s['accuracy']:.4f}" if r.get("accuracy") is not None
               and s.get("accuracy") is not None else "")
        lines.append(
            f"| {r['model']} | {r['backend']} | {r['precision']} | {acc} | {a['p50']:.3f} / {b['p50']:.3f} | "
            f"{d:+.1f}% | {a['p90']:.3f} / {b['p90']:.3f} | {a['mean']:.3f} ± {a['std']:.3f} / "
            f"{b['mean']:.3f} ± {b['std']:.3f} | {r['throughput_fps']:.0f} / {s['throughput_fps']:.0f} | {dt:+.1f}% | "
            f"{r['cold_start_ms']:.0f} / {s['cold_start_ms']:.0f} | {r['peak_rss_mb']:.1f} / {s['peak_rss_mb']:.1f} |")
    if deltas:
        deltas.sort()
        within5 = sum(d <= 5 for d in deltas)
        lines += ["", f"|Δ p50| over {len(deltas)} rows: median {deltas[len(deltas) // 2]:.1f}%, "
                      f"max {deltas[-1]:.1f}%; {within5} of {len(deltas)} rows within 5%."]
    return "\n".join(lines) + "\n"
