"""How a model's input clips are made from a video: which frames, at what size, with what
normalisation. Saved with the weights, so that a loaded model is fed as it was trained."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..constants import CLIP_MEAN, CLIP_STD

__all__ = ["Preprocessing"]


@dataclass(frozen=True)
class Preprocessing:
    """Evaluation-time preprocessing: ``num_frames`` sampled by ``sampling`` (``segment``:
    one frame per equal segment; ``interval``: every ``sampling_interval``-th frame at
    ``target_fps``), the short side resized to ``resize``, a centre crop of ``crop_size``,
    then normalised by ``mean`` and ``std``; ``num_views`` temporal views per video
    (``data.num_temporal_views``), their softmax averaged."""

    num_frames: int
    crop_size: int
    resize: int | None = None  # None: crop_size
    sampling: Literal["segment", "interval"] = "segment"
    sampling_interval: int = 4
    target_fps: float | None = None
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    num_views: int = 3  # data.num_temporal_views' default, also for files saved before it was recorded

    @classmethod
    def from_data_section(cls, data: Mapping[str, Any], num_frames: int, image_size: int) -> Preprocessing:
        """The evaluation preprocessing of an experiment's ``data`` section (as a dict), for
        a model taking ``num_frames`` at ``image_size``; absent keys take the defaults."""
        return cls(
            num_frames=num_frames,
            crop_size=data.get("test_crop_size", image_size),
            resize=data.get("test_scale"),
            sampling=data.get("sampling", "segment"),
            sampling_interval=data.get("sampling_interval", 4),
            target_fps=data.get("target_fps"),
            mean=tuple(data.get("mean", CLIP_MEAN)),
            std=tuple(data.get("std", CLIP_STD)),
            num_views=data.get("num_temporal_views", cls.num_views),
        )
