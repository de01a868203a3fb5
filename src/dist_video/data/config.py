"""The ``data:`` section of an experiment config."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..config import ConfigError, apply_overrides, check_field, from_dict, load_yaml
from ..constants import CLIP_MEAN, CLIP_STD

__all__ = ["DataConfig", "load_data_config"]


@dataclass
class DataConfig:
    """Where the videos are, how clips are sampled and augmented, how they are loaded.

    Data set (see ``docs/data.md`` for the file formats):
        format: ``ssv2`` (Something-Something V2 JSON files), ``kinetics`` (Kinetics CSV
            files), ``list`` (lines ``path label``, or a CSV), or ``synthetic``: a data set
            written by ``make-synthetic`` (``root`` its ``videos`` folder) whose training
            clips are rendered afresh for every item by the generator that wrote it, so that
            no clip repeats; its other splits are read from the files, as ``ssv2``; or
            ``folders``: one folder per class, ``root/<split>/<class>/<video>``.
        root: the folder holding the videos.
        annotations: split name -> annotation file, e.g. ``{train: ..., val: ...}``; for
            ``folders`` split name -> the split's folder of class folders, relative to ``root``
            (a split without an entry: ``root/<split>``; when empty, it lists ``train_split``
            and ``eval_split``).
        labels: the class-names file: SSv2's labels JSON (required for ``ssv2``); for
            ``kinetics`` optional (default: the sorted labels of the train CSV); for
            ``list`` and ``folders`` one name per line (or ``index name`` lines, as UCF101's
            classInd.txt); without it, the sorted names of the training split.
        train_split / eval_split: the ``annotations`` keys used for training / evaluation.
        missing_report: where to write the list of annotated videos absent from ``root``
            (``{split}`` is replaced by the split name); unset: only logged.
    Sampling:
        num_frames: T dense frames per clip.
        sampling: ``segment`` (T equal segments) or ``interval`` (every
            ``sampling_interval``-th frame at ``target_fps``; unset: the video's own rate).
        num_temporal_views, num_spatial_crops: test views per video (crops: 1 or 3).
    Augmentation (training) and preprocessing:
        train_crop_size, crop_scale, crop_ratio: random resized crop.
        flip: random horizontal flip (p = 0.5); ``ssv2_flip_swap_labels``: a flipped clip takes
            the label of its mirror class (``left`` <-> ``right`` in the class name), as the
            release does for SSv2 (it applies to any class list with such pairs; Kinetics
            has none).
        brightness, contrast, saturation, hue, color_jitter_prob, grayscale_prob.
        test_scale (short side), test_crop_size; mean, std (CLIP's).
        mixup_alpha, cutmix_alpha, mixup_switch_prob, label_smoothing (batch-level).
    Loading:
        decoder: ``auto`` (decord, PyAV where decord fails), ``decord`` or ``pyav``.
        on_decode_error_train: ``skip`` (log, count, use another random video) or ``raise``.
        on_decode_error_eval: ``raise``, or ``skip`` (the item is marked failed and must be
            left out of the metrics).
        num_workers, pin_memory (unset: when CUDA is available), persistent_workers.
    """

    format: Literal["ssv2", "kinetics", "list", "synthetic", "folders"] = "ssv2"
    root: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    labels: str | None = None
    train_split: str = "train"
    eval_split: str = "val"
    missing_report: str | None = None

    num_frames: int = 16
    sampling: Literal["segment", "interval"] = "segment"
    sampling_interval: int = 4
    target_fps: float | None = None
    num_temporal_views: int = 3
    num_spatial_crops: int = 1

    train_crop_size: int = 224
    crop_scale: tuple[float, float] = (0.4, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip: bool = True
    ssv2_flip_swap_labels: bool = True
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.2
    hue: float = 0.1
    color_jitter_prob: float = 1.0
    grayscale_prob: float = 0.2
    test_scale: int = 224
    test_crop_size: int = 224
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD

    mixup_alpha: float = 0.8
    cutmix_alpha: float = 1.0
    mixup_switch_prob: float = 0.5
    label_smoothing: float = 0.1

    decoder: Literal["auto", "decord", "pyav"] = "auto"
    on_decode_error_train: Literal["skip", "raise"] = "skip"
    on_decode_error_eval: Literal["skip", "raise"] = "raise"
    num_workers: int = 8
    pin_memory: bool | None = None
    persistent_workers: bool = True

    def __post_init__(self) -> None:
        for name in (
            "num_frames",
            "sampling_interval",
            "num_temporal_views",
            "train_crop_size",
            "test_scale",
            "test_crop_size",
        ):
            check_field(self, name, getattr(self, name) >= 1, "must be >= 1")
        check_field(self, "num_spatial_crops", self.num_spatial_crops in (1, 3), "must be 1 or 3")
        check_field(self, "test_crop_size", self.test_crop_size <= self.test_scale, "must not exceed test_scale")
        check_field(self, "target_fps", self.target_fps is None or self.target_fps > 0, "must be positive")
        check_field(self, "num_workers", self.num_workers >= 0, "must be >= 0")
        check_field(
            self,
            "crop_scale",
            len(self.crop_scale) == 2 and 0 < self.crop_scale[0] <= self.crop_scale[1] <= 1,
            "must be [min, max] with 0 < min <= max <= 1",
        )
        check_field(
            self,
            "crop_ratio",
            len(self.crop_ratio) == 2 and 0 < self.crop_ratio[0] <= self.crop_ratio[1],
            "must be [min, max] with 0 < min <= max",
        )
        for name in ("brightness", "contrast", "saturation", "mixup_alpha", "cutmix_alpha"):
            check_field(self, name, getattr(self, name) >= 0, "must be >= 0")
        check_field(self, "hue", 0 <= self.hue <= 0.5, "must be in [0, 0.5]")
        for name in ("color_jitter_prob", "grayscale_prob", "mixup_switch_prob"):
            check_field(self, name, 0 <= getattr(self, name) <= 1, "must be in [0, 1]")
        check_field(self, "label_smoothing", 0 <= self.label_smoothing < 1, "must be in [0, 1)")
        check_field(self, "mean", len(self.mean) == 3, "must have 3 values")
        check_field(self, "std", len(self.std) == 3 and all(s > 0 for s in self.std), "must be 3 positive values")
        for split, path in self.annotations.items():
            check_field(self, "annotations", isinstance(path, (str, os.PathLike)), f"{split!r} must map to a file path")
        if self.format == "folders" and not self.annotations:  # root/<split>/<class>/<video>
            self.annotations = {split: split for split in (self.train_split, self.eval_split)}

    def annotation(self, split: str) -> Path:
        """The annotation file of ``split``; a clear error when the config has none."""
        if split not in self.annotations:
            raise ConfigError(f"data.annotations has no entry for split {split!r} (it has {sorted(self.annotations)})")
        return Path(self.annotations[split])


def load_data_config(path: str | Path, overrides: Sequence[str] = ()) -> DataConfig:
    """The ``data`` section of an experiment YAML (other sections are ignored), with
    ``data.key=value`` overrides applied."""
    data = apply_overrides(load_yaml(path), list(overrides))
    return from_dict(DataConfig, data.get("data"), f"{path}: data")
