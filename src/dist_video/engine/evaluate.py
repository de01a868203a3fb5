"""Multi-view evaluation: scores of every (video, view) item, merged across processes
exactly once per item and summed per video; accuracy metrics and their reports."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from timm.utils import accuracy
from tqdm import tqdm

from ..errors import DataError
from .distributed import DistEnv, all_gather_objects, init_distributed, shutdown
from .loaders import check_num_frames, make_loader

__all__ = [
    "EvalScores",
    "EvalReport",
    "collect_scores",
    "merge_view_scores",
    "classification_metrics",
    "summarize",
    "write_reports",
    "evaluate_and_report",
    "run_evaluation",
]

# The headline numbers of an evaluation: metrics.json, the training log, the CLI's output.
SUMMARY_KEYS = ("top1", "top5", "mean_class_accuracy", "num_videos")


@dataclass
class EvalScores:
    """Per-video summed scores ``(N, K)``, labels ``(N,)`` and video indices ``(N,)``, and
    the indices of the videos left out because they could not be decoded."""

    scores: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    views_per_video: int
    skipped: list[int] = field(default_factory=list)


@torch.no_grad()
def collect_scores(
    model: torch.nn.Module, loader, device: torch.device, env: DistEnv, desc: str = "eval"
) -> EvalScores:
    """Run ``model`` over an evaluation loader whose items carry ``index`` and ``view``,
    gather every process's softmax scores and merge them (see :func:`merge_view_scores`)."""
    model.eval()
    rows: list[tuple[int, int, int, torch.Tensor]] = []
    failed: set[int] = set()
    for batch in tqdm(loader, desc=desc, disable=not env.is_main, leave=False, dynamic_ncols=True):
        video = batch["video"].to(device, non_blocking=True)
        probs = model(video).float().softmax(dim=-1).cpu()
        for i in range(probs.shape[0]):
            if batch["failures"][i]:  # unreadable, under on_decode_error_eval: skip
                failed.add(int(batch["index"][i]))
            else:
                rows.append((int(batch["index"][i]), int(batch["view"][i]), int(batch["label"][i]), probs[i]))
    parts = all_gather_objects((rows, failed), env)
    failed = set().union(*(part[1] for part in parts))
    result = merge_view_scores([row for part in parts for row in part[0] if row[0] not in failed])
    result.skipped = sorted(failed)
    return result


def merge_view_scores(rows: Sequence[tuple[int, int, int, torch.Tensor]]) -> EvalScores:
    """Sum the scores of each video's views. ``rows`` are ``(index, view, label, scores)``;
    a (video, view) pair seen twice is an error, as is a video missing some views."""
    seen: dict[tuple[int, int], None] = {}
    per_video: dict[int, list] = {}
    for index, view, label, scores in rows:
        if (index, view) in seen:
            raise RuntimeError(f"video {index} view {view} was evaluated twice")
        seen[(index, view)] = None
        entry = per_video.setdefault(index, [label, torch.zeros_like(scores), 0])
        entry[1] += scores
        entry[2] += 1
    counts = {entry[2] for entry in per_video.values()}
    if len(counts) > 1:
        raise RuntimeError(f"videos were evaluated with different numbers of views: {sorted(counts)}")
    order = sorted(per_video)
    return EvalScores(
        scores=torch.stack([per_video[i][1] for i in order]),
        labels=torch.tensor([per_video[i][0] for i in order]),
        indices=torch.tensor(order),
        views_per_video=counts.pop() if counts else 0,
    )


