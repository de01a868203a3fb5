"""Which ``T`` frames of a video make a clip: segment-based and interval-based sampling.

Both follow the release (EssentialMC2 / TAdaConv ``BaseVideoDataset``,
``_segment_based_sampling`` and ``_interval_based_sampling``) index for index, with its
float32 arithmetic and rounding, so that a trained model sees the clips it was trained on:

* segment: the video is cut into ``T`` equal segments (bounds ``linspace(0, n, T + 1)``).
  Training takes a uniform random position in each segment; testing with one view takes
  each segment's centre, and view ``v`` of ``V > 1`` views the position
  ``start + length * (v + 1) / V`` (so the last view sits on the segment's end). Positions
  are clamped to ``[0, n - 1]`` and rounded half to even (``torch.round``).
* interval: a window of ``T * interval`` frames at ``target_fps`` (``T * interval * fps /
  target_fps`` frames of the video; without ``target_fps``, at the video's own rate),
  read at ``linspace(start, start + window - 1, T)`` truncated to integers. Training
  draws ``start`` uniformly in ``[0, n - window]``; testing places view ``v`` of ``V`` at
  ``(n - window) * v / V`` (one view: the middle).

A video shorter than the clip gives repeated frames rather than an error: segment
sampling repeats frames across segments, interval sampling clamps to the last frame.
Random draws come from an explicit ``random.Random`` so that a clip is a function of its
seed alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

__all__ = ["FrameSampler", "interval_indices", "segment_indices"]


def segment_indices(
    video_frames: int,
    num_frames: int,
    view: int | None = None,
    num_views: int = 1,
    rng: random.Random | None = None,
) -> list[int]:
    """Segment-based frame indices: random per segment (``view=None``) or test view ``view``."""
    if video_frames < 1:
        raise ValueError(f"cannot sample from a video of {video_frames} frames")
    bounds = torch.linspace(0, video_frames, num_frames + 1)
    start, end = bounds[:-1], bounds[1:]
    if view is None:
        rng = rng or random.Random()
        position = start + (end - start) * torch.tensor([rng.random() for _ in range(num_frames)])
    elif num_views == 1:
        position = (start + end) / 2
    else:
        position = start + (end - start) * (view + 1) / num_views
    return torch.round(position.clamp(0, video_frames - 1)).long().tolist()


def interval_indices(
    video_frames: int,
    num_frames: int,
    interval: int,
    video_fps: float | None = None,
    target_fps: float | None = None,
    view: int | None = None,
    num_views: int = 1,
    rng: random.Random | None = None,
) -> list[int]:
    """Interval-based frame indices: a random window (``view=None``) or test view ``view``."""
    if video_frames < 1:
        raise ValueError(f"cannot sample from a video of {video_frames} frames")
    window = num_frames * interval
    if target_fps is not None and video_fps:
        window = window * video_fps / target_fps
    latest = max(video_frames - window, 0)
    if view is None:
        start = (rng or random.Random()).uniform(0, latest)
    elif num_views == 1:
        start = latest / 2
    else:
        start = latest * view / num_views
    position = torch.linspace(start, start + window - 1, num_frames)
    return position.clamp(0, video_frames - 1).long().tolist()


@dataclass(frozen=True)
class FrameSampler:
    """The sampling rule of a dataset: ``sampler(video_frames, fps, view, num_views, rng)``."""

    mode: str = "segment"  # "segment" | "interval"
    num_frames: int = 16
    interval: int = 4
    target_fps: float | None = None

    def __call__(
        self,
        video_frames: int,
        fps: float | None = None,
        view: int | None = None,
        num_views: int = 1,
        rng: random.Random | None = None,
    ) -> list[int]:
        if self.mode == "segment":
            return segment_indices(video_frames, self.num_frames, view, num_views, rng)
        if self.mode == "interval":
            return interval_indices(
                video_frames, self.num_frames, self.interval, fps, self.target_fps, view, num_views, rng
            )
        raise ValueError(f"unknown sampling mode {self.mode!r}")
