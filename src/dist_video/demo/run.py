"""``dist-video demo``: image-to-video transfer on a CPU, end to end.

1. Render a synthetic Something-Something-style data set (order-only motion classes).
2. Pre-train a small CLIP on captioned still images (it never sees a video), or take
   the user's CLIP weights.
3. Compare, with the same training and evaluation engine as real runs:
   (a) zero-shot frozen CLIP, frame-averaged; (b) frozen CLIP, frame-averaged, with a
   trained head (no temporal model); (c) DiST.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..config import apply_overrides, from_dict, load_yaml, merge_dicts, packaged_config_path, to_dict
from ..data import build_dataset
from ..engine.distributed import DistEnv
from ..engine.evaluate import collect_scores, evaluate_and_report
from ..engine.experiment import ExperimentConfig
from ..engine.loaders import make_loader
from ..engine.train import train
from ..models.clip import CLIPArch
from ..models.complexity import count_parameters
from ..models.zoo import create_model
from ..synthetic import caption_prompts, load_synthetic_config, make_synthetic_dataset, order_pairs, pair_name
from .pretrain_clip import PretrainConfig, load_or_pretrain_clip

__all__ = ["DemoConfig", "load_demo_config", "run_demo", "format_results"]

METHODS = ("zero_shot", "frame_average", "dist")


@dataclass
class DemoConfig:
    """The demo: data preset, the small CLIP and its pre-training, and the experiment
    settings shared by the methods (``experiment``) with each method's own on top."""

    synthetic_preset: str = "default"
    synthetic: dict[str, Any] = field(default_factory=dict)  # overrides of the preset
    render_training_clips: bool = True  # train on clips rendered afresh (data.format synthetic)
    seed: int = 0
    clip_arch: CLIPArch = field(default_factory=CLIPArch)
    pretrain: dict[str, Any] = field(default_factory=dict)  # PretrainConfig fields but arch
    experiment: dict[str, Any] = field(default_factory=dict)  # shared: data, optim, train
    frame_average: dict[str, Any] = field(default_factory=dict)  # model, optim, train on top
    dist: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None


def load_demo_config(name: str = "default", overrides: list[str] = ()) -> DemoConfig:
    """A demo preset (``default``, ``large``, ``tiny`` or a YAML path) with overrides."""
    path = packaged_config_path(name if Path(name).is_file() else f"demo/{name}")
    return from_dict(DemoConfig, apply_overrides(load_yaml(path), list(overrides)), str(path))


def _experiment(demo: DemoConfig, method: dict, data_dir: Path, clip_path: Path, out: Path) -> ExperimentConfig:
    data = {
        "format": "synthetic" if demo.render_training_clips else "ssv2",
        "root": str(data_dir / "videos"),
        "annotations": {
            "train": str(data_dir / "something-something-v2-train.json"),
            "val": str(data_dir / "something-something-v2-validation.json"),
        },
        "labels": str(data_dir / "something-something-v2-labels.json"),
    }
    config = merge_dicts(merge_dicts({"data": data, "output_dir": str(out)}, demo.experiment), method)
    config["model"] = merge_dicts(config.get("model", {}), {"clip": {"pretrained": str(clip_path)}})
    config.setdefault("train", {}).setdefault("seed", demo.seed)
    return from_dict(ExperimentConfig, config, f"demo experiment {out.name}")


def _order_pair_accuracy(scores: torch.Tensor, labels: torch.Tensor, class_names: list[str]) -> dict:
    """Within each order-only pair ("left/right"): accuracy of telling its two classes
    apart (chance 50 %)."""
    out = {}
    for a, b in order_pairs(class_names):
        mask = (labels == a) | (labels == b)
        if mask.any():
            pick = torch.where(scores[mask][:, a] >= scores[mask][:, b], a, b)
            out[pair_name(class_names[a])] = 100.0 * (pick == labels[mask]).float().mean().item()
    return out


def _evaluate_zero_shot(config: ExperimentConfig, out: Path) -> dict:
    dataset = build_dataset(config.data, config.data.eval_split, train=False)
    model = create_model(config.model, dataset.class_names, clip=config.model.clip.pretrained).eval()
    loader = make_loader(config, dataset, train=False, env=DistEnv())
    report = evaluate_and_report(model, loader, dataset, DistEnv(), out / "eval", desc="zero-shot eval")
    appearance = _zero_shot_appearance(model, dataset, loader, config)
    return {
        "metrics": report.metrics,
        "scores": report.scores.scores,
        "labels": report.scores.labels,
        "model": model,
        "appearance": appearance,
    }


