"""``dist-video predict``: the top classes of video files, their clips made as the model's
saved preprocessing says (load models with :func:`dist_video.load_model`)."""

from __future__ import annotations

from pathlib import Path

import torch

from ..data.decode import open_video
from ..data.sampling import FrameSampler
from ..data.transforms import EvalTransform
from ..errors import ConfigError
from ..models.classifier import CLIPVideoClassifier
from ..models.preprocessing import Preprocessing

__all__ = ["parse_labels", "clip_pipeline", "predict_video"]


def parse_labels(labels: str | None) -> list[str] | None:
    """``--labels``: a file with one class name per line, or ``"a,b,c"``."""
    if not labels:
        return None
    path = Path(labels)
    names = path.read_text().splitlines() if path.is_file() else labels.split(",")
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise ConfigError(f"--labels {labels!r} gives no class names")
    return names


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
    model: CLIPVideoClassifier, path: str | Path, num_views: int = 1, top_k: int = 5, backend: str = "auto"
) -> list[tuple[str, float]]:
    """Top-k ``(class name, probability)`` for one video file, its clips made as
    ``model.preprocessing`` says; probabilities are the mean of the views' softmax. Raises
    :class:`DecodeError` for an unreadable file."""
    sampler, transform = clip_pipeline(model.preprocessing)
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
