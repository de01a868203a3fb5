"""Loading any checkpoint for inference, and ``dist-video predict`` on video files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import from_dict
from ..data.decode import open_video
from ..data.sampling import FrameSampler
from ..data.transforms import EvalTransform
from ..errors import CheckpointError, ConfigError
from ..models.checkpoint import from_official_checkpoint, load_pretrained
from ..models.dist import DiST
from ..models.zoo import ModelConfig, create_model
from .state import read_training_checkpoint

__all__ = ["InferenceModel", "load_for_inference", "parse_labels", "predict_video"]


@dataclass
class InferenceModel:
    """A model with the preprocessing it expects."""

    model: DiST
    sampler: FrameSampler
    transform: EvalTransform


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


def load_for_inference(
    path: str | Path, class_names: Sequence[str] | None = None, device: str | torch.device = "cpu"
) -> InferenceModel:
    """Load a saved model directory, a training checkpoint (``best.pt``/``last.pt``) or one
    of the release's ``.pyth`` files, with its preprocessing (frames, sampling,
    resolution read off the model or its run's config)."""
    path = Path(path)
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {str(device)!r} asked for, but CUDA is not available here (use --device cpu)")
    sampler_mode, interval, target_fps = "segment", 4, None
    if path.is_dir():
        model = load_pretrained(path, class_names)
    elif not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    elif path.suffix == ".pyth":
        if not class_names:
            raise CheckpointError(f"{path}: the release's checkpoints hold no class names; give them with --labels")
        model = from_official_checkpoint(path, class_names)
    else:
        state = read_training_checkpoint(path, keys=("trainable", "config", "class_names"))
        config = state["config"]
        model_config = from_dict(ModelConfig, config["model"], f"{path}: model")
        model = create_model(model_config, class_names or state["class_names"], clip=model_config.clip.pretrained)
        model.trainable.load_state_dict(state["trainable"])
        data = config.get("data", {})
        sampler_mode = data.get("sampling", sampler_mode)
        interval = data.get("sampling_interval", interval)
        target_fps = data.get("target_fps")
    model = model.to(device).eval()
    sampler = FrameSampler(sampler_mode, model.num_frames, interval, target_fps)
    transform = EvalTransform(scale=model.image_size, crop_size=model.image_size)
    return InferenceModel(model, sampler, transform)


@torch.no_grad()
def predict_video(
    runner: InferenceModel, path: str | Path, num_views: int = 1, top_k: int = 5, backend: str = "auto"
) -> list[tuple[str, float]]:
    """Top-k ``(class name, probability)`` for one video file; probabilities are the
    mean of the views' softmax. Raises :class:`DecodeError` for an unreadable file."""
    device = next(runner.model.parameters()).device
    with open_video(path, backend) as video:
        clips = []
        for view in range(num_views):
            indices = runner.sampler(video.info.num_frames, video.info.fps, view=view, num_views=num_views)
            clips.append(runner.transform(video.read(indices)))
    probs = runner.model(torch.stack(clips).to(device)).float().softmax(dim=-1).mean(dim=0)
    top = probs.topk(min(top_k, probs.numel()))
    names = runner.model.class_names
    return [(names[i], p) for i, p in zip(top.indices.tolist(), top.values.tolist())]
