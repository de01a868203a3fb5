"""An evaluation's reports for people: per-class recall and precision, the confusion matrix
(in full as CSV, and as a picture that stays legible at hundreds of classes), the most
confused class pairs, one prediction per video, and the summary ``dist-video eval`` prints.
Numbers people read are percentages with two decimals; metrics.json keeps full precision."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path

import torch

from ..io import atomic_path

__all__ = [
    "SHOWN_CLASSES",
    "percent",
    "video_id",
    "most_confused",
    "classes_to_show",
    "write_per_class",
    "write_confusion",
    "write_most_confused",
    "write_predictions",
    "plot_confusion",
    "format_summary",
    "format_report",
]

SHOWN_CLASSES = 30  # the confusion picture's classes at most; with more, the most confused ones
CONSOLE_ROWS = 5  # class pairs and classes listed by format_report


def percent(value: float) -> str:
    """A percentage as people read it: two decimals; empty when undefined (NaN)."""
    return "" if math.isnan(value) else f"{value:.2f}"


def video_id(path: str | Path) -> str:
    """A video's id: its file name without the extension (SSv2's number, Kinetics'
    ``<youtube_id>_<start>_<end>``, UCF101's ``v_<class>_g<group>_c<clip>``)."""
    return Path(path).stem


def most_confused(confusion: torch.Tensor, limit: int | None = None) -> list[tuple[int, int, int]]:
    """The confusions, ``(true class, predicted class, videos)``, most videos first (ties in
    class order); at most ``limit`` of them."""
    errors = confusion.clone()
    errors.fill_diagonal_(0)
    true, predicted = errors.nonzero(as_tuple=True)
    counts, order = errors[true, predicted].sort(descending=True, stable=True)
    pairs = zip(true[order].tolist(), predicted[order].tolist(), counts.tolist())
    return list(pairs)[:limit]


def classes_to_show(confusion: torch.Tensor, limit: int = SHOWN_CLASSES) -> list[int]:
    """The classes a confusion picture shows, in class order: all of them up to ``limit``,
    otherwise the ``limit`` classes with the most errors (videos of the class predicted as
    another, plus videos of other classes predicted as it)."""
    num_classes = confusion.shape[0]
    if num_classes <= limit:
        return list(range(num_classes))
    diagonal = confusion.diag()
    errors = (confusion.sum(dim=1) - diagonal) + (confusion.sum(dim=0) - diagonal)
    return sorted(errors.sort(descending=True, stable=True).indices[:limit].tolist())


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write_per_class(path: Path, metrics: dict, class_names: Sequence[str]) -> None:
    """One row per class: its videos, how many videos were predicted as it, recall (the
    per-class accuracy) and precision, in %; empty where undefined."""
    predicted = metrics["confusion"].sum(dim=0).tolist()
    rows = [
        [i, name, metrics["support"][i], predicted[i], percent(100 * recall), percent(100 * precision)]
        for i, (name, recall, precision) in enumerate(
            zip(class_names, metrics["per_class_accuracy"], metrics["per_class_precision"])
        )
    ]
    _write_csv(path, ["class_id", "class_name", "videos", "predicted", "recall", "precision"], rows)


def write_confusion(path: Path, confusion: torch.Tensor, class_names: Sequence[str]) -> None:
    """The full confusion matrix in videos: a row per true class, a column per predicted
    class, both headed by the class names."""
    rows = [[name, *counts] for name, counts in zip(class_names, confusion.tolist())]
    _write_csv(path, ["true \\ predicted", *class_names], rows)


def write_most_confused(path: Path, confusion: torch.Tensor, class_names: Sequence[str]) -> None:
    """Every confused pair of classes, most videos first, with the share of the true
    class's videos (%)."""
    support = confusion.sum(dim=1).tolist()
    rows = [
        [t, class_names[t], p, class_names[p], videos, percent(100 * videos / support[t])]
        for t, p, videos in most_confused(confusion)
    ]
    header = ["true_id", "true_class", "predicted_id", "predicted_class", "videos", "percent_of_true_class"]
    _write_csv(path, header, rows)


