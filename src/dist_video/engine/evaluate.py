"""Multi-view evaluation: scores of every (video, view) item, merged across processes
exactly once per item and summed per video; accuracy metrics and their reports."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from timm.utils import accuracy
from tqdm import tqdm

from ..constants import DTYPES
from ..errors import DataError
from ..io import atomic_path
from .distributed import DistEnv, all_gather_objects, init_distributed, shutdown
from .loaders import check_num_frames, make_loader
from .precision import resolve_precision
from .reports import plot_confusion, write_confusion, write_most_confused, write_per_class, write_predictions

log = logging.getLogger(__name__)

__all__ = [
    "EvalScores",
    "EvalReport",
    "collect_scores",
    "merge_view_scores",
    "classification_metrics",
    "summarize",
    "write_reports",
    "REPORT_FILES",
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
    """Top-1, top-5 and mean class accuracy (in %), per-class accuracy (recall) and
    precision (fractions; NaN for a class without videos, or never predicted), the videos
    per class and the confusion matrix (rows: true class, columns: predicted)."""
    if scores.shape[0] == 0:
        raise DataError("no videos were evaluated")
    top1, top5 = accuracy(scores, labels, topk=(1, 5))
    pred = scores.argmax(dim=1)
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    confusion.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    support, predicted = confusion.sum(dim=1), confusion.sum(dim=0)
    per_class = torch.where(support > 0, confusion.diag() / support.clamp(min=1), torch.nan)
    precision = torch.where(predicted > 0, confusion.diag() / predicted.clamp(min=1), torch.nan)
    return {
        "top1": top1.item(),
        "top5": top5.item(),
        "mean_class_accuracy": 100.0 * per_class[support > 0].mean().item(),
        "num_videos": int(scores.shape[0]),
        "per_class_accuracy": per_class.tolist(),
        "per_class_precision": precision.tolist(),
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


REPORT_FILES = (
    "metrics.json",
    "per_class_accuracy.csv",
    "confusion.csv",
    "most_confused.csv",
    "confusion_matrix.png",
    "predictions.jsonl",
    "scores.pt",
)


def write_reports(
    summary: dict,
    result: EvalScores,
    metrics: dict,
    class_names: Sequence[str],
    out_dir: str | Path,
    video_paths: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write the reports into ``out_dir``: ``metrics.json`` (``summary``, full precision),
    per-class recall and precision, the confusion matrix (CSV and picture), the most
    confused pairs, the predictions, and ``scores.pt`` (summed scores, labels and video
    indices, for further analysis; see :mod:`.reports`). Returns their paths."""
    out = Path(out_dir)
    paths = {name: out / name for name in REPORT_FILES}
    with atomic_path(paths["scores.pt"]) as tmp:
        torch.save({"scores": result.scores, "labels": result.labels, "indices": result.indices}, tmp)
    with atomic_path(paths["metrics.json"]) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    write_per_class(paths["per_class_accuracy.csv"], metrics, class_names)
    write_confusion(paths["confusion.csv"], metrics["confusion"], class_names)
    write_most_confused(paths["most_confused.csv"], metrics["confusion"], class_names)
    write_predictions(
        paths["predictions.jsonl"], result.scores, result.labels, result.indices, class_names, video_paths
    )
    title = (
        f"top-1 {summary['top1']:.2f} %, top-5 {summary['top5']:.2f} %, mean class accuracy "
        f"{summary['mean_class_accuracy']:.2f} %\n{summary['num_videos']} videos, {len(class_names)} classes"
    )
    plot_confusion(metrics["confusion"], class_names, paths["confusion_matrix.png"], title)
    return paths


@dataclass
class EvalReport:
    """An evaluation's summary (:func:`summarize`), its full metrics, per-video scores and
    the class names."""

    summary: dict
    metrics: dict
    scores: EvalScores
    class_names: list[str] = field(default_factory=list)


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
    summary = summarize(result, metrics, video_paths)
    write_reports(summary, result, metrics, dataset.class_names, out_dir, video_paths)
    return EvalReport(summary, metrics, result, list(dataset.class_names))


def run_evaluation(
    config, checkpoint: str | Path, out_dir: str | Path | None = None, split: str | None = None
) -> EvalReport | None:
    """``dist-video eval``: evaluate ``checkpoint`` (a model directory, a training
    checkpoint or a release ``.pyth``) on ``split`` (as ``data.annotations`` names it;
    default ``data.eval_split``) with the config's views and crops. Rank 0 writes the
    reports (default folder ``OUTPUT_DIR/eval_<checkpoint>_<split>``) and returns them,
    the summary naming the split and the folder; the other ranks return ``None``."""
    from ..data import build_dataset
    from ..models.hub import load_model

    split = split or config.data.eval_split
    env = init_distributed(config.train.device)
    try:
        dataset = build_dataset(config.data, split, train=False)
        if any(record.label < 0 for record in dataset.records):
            source = config.data.annotations.get(split, config.data.root)
            raise DataError(
                f"split {split!r} ({source}) is unlabelled: eval needs labels "
                "(`dist-video predict FOLDER` gives the classes of unlabelled videos)"
            )
        model = load_model(checkpoint, dataset.class_names, env.device)
        check_num_frames(model, config)
        # the frozen towers in the dtype training validates them in (train.frozen_dtype: auto
        # is bf16 where the hardware runs it natively), so that eval repeats the run's numbers
        precision = resolve_precision(config.train.precision, config.train.frozen_dtype, env.device)
        if precision.frozen != "fp32":
            model.cast_frozen(DTYPES[precision.frozen])
        out = Path(out_dir or Path(config.output_dir) / f"eval_{Path(checkpoint).stem}_{split}")
        if env.is_main:
            dc = config.data
            log.info(
                "evaluating %s on %s x %d process(es), %s: split %s, %d videos x %d temporal views x %d crops, "
                "%d classes, batch %d per process; reports to %s",
                checkpoint,
                env.device,
                env.world_size,
                precision.describe(),
                split,
                dataset.num_videos,
                dc.num_temporal_views,
                dc.num_spatial_crops,
                len(dataset.class_names),
                config.train.eval_batch_size or config.train.batch_size,
                out,
            )
        report = evaluate_and_report(model, make_loader(config, dataset, train=False, env=env), dataset, env, out)
        if report is not None:
            report.summary |= {"split": split, "reports": str(out)}
        return report
    finally:
        shutdown(env)
