"""A long video scored window by window: the model's clip span slid over the video with a
stride, class probabilities per window, and the picture of them (a strip of frames above
the top classes' probabilities over time), after mmaction2's long-video demo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.transforms.v2.functional as F

from ..data.decode import open_video
from ..data.sampling import FrameSampler
from ..data.transforms import EvalTransform
from ..errors import ConfigError, DataError
from ..io import atomic_path
from ..models.classifier import CLIPVideoClassifier

__all__ = ["Timeline", "clip_span", "draw_timeline", "video_timeline", "window_starts"]


@dataclass
class Timeline:
    """Class probabilities of windows of ``window`` frames starting at ``starts`` (every
    ``stride`` frames, the last one ending with the video), and evenly spaced thumbnails."""

    video: str
    fps: float
    num_frames: int
    window: int
    stride: int
    starts: list[int]
    probabilities: torch.Tensor  # (windows, classes), each row a softmax
    class_names: list[str]
    thumbnails: torch.Tensor  # (N, h, w, 3) uint8
    thumbnail_frames: list[int]

    @property
    def duration(self) -> float:
        """The video's length in seconds."""
        return self.num_frames / self.fps

    @property
    def times(self) -> list[float]:
        """The centre of each window, in seconds."""
        return [(start + self.window / 2) / self.fps for start in self.starts]

    def top_classes(self, k: int) -> list[int]:
        """The ``k`` classes with the highest peak probability over the windows, highest first."""
        peaks = self.probabilities.max(dim=0).values
        return peaks.topk(min(k, peaks.numel())).indices.tolist()


def clip_span(sampler: FrameSampler, fps: float) -> int:
    """Frames of a video at ``fps`` that one clip spans: ``num_frames x interval`` at the
    sampler's target rate. Interval sampling reads exactly that span; segment sampling
    spreads its frames over whatever it is given, and takes this span as its window."""
    scale = fps / sampler.target_fps if sampler.target_fps else 1.0
    return max(1, round(sampler.num_frames * sampler.interval * scale))


def window_starts(num_frames: int, window: int, stride: int) -> list[int]:
    """First frames of windows of ``window`` frames every ``stride`` frames over a video of
    ``num_frames``, plus one ending with the video when the stride does not reach its end;
    one window from frame 0 when the video is shorter than a window."""
    last = max(num_frames - window, 0)
    starts = list(range(0, last + 1, stride))
    if starts[-1] != last:
        starts.append(last)
    return starts


@torch.no_grad()
def video_timeline(
    model: CLIPVideoClassifier,
    path: str | Path,
    sampler: FrameSampler,
    transform: EvalTransform,
    window: float | None = None,
    stride: float | None = None,
    num_thumbnails: int = 8,
    thumbnail_height: int = 96,
    batch_windows: int = 8,
    backend: str = "auto",
) -> Timeline:
    """Score the video at ``path`` window by window. ``window`` (seconds; default the clip
    span, :func:`clip_span`) and ``stride`` (seconds; default a quarter of the window); each
    window gives one clip (``sampler``'s single test view of it, then ``transform``).
    Windows are decoded ``batch_windows`` at a time. Raises :class:`DecodeError` for an
    unreadable file."""
    for name, value in (("window", window), ("stride", stride)):
        if value is not None and value <= 0:
            raise ConfigError(f"the timeline's {name} must be positive, got {value} s")
    device = next(model.parameters()).device
    with open_video(path, backend) as video:
        info = video.info
        if info.fps <= 0:
            raise DataError(f"{path}: the video gives no frame rate, which a timeline needs")
        window_frames = clip_span(sampler, info.fps) if window is None else max(1, round(window * info.fps))
        window_frames = min(window_frames, info.num_frames)
        stride_frames = max(1, round(stride * info.fps) if stride is not None else window_frames // 4)
        starts = window_starts(info.num_frames, window_frames, stride_frames)
        offsets = sampler(window_frames, info.fps, view=0, num_views=1)
        probabilities = []
        for first in range(0, len(starts), batch_windows):
            batch = starts[first : first + batch_windows]
            frames = video.read([start + offset for start in batch for offset in offsets])
            clips = torch.stack([transform(clip) for clip in frames.split(len(offsets))])
            probabilities.append(model(clips.to(device)).float().softmax(dim=-1).cpu())
        thumbnail_frames = [int((i + 0.5) * info.num_frames / num_thumbnails) for i in range(num_thumbnails)]
        thumbnails = video.read(thumbnail_frames)
    height, width = thumbnails.shape[1:3]
    size = [thumbnail_height, max(1, round(width * thumbnail_height / height))]
    thumbnails = F.resize(thumbnails.permute(0, 3, 1, 2), size, antialias=True).permute(0, 2, 3, 1)
    return Timeline(
        video=str(path),
        fps=info.fps,
        num_frames=info.num_frames,
        window=window_frames,
        stride=stride_frames,
        starts=starts,
        probabilities=torch.cat(probabilities),
        class_names=list(model.class_names),
        thumbnails=thumbnails.contiguous(),
        thumbnail_frames=thumbnail_frames,
    )


def draw_timeline(timeline: Timeline, path: str | Path, top_k: int = 5) -> Path:
    """Write the timeline as a PNG: the thumbnails side by side on top, below them the
    probabilities of the ``top_k`` classes (:meth:`Timeline.top_classes`) at each window's
    centre, on one time axis in seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count, height, width = timeline.thumbnails.shape[:3]
    strip = timeline.thumbnails.permute(1, 0, 2, 3).reshape(height, count * width, 3).numpy()
    figure_width, plot_height = 11.0, 3.2
    strip_height = figure_width * height / (count * width)
    fig = plt.figure(figsize=(figure_width, strip_height + plot_height))
    grid = fig.add_gridspec(2, 1, height_ratios=[strip_height, plot_height], hspace=0.04)
    frames_axis = fig.add_subplot(grid[0])
    axis = fig.add_subplot(grid[1], sharex=frames_axis)
    frames_axis.imshow(strip, extent=(0, timeline.duration, 0, 1), aspect="auto")
    frames_axis.set_yticks([])
    frames_axis.tick_params(labelbottom=False)
    frames_axis.set_title(
        f"{Path(timeline.video).name}: windows of {timeline.window / timeline.fps:.2f} s "
        f"every {timeline.stride / timeline.fps:.2f} s",
        fontsize=10,
    )
    probabilities = timeline.probabilities.numpy()
    for k in timeline.top_classes(top_k):
        axis.plot(timeline.times, probabilities[:, k], marker=".", label=timeline.class_names[k])
    axis.set_xlim(0, timeline.duration)
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("time (s)")
    axis.set_ylabel("probability")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
