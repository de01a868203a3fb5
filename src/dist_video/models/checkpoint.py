"""Loading the authors' released checkpoints, and the project's own format
(safetensors weights + a readable ``config.yaml``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import yaml
from safetensors.torch import save_file

from ..config import from_dict, load_yaml, to_dict
from ..io import CheckpointError, atomic_path, read_safetensors, read_torch_file
from .clip import CLIPArch, build_clip, clip_arch, infer_clip_arch
from .dist import DiST
from .dist_branch import DiSTBranchConfig
from .preprocessing import Preprocessing

__all__ = [
    "CheckpointError",
    "read_official_state_dict",
    "infer_branch_config",
    "from_official_checkpoint",
    "save_pretrained",
    "load_pretrained",
    "load_checked",
]

FORMAT = "dist-video/1"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.yaml"
_PREFIXES = ("module.", "backbone.base_encoder.")


def _strip_prefixes(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state_dict.items():
        for prefix in _PREFIXES:  # DDP's "module." comes first when both are present
            if key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out


def read_official_state_dict(source: str | Path | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The release's model state with CLIP-level keys: from a ``.pyth`` file
    (``{"model_state": ...}``) or a state dict, ``module.``/``backbone.base_encoder.``
    prefixes removed. Files are read with ``weights_only=True``."""
    if isinstance(source, Mapping):
        state = source
    else:
        state = read_torch_file(source)
    if "model_state" in state:
        state = state["model_state"]
    elif "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    state = _strip_prefixes(state)
    if not any(k.startswith("dist_net.") for k in state):
        raise CheckpointError("no 'dist_net.*' keys: this is not a DiST checkpoint")
    return state


