"""Experiment configs: one YAML file with ``model``, ``data``, ``optim``, ``train`` and
``output_dir``, inheriting from a ``base:`` file, with ``--set key=value`` overrides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from ..config import (
    PACKAGED_CONFIG_DIR,
    ConfigError,
    apply_overrides,
    check_field,
    from_dict,
    load_yaml,
    packaged_config_path,
    to_dict,
)
from ..data.config import DataConfig
from ..io import atomic_path
from ..models.zoo import ModelConfig, model_config_data
from .optim import OptimConfig

__all__ = ["TrainConfig", "ExperimentConfig", "list_recipes", "load_experiment", "save_experiment"]


@dataclass
class TrainConfig:
    """How to run training. ``batch_size`` is per process; the global batch is
    ``batch_size x processes x optim.grad_accumulation``."""

    batch_size: int = 8
    eval_batch_size: int | None = None
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"  # auto: cuda when available, else cpu
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # autocast of the branch (CUDA only; see precision.py)
    frozen_dtype: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # weights of the frozen CLIP towers
    eval_every: int = 1  # epochs; 0: only at the end
    checkpoint_every_steps: int = 0  # 0: once per epoch
    log_every: int = 10
    max_steps_per_epoch: int | None = None  # cut epochs short (smoke tests, demos)
    threads: int | None = None  # torch CPU threads
    init_from: str | None = None  # start the branch from these weights (model folder, .pt, .pyth); no optimiser state
    ema_decay: float | None = None  # validate and export an EMA of the branch (timm's ModelEmaV3), e.g. 0.9998
    keep_best: int = 1  # also keep the N best validations as best_epochNNN.pt (best.pt is always the best)
    grad_checkpointing: bool = False  # recompute the branch's layers in backward: less memory, slower
    compile: bool = False  # torch.compile the branch and the frozen ViT's MLPs (models.clip.compile_vit_mlps)
    wandb_project: str | None = None  # also log to Weights & Biases (needs the wandb package)

    def __post_init__(self) -> None:
        check_field(self, "batch_size", self.batch_size >= 1, "must be >= 1")
        check_field(
            self,
            "eval_batch_size",
            self.eval_batch_size is None or self.eval_batch_size >= 1,
            "must be >= 1 (or null: batch_size)",
        )
        check_field(
            self,
            "device",
            self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"),
            "must be auto, cpu or cuda[:N]",
        )
        check_field(self, "eval_every", self.eval_every >= 0, "must be >= 0 (0: only at the end)")
        check_field(
            self, "checkpoint_every_steps", self.checkpoint_every_steps >= 0, "must be >= 0 (0: once per epoch)"
        )
        check_field(self, "log_every", self.log_every >= 1, "must be >= 1")
        check_field(
            self,
            "max_steps_per_epoch",
            self.max_steps_per_epoch is None or self.max_steps_per_epoch >= 1,
            "must be >= 1 (or null)",
        )
        check_field(self, "threads", self.threads is None or self.threads >= 1, "must be >= 1 (or null)")
        check_field(
            self, "ema_decay", self.ema_decay is None or 0 < self.ema_decay < 1, "must be between 0 and 1 (or null)"
        )
        check_field(self, "keep_best", self.keep_best >= 1, "must be >= 1")
        check_field(self, "init_from", self.init_from is None or bool(self.init_from.strip()), "must be a path or null")
        wandb_ok = self.wandb_project is None or bool(self.wandb_project.strip())
        check_field(self, "wandb_project", wandb_ok, "must be a name or null")


@dataclass
class ExperimentConfig:
    """A whole experiment. ``model`` may be written as a zoo name or a model YAML path."""

    model: ModelConfig
    data: DataConfig
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    output_dir: str = "runs/experiment"


def _resolve_model(data: dict, where: str) -> dict:
    model = data.get("model")
    if isinstance(model, str):  # a zoo name or a model YAML
        data = {**data, "model": model_config_data(model)}
    elif model is None:
        raise ConfigError(f"{where}: model: required key is missing")
    return data


def list_recipes() -> list[str]:
    """Names of the packaged experiment recipes that ``dist-video train`` accepts
    (``ssv2/vit-b16-8+16f``, ...)."""
    root = PACKAGED_CONFIG_DIR / "experiments"
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml") if not p.name.startswith("_"))


def load_experiment(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read, merge and validate an experiment config; errors name the key and the file."""
    where = str(packaged_config_path(str(path)))  # the file, also for a packaged recipe's name
    data = _resolve_model(load_yaml(path), where)
    data = apply_overrides(data, list(overrides))
    return from_dict(ExperimentConfig, data, where)


def save_experiment(config: ExperimentConfig, path: str | Path) -> None:
    """Write the fully resolved config (every default spelled out) as YAML, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True))
