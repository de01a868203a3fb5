"""One loader for every saved form of a model: a dist-video model folder, a training
checkpoint (``best.pt``, ``last.pt``) and the authors' released ``.pyth`` files. The model
comes back in eval mode with its preprocessing (:class:`~.preprocessing.Preprocessing`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from ..config import from_dict
from ..errors import CheckpointError, ConfigError
from ..io import read_torch_file
from .checkpoint import from_official_checkpoint, load_checked, load_pretrained
from .dist import DiST
from .preprocessing import Preprocessing
from .zoo import ModelConfig, create_model

__all__ = ["load_model"]

# What a training checkpoint must hold for inference (engine.state.CHECKPOINT_KEYS has the rest).
TRAINING_CHECKPOINT_KEYS = ("trainable", "config", "class_names")


def load_model(path: str | Path, class_names: Sequence[str] | None = None, device: str | torch.device = "cpu") -> DiST:
    """Load the model saved at ``path`` onto ``device``, in eval mode.

    ``path`` is a model folder (:func:`~.checkpoint.save_pretrained`), a training checkpoint
    (its CLIP weights are the ones its config names) or a release ``.pyth`` (which holds no
    class names: give ``class_names``). ``class_names`` replaces the saved classes (open
    vocabulary). The preprocessing is the one the model was trained with where the file
    records it (model folders, training checkpoints), else the release's default.
    """
    path = Path(path)
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {str(device)!r} asked for, but CUDA is not available here (use cpu)")
    if path.is_dir():
        model = load_pretrained(path, class_names)
    elif not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    elif path.suffix == ".pyth":
        if not class_names:
            raise CheckpointError(f"{path}: the release's checkpoints hold no class names; give them (e.g. --labels)")
        model = from_official_checkpoint(path, class_names)
    else:
        model = _from_training_checkpoint(path, class_names)
    return model.to(device).eval()


def _from_training_checkpoint(path: Path, class_names: Sequence[str] | None) -> DiST:
    state = read_torch_file(path)
    missing = [key for key in TRAINING_CHECKPOINT_KEYS if key not in state] if isinstance(state, dict) else ["all"]
    if missing:
        raise CheckpointError(f"{path}: not a dist-video training checkpoint (missing {', '.join(missing)})")
    config = state["config"]
    model_config = from_dict(ModelConfig, config["model"], f"{path}: model")
    model = create_model(model_config, class_names or state["class_names"], clip=model_config.clip.pretrained)
    load_checked(model.trainable, state["trainable"], str(path))
    model.preprocessing = Preprocessing.from_data_section(config.get("data", {}), model.num_frames, model.image_size)
    return model