def _count(state: Mapping[str, torch.Tensor], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    return len({m.group(1) for k in state if (m := pattern.match(k))})


def infer_branch_config(state: Mapping[str, torch.Tensor]) -> DiSTBranchConfig:
    """Read every DiST size off the tensor shapes of a state dict with ``dist_net.*`` keys."""
    try:
        stem = state["dist_net.temporal_stem.weight"]  # (Ct, 3, t_patch, p, p)
        linear = state["dist_net.input_linears.0.weight"]  # (Ci, W)
        fuse = state["dist_net.temporal2integration_nets.0.linear_fuse.weight"]  # (Ci, Ct, alpha, 1, 1)
        cls = state["dist_net.temporal2integration_nets.0.cls_token"]  # (1, 1, T', Ci)
        fc1 = state["dist_net.temporal_nets.0.temporal_net.c_fc1.weight"]  # (Ct*r, Ct, k, 1, 1)
        ffn = state["dist_net.integration_nets.0.ffn.c_fc.weight"]  # (Ci*m, Ci)
        tffn = state["dist_net.integration_nets.0.temporal_ffn.c_fc1.weight"]  # (Ci*q, Ci, 1, 1, 1)
        proj = state["dist_net.proj"]  # (Ci, E)
    except KeyError as err:
        raise CheckpointError(f"cannot read the DiST sizes: key {err} is missing") from err
    temporal_dim, integration_dim = stem.shape[0], linear.shape[0]
    alpha = fuse.shape[2]
    return DiSTBranchConfig(
        vision_width=linear.shape[1],
        embed_dim=proj.shape[1],
        patch_size=stem.shape[-1],
        num_frames=cls.shape[2] * alpha,
        alpha=alpha,
        num_layers=_count(state, "dist_net.input_linears."),
        temporal_dim=temporal_dim,
        integration_dim=integration_dim,
        pooling_layers=_count(state, "dist_net.adapooling_nets."),
        temporal_patch=stem.shape[2],
        temporal_kernel=fc1.shape[2],
        temporal_mlp_ratio=fc1.shape[0] / temporal_dim,
        integration_mlp_ratio=ffn.shape[0] / integration_dim,
        integration_temporal_ratio=tffn.shape[0] / integration_dim,
    )


def load_checked(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """``model.load_state_dict`` that raises :class:`CheckpointError` naming every
    missing, unexpected and wrongly shaped key."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or wrong:
        parts = []
        for title, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", wrong)):
            if items:
                shown = ", ".join(items[:10]) + (f", ... ({len(items)} in all)" if len(items) > 10 else "")
                parts.append(f"{title}: {shown}")
        raise CheckpointError(f"{source} does not fit the model; " + "; ".join(parts))
    model.load_state_dict(state)


def from_official_checkpoint(
    source: str | Path | Mapping[str, torch.Tensor],
    class_names: Sequence[str],
    prompt_prefix: str = "",
    selected_layers: Sequence[int] | None = None,
) -> DiST:
    """An eval-mode :class:`DiST` from one of the authors' released checkpoints.

    Every size (CLIP architecture, Ct, Ci, pooling depth, frames, alpha, patch) is read
    off the tensors. The release selects every ViT block; if the checkpoint has fewer
    branch layers than ViT blocks, the last ones are assumed unless ``selected_layers``
    says otherwise.
    """
    state = read_official_state_dict(source)
    clip_state = {k: v for k, v in state.items() if not k.startswith("dist_net.")}
    try:
        arch = infer_clip_arch(clip_state)
    except KeyError as err:
        raise CheckpointError(f"cannot read the CLIP architecture: {err}") from err
    model = DiST(build_clip(arch), infer_branch_config(state), class_names, prompt_prefix, selected_layers)
    load_checked(model, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, str(source)[:200])
    return model.eval()


def _model_config(model: DiST) -> dict:
    return {
        "format": FORMAT,
        "clip_arch": to_dict(clip_arch(model)),  # activation, heads, norm and normalisation too
        "branch": to_dict(model.branch_config),
        "selected_layers": list(model.selected_layers),
        "class_names": list(model.class_names),
        "prompt_prefix": model.prompt_prefix,
        "input": to_dict(model.preprocessing),
    }


def save_pretrained(model: DiST, directory: str | Path) -> Path:
    """Write ``model.safetensors`` (every weight, release key names) and ``config.yaml``
    (the CLIP towers' full architecture, branch sizes, class names, preprocessing) into
    ``directory``, each atomically."""
    directory = Path(directory)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(directory / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT})
    with atomic_path(directory / CONFIG_FILE) as tmp:
        tmp.write_text(yaml.safe_dump(_model_config(model), sort_keys=False, allow_unicode=True))
    return directory


def load_pretrained(directory: str | Path, class_names: Sequence[str] | None = None) -> DiST:
    """Load a model written by :func:`save_pretrained` (eval mode). ``class_names``
    replaces the saved classes (open vocabulary)."""
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{directory}: no {CONFIG_FILE}; not a dist-video model directory")
    config = load_yaml(config_path)  # safe YAML; a damaged file is a ConfigError naming it
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{config_path}: unknown format {config.get('format')!r} (expected {FORMAT!r})")
    missing = [key for key in ("clip_arch", "branch", "class_names", "selected_layers") if key not in config]
    if missing:
        raise CheckpointError(f"{config_path}: missing key(s) {missing}")
    arch = from_dict(CLIPArch, config["clip_arch"], f"{config_path}: clip_arch")
    branch = from_dict(DiSTBranchConfig, config["branch"], f"{config_path}: branch")
    model = DiST(
        build_clip(arch),
        branch,
        class_names or config["class_names"],
        config.get("prompt_prefix", ""),
        config["selected_layers"],
    )
    load_checked(model, read_safetensors(directory / WEIGHTS_FILE), str(directory / WEIGHTS_FILE))
    if "crop_size" in config.get("input", {}):  # written since the preprocessing is saved
        model.preprocessing = from_dict(Preprocessing, config["input"], f"{config_path}: input")
    return model.eval()
