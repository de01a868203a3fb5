"""Inference for people: the top classes of video files, folders and glob patterns, their
clips made as the model's saved preprocessing says. :class:`VideoClassifier` is what
``dist-video predict`` runs; :mod:`.timeline` scores a long video window by window."""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..data.datasets import VIDEO_EXTENSIONS, read_class_names, video_files
from ..data.decode import DecodeError, open_video
from ..data.sampling import FrameSampler
from ..data.transforms import EvalTransform
from ..errors import ConfigError, DataError
from ..models.classifier import CLIPVideoClassifier
from ..models.hub import load_model
from ..models.preprocessing import Preprocessing
from .timeline import Timeline, video_timeline

__all__ = [
    "Prediction",
    "VideoClassifier",
    "clip_pipeline",
    "find_videos",
    "parse_labels",
    "predict_video",
]

_GLOB_CHARACTERS = frozenset("*?[")


def parse_labels(labels: str | None) -> list[str] | None:
    """``--labels``: a class-names file as the data sets read it (one name per line, UCF101's
    ``classInd.txt``, SSv2's labels JSON: :func:`~dist_video.data.datasets.read_class_names`),
    or ``"a,b,c"``."""
    if not labels:
        return None
    if Path(labels).is_file():
        return read_class_names(labels)[0]
    names = [name.strip() for name in labels.split(",") if name.strip()]
    if not names:
        raise ConfigError(f"--labels {labels!r} gives no class names")
    return names


def find_videos(inputs: str | Path | Iterable[str | Path]) -> list[Path]:
    """The video files that ``inputs`` name, in order, each once.

    A folder gives the video files under it (:func:`~dist_video.data.datasets.video_files`:
    by extension, recursively, sorted by path, hidden ones left out); a glob pattern
    (``*``, ``?``, ``[``; ``**`` spans folders) gives its matches, sorted, each taken as if
    typed (a matching folder is searched as a folder); any other path is kept as given, so
    that a missing or unreadable file is reported when it is read. A folder without videos
    or a pattern matching nothing raises :class:`DataError`.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    found: dict[Path, None] = {}
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            videos = video_files(path, recursive=True)
            if not videos:
                raise DataError(f"{path}: a folder holding no video files ({', '.join(VIDEO_EXTENSIONS)})")
        elif not path.exists() and _GLOB_CHARACTERS & set(str(item)):
            matches = sorted(glob.glob(str(item), recursive=True))
            if not matches:
                raise DataError(f"{item}: the pattern matches no file")
            videos = find_videos(matches)
        else:
            videos = [path]
        found.update(dict.fromkeys(videos))
    return list(found)


def clip_pipeline(preprocessing: Preprocessing) -> tuple[FrameSampler, EvalTransform]:
    """The frame sampler and transform that make a model's input clips from a video."""
    sampler = FrameSampler(
        preprocessing.sampling, preprocessing.num_frames, preprocessing.sampling_interval, preprocessing.target_fps
    )
    transform = EvalTransform(
        scale=preprocessing.resize or preprocessing.crop_size,
        crop_size=preprocessing.crop_size,
        mean=preprocessing.mean,
        std=preprocessing.std,
    )
    return sampler, transform


@torch.no_grad()
def predict_video(
    model: CLIPVideoClassifier,
    path: str | Path,
    num_views: int | None = None,
    top_k: int = 5,
    backend: str = "auto",
) -> list[tuple[str, float]]:
    """Top-k ``(class name, probability)`` for one video file, its clips made as
    ``model.preprocessing`` says; probabilities are the mean of the softmax of
    ``num_views`` temporal views (default: the model's evaluation views). Raises
    :class:`DecodeError` for an unreadable file."""
    sampler, transform = clip_pipeline(model.preprocessing)
    num_views = num_views or model.preprocessing.num_views
    device = next(model.parameters()).device
    with open_video(path, backend) as video:
        clips = []
        for view in range(num_views):
            indices = sampler(video.info.num_frames, video.info.fps, view=view, num_views=num_views)
            clips.append(transform(video.read(indices)))
    probs = model(torch.stack(clips).to(device)).float().softmax(dim=-1).mean(dim=0)
    top = probs.topk(min(top_k, probs.numel()))
    names = model.class_names
    return [(names[i], p) for i, p in zip(top.indices.tolist(), top.values.tolist())]


@dataclass(frozen=True)
class Prediction:
    """One video's result: its top-k ``(class name, probability)``, or, when the file could
    not be read, ``error`` (the reason, naming the file) and no classes."""

    video: str
    top_k: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        """The JSON form ``dist-video predict --json`` prints (probabilities to 6 places)."""
        if self.error is not None:
            return {"video": self.video, "error": self.error}
        return {"video": self.video, "top_k": [{"label": n, "prob": round(p, 6)} for n, p in self.top_k]}


class VideoClassifier:
    """A trained model ready to classify video files, as ``dist-video predict`` does.

    >>> classify = VideoClassifier("runs/demo/dist/model")  # doctest: +SKIP
    >>> for result in classify(["clips/", "more/*.mp4"]):  # doctest: +SKIP
    ...     print(result.video, result.top_k)

    ``model`` is a loaded model or what :func:`~dist_video.load_model` reads (a model
    folder, a training checkpoint, a release ``.pyth``); ``class_names`` replaces its
    classes (open vocabulary; a given model's are replaced in place). ``device``: ``auto``
    (CUDA when available), ``cpu`` or ``cuda[:N]``. ``views``: temporal views averaged per
    video (default: the model's, ``preprocessing.num_views``, the views its training
    evaluated with; 3 for files that do not record them); ``top_k``: classes per video.
    """

    def __init__(
        self,
        model: CLIPVideoClassifier | str | Path,
        class_names: Sequence[str] | None = None,
        device: str = "auto",
        views: int | None = None,
        top_k: int = 5,
        backend: str = "auto",
    ):
        if (views is not None and views < 1) or top_k < 1:
            raise ConfigError(f"views and top_k must be >= 1, got views={views}, top_k={top_k}")
        device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        if isinstance(model, (str, Path)):
            model = load_model(model, class_names, device)
        else:
            if class_names:
                model.set_class_names(class_names)
            model = model.to(device).eval()
        self.model, self.top_k, self.backend = model, top_k, backend
        self.views = views or model.preprocessing.num_views

    def __call__(self, inputs: str | Path | Iterable[str | Path]) -> list[Prediction]:
        """Same as :meth:`predict`."""
        return self.predict(inputs)

    def predict(self, inputs: str | Path | Iterable[str | Path]) -> list[Prediction]:
        """One :class:`Prediction` per video that ``inputs`` name (files, folders, glob
        patterns: :func:`find_videos`); an unreadable video gets its ``error`` and the
        others are still predicted."""
        return [self.predict_file(path) for path in find_videos(inputs)]

    def predict_file(self, path: str | Path) -> Prediction:
        """The :class:`Prediction` of one video file."""
        try:
            return Prediction(str(path), predict_video(self.model, path, self.views, self.top_k, self.backend))
        except (DecodeError, IndexError) as err:
            return Prediction(str(path), error=str(err))

    def timeline(self, path: str | Path, window: float | None = None, stride: float | None = None) -> Timeline:
        """Class probabilities over time in a long video: windows of ``window`` seconds
        every ``stride`` seconds (defaults: :func:`~.timeline.video_timeline`'s); draw it
        with :func:`~.timeline.draw_timeline`."""
        sampler, transform = clip_pipeline(self.model.preprocessing)
        return video_timeline(self.model, path, sampler, transform, window, stride, backend=self.backend)