def _zero_shot_appearance(model, dataset, loader, config: ExperimentConfig) -> dict:
    """What zero-shot CLIP does know: name the object of each validation clip ("red
    circle") among every object named in the split (SSv2's ``placeholders``), each object
    prompted by the ensemble of captions the pre-training stills could give it."""
    entries = json.loads(Path(config.data.annotations[config.data.eval_split]).read_text())
    objects = {entry["id"]: entry["placeholders"][0] for entry in entries if len(entry["placeholders"]) == 1}
    names = sorted(set(objects.values()))
    model.set_class_prompts(names, [caption_prompts(name) for name in names])
    targets = {
        i: names.index(objects[Path(r.path).stem])
        for i, r in enumerate(dataset.records)
        if Path(r.path).stem in objects
    }
    result = collect_scores(model, loader, torch.device("cpu"), DistEnv(), desc="zero-shot objects")
    keep = torch.tensor([int(i) in targets for i in result.indices])
    truth = torch.tensor([targets[int(i)] for i in result.indices[keep]])
    top1 = (result.scores[keep].argmax(dim=1) == truth).float().mean().item() * 100
    return {"top1": top1, "num_objects": len(names), "chance_top1": 100.0 / len(names), "num_videos": len(truth)}


def run_demo(out_dir: str | Path, config: DemoConfig, clip_weights: str | Path | None = None) -> dict:
    """Run the whole demo into ``out_dir``; returns what ``results.json`` holds."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    synthetic = load_synthetic_config(config.synthetic_preset, **config.synthetic)
    data_dir = make_synthetic_dataset(
        out / "data", synthetic, seed=config.seed, train_videos=not config.render_training_clips
    )
    timings["data_seconds"] = time.perf_counter() - started

    if clip_weights:
        clip_path, clip_report = Path(clip_weights), {"source": str(clip_weights)}
    else:
        pretrain = from_dict(
            PretrainConfig, {"arch": to_dict(config.clip_arch), "seed": config.seed, **config.pretrain}, "demo pretrain"
        )
        clip_path, clip_report = load_or_pretrain_clip(pretrain, out / "clip" / _pretrain_key(pretrain))

    results: dict[str, Any] = {"methods": {}, "clip": clip_report, "data": {**to_dict(synthetic), "dir": str(data_dir)}}
    for method in METHODS:
        method_dir = out / method
        overrides = {
            "zero_shot": {"model": {"kind": "frame_average", "head": False}},
            "frame_average": merge_dicts({"model": {"kind": "frame_average"}}, config.frame_average),
            "dist": config.dist,
        }[method]
        experiment = _experiment(config, overrides, data_dir, clip_path, method_dir)
        started = time.perf_counter()
        if method == "zero_shot":
            run = _evaluate_zero_shot(experiment, method_dir)
            train_seconds, model = 0.0, run["model"]
            metrics, scores, labels = run["metrics"], run["scores"], run["labels"]
            results["zero_shot_objects"] = run["appearance"]
        else:
            train(experiment)
            train_seconds = time.perf_counter() - started
            model = create_model(experiment.model, ["x"], clip=str(clip_path))
            metrics, scores, labels = _read_eval(method_dir / "eval")
        class_names = _class_names(experiment)
        pair_acc = _order_pair_accuracy(scores, labels, class_names)
        results["methods"][method] = {
            "top1": metrics["top1"],
            "top5": metrics["top5"],
            "mean_class_accuracy": metrics["mean_class_accuracy"],
            "order_pair_accuracy": pair_acc,  # pair name -> accuracy (%)
            "order_pair_accuracy_mean": sum(pair_acc.values()) / max(len(pair_acc), 1),
            "params_trainable": count_parameters(model)["params_trainable"],
            "train_seconds": round(train_seconds, 1),  # includes the periodic validation
        }
    results["class_names"] = class_names
    results["chance_top1"] = 100.0 / len(class_names)
    results["timings"] = timings
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_training_curves(out, out / "training_curves.png", results["chance_top1"])
    plot_order_pairs(results, out / "order_pairs.png")
    return results


METHOD_NAMES = {
    "zero_shot": "zero-shot CLIP, frame-averaged",
    "frame_average": "CLIP + trained head, frame-averaged",
    "dist": "DiST",
}


def format_results(results: dict) -> str:
    """The results as a table (top-1, top-5, accuracy within each order pair, parameters,
    time)."""
    pairs = list(next(iter(results["methods"].values()))["order_pair_accuracy"])
    lines = [
        f"{'method':36s} {'top-1':>6s} {'top-5':>6s} "
        + " ".join(f"{p:>{max(len(p), 5)}s}" for p in pairs)
        + f" {'trainable':>10s} {'train s':>8s}"
    ]
    for method, r in results["methods"].items():
        cells = " ".join(f"{r['order_pair_accuracy'][p]:{max(len(p), 5)}.1f}" for p in pairs)
        lines.append(
            f"{METHOD_NAMES.get(method, method):36s} {r['top1']:6.1f} {r['top5']:6.1f} {cells} "
            f"{r['params_trainable']:10,d} {r['train_seconds']:8.0f}"
        )
    lines.append(f"chance: top-1 {results['chance_top1']:.1f} %, within an order pair 50.0 %")
    if "zero_shot_objects" in results:
        objects = results["zero_shot_objects"]
        lines.append(
            f"zero-shot CLIP naming each clip's object among {objects['num_objects']}: top-1 "
            f"{objects['top1']:.1f} % (chance {objects['chance_top1']:.1f} %)"
        )
    return "\n".join(lines)


def _pretrain_key(config: PretrainConfig) -> str:
    """A cache file name that changes whenever the pre-training settings do."""
    import hashlib

    digest = hashlib.sha1(json.dumps(to_dict(config), sort_keys=True).encode()).hexdigest()[:12]
    return f"clip-{digest}.safetensors"


def _class_names(config: ExperimentConfig) -> list[str]:
    from ..data import read_class_names

    return read_class_names(config.data.labels)[0]


def _read_eval(eval_dir: Path) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Metrics, scores and labels of a run's last evaluation (its report folder)."""
    saved = torch.load(eval_dir / "scores.pt", weights_only=True)
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    return metrics, saved["scores"], saved["labels"]