def write_predictions(
    path: Path,
    scores: torch.Tensor,
    labels: torch.Tensor,
    indices: torch.Tensor,
    class_names: Sequence[str],
    video_paths: Sequence[str] | None = None,
) -> None:
    """``predictions.jsonl``: per video its data-set index, id and path (where known), true
    class, whether the top prediction is right, the five best classes and their
    probabilities (the views' summed scores, normalised)."""
    probs = scores / scores.sum(dim=1, keepdim=True)
    top = probs.topk(min(5, probs.shape[1]), dim=1)
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for row, index in enumerate(indices.tolist()):
            label, best = int(labels[row]), top.indices[row].tolist()
            record: dict = {"index": index}
            if video_paths is not None:
                record |= {"id": video_id(video_paths[index]), "video": str(video_paths[index])}
            record |= {
                "label": label,
                "label_name": class_names[label],
                "correct": best[0] == label,
                "top5": [class_names[j] for j in best],
                "top5_ids": best,
                "probs": [round(p, 5) for p in top.values[row].tolist()],
            }
            f.write(json.dumps(record) + "\n")


def _short(name: str, width: int = 40) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def plot_confusion(confusion: torch.Tensor, class_names: Sequence[str], path: Path, title: str) -> list[int]:
    """The confusion matrix as a PNG, each row as a share of its class's videos, with the
    video counts in the cells; beyond :data:`SHOWN_CLASSES` classes only the most confused
    ones (:func:`classes_to_show`), as the title says. Returns the classes shown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = classes_to_show(confusion)
    counts = confusion[shown][:, shown]
    shares = counts.float() / confusion[shown].sum(dim=1, keepdim=True).clamp(min=1)
    n = len(shown)
    if n < confusion.shape[0]:
        title += f"\nthe {n} most confused of {confusion.shape[0]} classes (all: confusion.csv)"
    size = 4 + 0.32 * n
    fig, ax = plt.subplots(figsize=(size + 2.5, size + 2))
    image = ax.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    names = [_short(class_names[i]) for i in shown]
    ax.set_xticks(range(n), names, rotation=90, fontsize=7)
    ax.set_yticks(range(n), names, fontsize=7)
    for (row, column), videos in zip(counts.nonzero().tolist(), counts[counts > 0].tolist()):
        colour = "white" if shares[row, column] > 0.5 else "black"
        ax.text(column, row, str(videos), ha="center", va="center", fontsize=6, color=colour)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, fraction=0.046, label="share of the true class's videos")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return shown


def format_summary(summary: dict) -> str:
    """The headline metrics of an evaluation summary, as people read them (2 decimals)."""
    split = f"split {summary['split']}: " if "split" in summary else ""
    lines = [
        f"{split}{summary['num_videos']} videos, {summary['views_per_video']} views each",
        f"  top-1                {percent(summary['top1']):>7s} %",
        f"  top-5                {percent(summary['top5']):>7s} %",
        f"  mean class accuracy  {percent(summary['mean_class_accuracy']):>7s} %",
    ]
    if summary["num_videos_skipped"]:
        lines.append(f"  left out: {summary['num_videos_skipped']} unreadable videos (listed in metrics.json)")
    return "\n".join(lines)


def format_report(summary: dict, metrics: dict, class_names: Sequence[str], rows: int = CONSOLE_ROWS) -> str:
    """The evaluation as people read it: the headline metrics, the most confused class
    pairs and the classes of lowest recall (at most ``rows`` each), and where the reports are."""
    lines = format_summary(summary).splitlines()
    confusion = metrics["confusion"]
    support = confusion.sum(dim=1).tolist()
    pairs = most_confused(confusion, rows)
    lines += ["most confused (true -> predicted):", "   videos  % of true"] if pairs else ["no confusions"]
    lines += [
        f"  {videos:7d}  {percent(100 * videos / support[t]):>9s}  {class_names[t]} -> {class_names[p]}"
        for t, p, videos in pairs
    ]
    recall = metrics["per_class_accuracy"]
    lowest = sorted((i for i in range(len(class_names)) if support[i]), key=lambda i: (recall[i], i))[:rows]
    lines += ["lowest recall:", "   recall %  precision %  videos  class"]
    lines += [
        f"  {percent(100 * recall[i]):>9s}  {percent(100 * metrics['per_class_precision'][i]) or '-':>11s}"
        f"  {support[i]:6d}  {class_names[i]}"
        for i in lowest
    ]
    if "reports" in summary:
        lines.append(f"reports: {summary['reports']}")
    return "\n".join(lines)
