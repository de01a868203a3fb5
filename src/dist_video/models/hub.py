"""One loader for every saved form of a model: a dist-video model folder, local or on the
Hugging Face Hub, a training checkpoint (``best.pt``, ``last.pt``) and the authors' released
``.pyth`` files. The model comes back in eval mode with its preprocessing
(:class:`~.preprocessing.Preprocessing`). And the way up to the Hub: :func:`push_to_hub`."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from open_clip.factory import HF_HUB_PREFIX

from ..config import from_dict
from ..errors import CheckpointError, ConfigError
from ..io import atomic_path, read_torch_file
from .checkpoint import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    from_official_checkpoint,
    load_checked,
    load_pretrained,
    save_pretrained,
)
from .dist import DiST
from .model_card import model_card
from .preprocessing import Preprocessing
from .zoo import ModelConfig, create_model

__all__ = ["load_model", "download_model", "push_to_hub"]

CARD_FILE = "README.md"

# What a training checkpoint must hold for inference (engine.state.CHECKPOINT_KEYS has the rest).
TRAINING_CHECKPOINT_KEYS = ("trainable", "config", "class_names")


def load_model(path: str | Path, class_names: Sequence[str] | None = None, device: str | torch.device = "cpu") -> DiST:
    """Load the model saved at ``path`` onto ``device``, in eval mode.

    ``path`` is a model folder (:func:`~.checkpoint.save_pretrained`), ``"hf-hub:org/repo"``
    (a model folder on the Hugging Face Hub: :func:`download_model`), a training checkpoint
    (its CLIP weights are the ones its config names) or a release ``.pyth`` (which holds no
    class names: give ``class_names``). ``class_names`` replaces the saved classes (open
    vocabulary). The preprocessing is the one the model was trained with where the file
    records it (model folders, training checkpoints), else the release's default.
    """
    if isinstance(path, str) and path.startswith(HF_HUB_PREFIX):
        path = download_model(path.removeprefix(HF_HUB_PREFIX))
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


def download_model(repo_id: str, revision: str | None = None) -> Path:
    """The local folder of the model that the Hugging Face Hub repository ``repo_id`` holds
    (its ``model.safetensors`` and ``config.yaml``), downloaded into the Hub's cache the
    first time; offline (``HF_HUB_OFFLINE=1``) the cached copy. A missing repository, a
    network failure or a repository that holds no dist-video model raises
    :class:`CheckpointError` naming ``hf-hub:repo_id``."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    where = HF_HUB_PREFIX + repo_id
    try:
        folder = Path(snapshot_download(repo_id, revision=revision, allow_patterns=[WEIGHTS_FILE, CONFIG_FILE]))
    except RepositoryNotFoundError:
        raise CheckpointError(
            f"{where}: no such model repository on the Hugging Face Hub, or it is private or gated "
            "(log in with `hf auth login`)"
        ) from None
    except LocalEntryNotFoundError:
        raise CheckpointError(f"{where}: the Hugging Face Hub cannot be reached and the model is not cached") from None
    except (HTTPError, OSError, ValueError) as err:
        raise CheckpointError(f"{where}: download failed ({_one_line(err)})") from None
    if not (folder / CONFIG_FILE).is_file():
        raise CheckpointError(f"{where}: not a dist-video model (the repository has no {CONFIG_FILE})")
    return folder


def push_to_hub(
    model: DiST,
    repo_id: str,
    recipe: str | Mapping[str, Any] | None = None,
    dataset: str | None = None,
    metrics: Mapping[str, float] | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload a dist-video model",
) -> str:
    """Upload ``model`` to the Hugging Face Hub repository ``repo_id`` (created if missing):
    the model folder (:func:`~.checkpoint.save_pretrained`: weights, config with the
    preprocessing) and a ``README.md`` model card (:func:`~.model_card.model_card`, which
    ``recipe``, ``dataset`` and ``metrics`` fill). ``token`` defaults to the logged-in
    user's. Returns the commit's URL; a failure raises :class:`CheckpointError` naming
    ``hf-hub:repo_id``. Load it back with ``load_model("hf-hub:" + repo_id)``."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HTTPError

    with tempfile.TemporaryDirectory(prefix="dist-video-hub-") as tmp:
        folder = save_pretrained(model, tmp)
        with atomic_path(folder / CARD_FILE) as card:
            card.write_text(model_card(model, repo_id, recipe, dataset, metrics), encoding="utf-8")
        api = HfApi(token=token)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            commit = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=commit_message)
        except (HTTPError, OSError, ValueError) as err:
            raise CheckpointError(f"{HF_HUB_PREFIX}{repo_id}: upload failed ({_one_line(err)})") from None
    return commit.commit_url


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
