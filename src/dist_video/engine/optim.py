"""AdamW with the release's parameter groups, and a per-iteration warm-up + cosine schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["OptimConfig", "parameter_groups", "build_optimizer", "WarmupCosine"]


@dataclass
class OptimConfig:
    """Optimisation recipe. ``lr`` is for ``reference_batch`` clips per step and is scaled
    linearly to the actual global batch (per-process batch x processes x accumulation)."""

    lr: float = 3.2e-4
    reference_batch: int = 32
    scale_lr: bool = True
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    epochs: int = 36
    warmup_epochs: float = 6.0
    warmup_start_lr: float = 8e-8
    min_lr: float = 8e-8
    grad_accumulation: int = 1
    clip_grad_norm: float | None = None

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.epochs <= 0 or self.grad_accumulation < 1:
            raise ValueError("optim: lr and epochs must be positive and grad_accumulation >= 1")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise ValueError(f"optim.warmup_epochs ({self.warmup_epochs}) must lie in [0, epochs]")

    def scaled_lr(self, global_batch: int) -> float:
        return self.lr * global_batch / self.reference_batch if self.scale_lr else self.lr


def _no_decay(name: str, param: nn.Parameter) -> bool:
    # Biases, norms (1-D), learned tokens and positional embeddings get no weight decay.
    return param.ndim <= 1 or name.endswith(("cls_token", "positional_embedding"))


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """The trainable parameters in two groups: with and without weight decay."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if _no_decay(name, param) else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(model: nn.Module, config: OptimConfig, lr: float) -> torch.optim.AdamW:
    """AdamW over the trainable parameters of ``model``."""
    groups = parameter_groups(model, config.weight_decay)
    return torch.optim.AdamW(groups, lr=lr, betas=config.betas, fused=False)


class WarmupCosine:
    """Linear warm-up from ``start_lr`` to ``base_lr``, then cosine down to ``min_lr``,
    stepped once per optimiser step. Its state is the step count."""

    def __init__(self, optimizer: torch.optim.Optimizer, base_lr: float, total_steps: int, warmup_steps: int,
                 start_lr: float, min_lr: float):
        self.optimizer = optimizer
        self.base_lr, self.start_lr, self.min_lr = base_lr, start_lr, min_lr
        self.total_steps, self.warmup_steps = max(1, total_steps), warmup_steps
        self.step_count = 0
        self._apply()

    def lr_at(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.start_lr + (self.base_lr - self.start_lr) * step / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))

    def _apply(self) -> None:
        lr = self.lr_at(self.step_count)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self) -> None:
        self.step_count += 1
        self._apply()

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def state_dict(self) -> dict:
        return {"step_count": self.step_count}

    def load_state_dict(self, state: dict) -> None:
        self.step_count = int(state["step_count"])
        self._apply()
