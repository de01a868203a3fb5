"""AdamW with the release's parameter groups, and a per-iteration warm-up + cosine schedule
(both from timm)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.optim import param_groups_weight_decay
from timm.scheduler import CosineLRScheduler
from torch import nn

from ..config import check_field

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
        check_field(self, "lr", self.lr > 0, "must be positive")
        check_field(self, "reference_batch", self.reference_batch >= 1, "must be >= 1")
        check_field(self, "weight_decay", self.weight_decay >= 0, "must be >= 0")
        check_field(
            self, "betas", len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "must be two numbers in [0, 1)"
        )
        check_field(self, "epochs", self.epochs >= 1, "must be >= 1")
        check_field(self, "warmup_epochs", 0 <= self.warmup_epochs <= self.epochs, "must lie in [0, epochs]")
        check_field(self, "warmup_start_lr", self.warmup_start_lr >= 0, "must be >= 0")
        check_field(self, "min_lr", self.min_lr >= 0, "must be >= 0")
        check_field(self, "grad_accumulation", self.grad_accumulation >= 1, "must be >= 1")
        check_field(
            self,
            "clip_grad_norm",
            self.clip_grad_norm is None or self.clip_grad_norm > 0,
            "must be positive (or null: no clipping)",
        )

    def scaled_lr(self, global_batch: int) -> float:
        return self.lr * global_batch / self.reference_batch if self.scale_lr else self.lr


# Besides biases and norms (1-D), learned tokens and positional embeddings get no weight decay.
NO_WEIGHT_DECAY = ("*cls_token", "*positional_embedding")


def parameter_groups(
    model: nn.Module, weight_decay: float, no_weight_decay: tuple[str, ...] = NO_WEIGHT_DECAY
) -> list[dict]:
    """The trainable parameters in two groups, with weight decay first and without second
    (the order the optimizer state of existing checkpoints has): no decay for 1-D
    parameters and names matching a pattern of ``no_weight_decay``."""
    groups = param_groups_weight_decay(model, weight_decay, no_weight_decay_list=no_weight_decay)
    return sorted(groups, key=lambda group: -group["weight_decay"])


def build_optimizer(model: nn.Module, config: OptimConfig, lr: float) -> torch.optim.AdamW:
    """AdamW over the trainable parameters of ``model``, fused: one kernel over the branch's
    383 tensors instead of a loop of small ops per tensor (benchmarks/optimizer_bench.py:
    docs/efficiency.md has the speed-up; the weights match the loop's to 1e-7)."""
    groups = parameter_groups(model, config.weight_decay)
    return torch.optim.AdamW(groups, lr=lr, betas=config.betas, fused=True)


class WarmupCosine:
    """Linear warm-up from ``start_lr`` to ``base_lr`` over ``warmup_steps``, then cosine down
    to ``min_lr`` at ``total_steps``, stepped once per optimiser step (timm's
    ``CosineLRScheduler`` per update). Its state is the step count."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        base_lr: float,
        total_steps: int,
        warmup_steps: int,
        start_lr: float,
        min_lr: float,
    ):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["initial_lr"] = base_lr
        self.schedule = CosineLRScheduler(
            optimizer,
            t_initial=max(1, total_steps - warmup_steps),
            lr_min=min_lr,
            warmup_t=warmup_steps,
            warmup_lr_init=start_lr,
            warmup_prefix=True,
            t_in_epochs=False,
        )
        self.step_count = 0
        self.schedule.step_update(0)

    def step(self) -> None:
        self.step_count += 1
        self.schedule.step_update(self.step_count)

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def state_dict(self) -> dict:
        return {"step_count": self.step_count}

    def load_state_dict(self, state: dict) -> None:
        self.step_count = int(state["step_count"])
        self.schedule.step_update(self.step_count)
