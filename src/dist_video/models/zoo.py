"""The model zoo: named DiST configurations (``configs/models/*.yaml``) and
:func:`create_model`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from ..config import PACKAGED_CONFIG_DIR, ConfigError, apply_overrides, from_dict, load_yaml
from .clip import CLIPArch, clip_arch, create_clip
from .dist import DiST
from .dist_branch import DiSTBranchConfig
from .frame_average import FrameAverageCLIP
from .preprocessing import Preprocessing

__all__ = ["ClipConfig", "ModelConfig", "list_models", "model_config_data", "model_config", "create_model"]

ZOO_DIR = PACKAGED_CONFIG_DIR / "models"
RANDOM = "random"  # clip.pretrained: randomly initialised towers, asked for explicitly
NO_CLIP_WEIGHTS = (
    "model.clip.pretrained is not set: give the frozen CLIP's weights (an OpenAI .pt file, an open_clip "
    "MODEL:TAG such as ViT-B-16:openai or hf-hub:org/repo, or a local state dict / .safetensors), or 'random' "
    "for randomly initialised towers (tests and benchmarks only)"
)


@dataclass
class ClipConfig:
    """Where the frozen CLIP comes from. ``pretrained``: an open_clip ``MODEL:TAG`` or
    ``hf-hub:org/repo`` (network needed once), a weights file (OpenAI ``.pt``, state dict,
    safetensors; ``arch`` gives what its tensors do not show, such as ``activation: gelu``
    for open_clip's own towers), or ``random`` for randomly initialised towers of ``arch``
    (tests, benchmarks). Left unset, building the model is an error: random towers are never
    a silent default."""

    arch: CLIPArch = field(default_factory=CLIPArch)
    pretrained: str | None = None


@dataclass
class ModelConfig:
    """A video classifier on frozen CLIP towers: ``kind: dist`` (DiST; ``branch`` gives the
    sizes not read off CLIP) or ``frame_average`` (the no-temporal-model baseline;
    ``branch`` gives ``num_frames`` and ``alpha``, ``head`` whether a linear head trains)."""

    kind: Literal["dist", "frame_average"] = "dist"
    head: bool = True
    clip: ClipConfig = field(default_factory=ClipConfig)
    branch: dict[str, Any] = field(default_factory=dict)
    selected_layers: list[int] | None = None
    prompt_prefix: str = ""
    num_classes: int | None = None
    dataset: str | None = None
    description: str = ""
    published: dict[str, Any] = field(default_factory=dict)

    def branch_config(self, arch: CLIPArch) -> DiSTBranchConfig:
        """The full branch config: sizes given in ``branch`` over those read off CLIP."""
        derived = {
            "vision_width": arch.vision_width,
            "embed_dim": arch.embed_dim,
            "patch_size": arch.patch_size,
            "num_layers": len(self.selected_layers) if self.selected_layers else arch.vision_layers,
        }
        if "patch_size" in self.branch and self.branch["patch_size"] != arch.patch_size:
            raise ConfigError(f"model.branch.patch_size must equal the ViT's patch ({arch.patch_size})")
        return from_dict(DiSTBranchConfig, {**derived, **self.branch}, "model.branch")


def list_models() -> list[str]:
    """Names of the packaged model-zoo entries."""
    return sorted(p.stem for p in ZOO_DIR.glob("*.yaml") if not p.name.startswith("_"))


def model_config_data(name_or_path: str | Path) -> dict[str, Any]:
    """The raw config dict of a zoo name or a YAML file (an experiment file's ``model``
    section), ``base:`` links resolved."""
    path = ZOO_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(f"unknown model {str(name_or_path)!r}; known: {', '.join(list_models())}")
    data = load_yaml(path)
    return data["model"] if isinstance(data.get("model"), Mapping) else data


def model_config(name_or_data: str | Path | Mapping[str, Any], overrides: Sequence[str] = ()) -> ModelConfig:
    """A validated :class:`ModelConfig` from a zoo name, a YAML file or a dict, with
    ``key=value`` overrides."""
    data = name_or_data if isinstance(name_or_data, Mapping) else model_config_data(name_or_data)
    return from_dict(ModelConfig, apply_overrides(dict(data), list(overrides)), f"model {str(name_or_data)[:80]}")


def create_model(
    name_or_config: str | Path | Mapping[str, Any] | ModelConfig,
    class_names: Sequence[str] | None = None,
    clip: str | Path | Mapping[str, torch.Tensor] | None = None,
) -> DiST | FrameAverageCLIP:
    """Build a model (DiST, or the baseline a config's ``kind`` names) from the zoo (e.g.
    ``"ssv2-b16-8+16f"``), a YAML file or a config.

    The CLIP towers come from ``clip`` (weights file, state dict, open_clip ``MODEL:TAG`` or
    ``hf-hub:org/repo``, or ``"random"``) if given, else from the config's ``clip.pretrained``;
    with neither, :class:`ConfigError` says how to give weights. A weights file or state
    dict takes what its tensors do not show (activation, heads, normalisation) from the
    config's ``clip.arch``. Without ``class_names``, the config's ``num_classes``
    placeholders ``"class 0"``, ``"class 1"``... are used. The model's default preprocessing
    uses the towers' pixel normalisation.
    """
    config = name_or_config if isinstance(name_or_config, ModelConfig) else model_config(name_or_config)
    source = clip if clip is not None else config.clip.pretrained
    if source is None:
        raise ConfigError(NO_CLIP_WEIGHTS)
    random = isinstance(source, str) and source == RANDOM
    clip_model = create_clip(config.clip.arch if random else source, like=config.clip.arch)
    arch = clip_arch(clip_model)
    if class_names is None:
        if not config.num_classes:
            raise ConfigError("give class_names or set num_classes in the model config")
        class_names = [f"class {i}" for i in range(config.num_classes)]
    if config.kind == "frame_average":
        branch = config.branch_config(arch)
        model = FrameAverageCLIP(
            clip_model, class_names, branch.num_frames, branch.alpha, config.head, config.prompt_prefix
        )
    else:
        model = DiST(
            clip_model,
            config.branch_config(arch),
            class_names,
            prompt_prefix=config.prompt_prefix,
            selected_layers=config.selected_layers,
        )
    # the towers' own pixel normalisation (open_clip's non-OpenAI models may differ from OpenAI's)
    model.preprocessing = Preprocessing(
        num_frames=model.num_frames, crop_size=model.image_size, mean=arch.mean, std=arch.std
    )
    return model