def classification_metrics(scores: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict:
    """Top-1, top-5 and mean class accuracy (in %), per-class accuracy and the confusion
    matrix (rows: true class, columns: predicted)."""
    if scores.shape[0] == 0:
        raise DataError("no videos were evaluated")
    top1, top5 = accuracy(scores, labels, topk=(1, 5))
    pred = scores.argmax(dim=1)
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    confusion.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    support = confusion.sum(dim=1)
    per_class = torch.where(support > 0, confusion.diag() / support.clamp(min=1), torch.nan)
    return {
        "top1": top1.item(),
        "top5": top5.item(),
        "mean_class_accuracy": 100.0 * per_class[support > 0].mean().item(),
        "num_videos": int(scores.shape[0]),
        "per_class_accuracy": per_class.tolist(),
        "support": support.tolist(),
        "confusion": confusion,
    }


def summarize(result: EvalScores, metrics: dict, video_paths: Sequence[str] | None = None) -> dict:
    """What ``metrics.json`` holds: the headline metrics, views per video, and the videos
    left out because they could not be decoded (by path where known)."""
    summary = {k: metrics[k] for k in SUMMARY_KEYS}
    summary["views_per_video"] = result.views_per_video
    summary["num_videos_skipped"] = len(result.skipped)
    if result.skipped:
        summary["skipped_videos"] = [str(video_paths[i]) if video_paths is not None else i for i in result.skipped]
    return summary


def write_reports(
    result: EvalScores,
    metrics: dict,
    class_names: Sequence[str],
    out_dir: str | Path,
    video_paths: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write ``metrics.json``, ``per_class_accuracy.csv``, ``predictions.jsonl``,
    ``confusion_matrix.png`` and ``scores.pt`` (summed scores, labels and video indices,
    for further analysis) into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        name: out / name
        for name in ("metrics.json", "per_class_accuracy.csv", "predictions.jsonl", "confusion_matrix.png", "scores.pt")
    }
    torch.save({"scores": result.scores, "labels": result.labels, "indices": result.indices}, paths["scores.pt"])
    paths["metrics.json"].write_text(json.dumps(summarize(result, metrics, video_paths), indent=2) + "\n")
    with paths["per_class_accuracy.csv"].open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["class_id", "class_name", "videos", "accuracy"])
        for i, name in enumerate(class_names):
            acc = metrics["per_class_accuracy"][i]
            writer.writerow([i, name, metrics["support"][i], "" if acc != acc else f"{100 * acc:.2f}"])
    probs = result.scores / result.scores.sum(dim=1, keepdim=True)
    top = probs.topk(min(5, probs.shape[1]), dim=1)
    with paths["predictions.jsonl"].open("w") as f:
        for row, index in enumerate(result.indices.tolist()):
            record = {
                "index": index,
                "label": int(result.labels[row]),
                "top5": [class_names[j] for j in top.indices[row].tolist()],
                "top5_ids": top.indices[row].tolist(),
                "probs": [round(p, 5) for p in top.values[row].tolist()],
            }
            if video_paths is not None:
                record["video"] = str(video_paths[index])
            f.write(json.dumps(record) + "\n")
    plot_confusion(metrics["confusion"], class_names, paths["confusion_matrix.png"])
    return paths


def plot_confusion(confusion: torch.Tensor, class_names: Sequence[str], path: str | Path) -> None:
    """A row-normalised confusion matrix as a PNG (class names shown up to 40 classes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = confusion.float() / confusion.sum(dim=1, keepdim=True).clamp(min=1)
    n = len(class_names)
    size = min(16, 3 + 0.35 * n)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(rows.numpy(), cmap="Blues", vmin=0, vmax=1)
    if n <= 40:
        ax.set_xticks(range(n), class_names, rotation=90, fontsize=7)
        ax.set_yticks(range(n), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@dataclass
class EvalReport:
    """An evaluation's summary (:func:`summarize`), its full metrics and per-video scores."""

    summary: dict
    metrics: dict
    scores: EvalScores


def evaluate_and_report(
    model: torch.nn.Module, loader, dataset, env: DistEnv, out_dir: str | Path, desc: str = "eval"
) -> EvalReport | None:
    """Score ``dataset`` through ``loader`` on every process, then (rank 0) compute the
    metrics and write the reports into ``out_dir``. Returns the report on rank 0, ``None``
    on the others."""
    result = collect_scores(model, loader, env.device, env, desc=desc)
    if not env.is_main:
        return None
    metrics = classification_metrics(result.scores, result.labels, len(dataset.class_names))
    video_paths = getattr(dataset, "video_paths", None)
    write_reports(result, metrics, dataset.class_names, out_dir, video_paths)
    return EvalReport(summarize(result, metrics, video_paths), metrics, result)


def run_evaluation(config, checkpoint: str | Path, out_dir: str | Path | None = None) -> dict:
    """``dist-video eval``: evaluate ``checkpoint`` (a model directory, a training
    checkpoint or a release ``.pyth``) on the config's validation split with its views
    and crops; rank 0 writes the reports and returns the summary."""
    from ..data import build_dataset
    from ..models.hub import load_model

    env = init_distributed(config.train.device)
    try:
        dataset = build_dataset(config.data, config.data.eval_split, train=False)
        model = load_model(checkpoint, dataset.class_names, env.device)
        check_num_frames(model, config)
        out = Path(out_dir or Path(config.output_dir) / f"eval_{Path(checkpoint).stem}")
        report = evaluate_and_report(model, make_loader(config, dataset, train=False, env=env), dataset, env, out)
        return {} if report is None else {**report.summary, "reports": str(out)}
    finally:
        shutdown(env)