def plot_training_curves(out: Path, path: Path, chance_top1: float | None = None) -> None:
    """Training loss and validation top-1 of the trained methods, from their metrics files,
    with the chance level."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for method in ("frame_average", "dist"):
        path_jsonl = out / method / "metrics.jsonl"
        if not path_jsonl.is_file():
            continue
        rows = [json.loads(line) for line in path_jsonl.read_text().splitlines()]
        train_rows = [r for r in rows if "loss" in r]
        val_rows = [r for r in rows if "val_top1" in r]
        label = METHOD_NAMES[method]
        ax_loss.plot([r["step"] for r in train_rows], [r["loss"] for r in train_rows], label=label)
        ax_acc.plot([r["step"] for r in val_rows], [r["val_top1"] for r in val_rows], marker="o", label=label)
    if chance_top1 is not None:
        ax_acc.axhline(chance_top1, color="grey", linestyle="--", label="chance")
    ax_loss.set(xlabel="step", ylabel="training loss", title="training loss")
    ax_acc.set(xlabel="step", ylabel="top-1 (%)", title="validation top-1", ylim=(0, 100))
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_order_pairs(results: dict, path: Path) -> None:
    """Accuracy within each order pair, per method, as grouped bars with the 50 % chance line."""
    plt = _pyplot()
    methods = list(results["methods"])
    pairs = list(results["methods"][methods[0]]["order_pair_accuracy"])
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(1.6 * len(pairs) + 2.5, 4))
    for i, method in enumerate(methods):
        values = [results["methods"][method]["order_pair_accuracy"][p] for p in pairs]
        ax.bar(
            [j + (i - (len(methods) - 1) / 2) * width for j in range(len(pairs))],
            values,
            width,
            label=METHOD_NAMES.get(method, method),
        )
    ax.axhline(50, color="grey", linestyle="--", label="chance")
    ax.set_xticks(range(len(pairs)), pairs)
    ax.set(ylabel="accuracy within the pair (%)", ylim=(0, 100), title="telling a motion from its time reversal")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
