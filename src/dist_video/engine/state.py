"""Where a training run stands, and what its checkpoints hold: the run state, the
checkpoint schema (``last.pt``, ``best.pt``), atomic writes, weights-only reads, and the
RNG states that make a resumed run bit-identical to an uninterrupted one."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..io import atomic_path, read_torch_file

__all__ = [
    "RunState",
    "CHECKPOINT_KEYS",
    "save_checkpoint",
    "load_checkpoint",
    "capture_rng",
    "restore_rng",
]


@dataclass
class RunState:
    """The position of a run: the epoch and optimiser step it resumes at, the best
    validation top-1 so far, and the ``[top1, epoch]`` of the validations kept as
    ``best_epochNNN.pt`` (``train.keep_best``), best first."""

    epoch: int = 0
    step_in_epoch: int = 0
    best_top1: float = -1.0
    kept_best: list[list] = field(default_factory=list)


# A training checkpoint: the trainable weights, optimiser, schedule, scaler, the mixing
# and global RNG states (one per process), the RunState fields, the class names and the
# resolved experiment config. With ``train.ema_decay``, ``trainable`` holds the EMA weights
# (the ones validated and exported) and the optional ``online`` the optimiser's; the optional
# ``kept_best`` is RunState.kept_best.
CHECKPOINT_KEYS = (
    "trainable",
    "optimizer",
    "scheduler",
    "scaler",
    "mixer_rng",
    "rng",
    "epoch",
    "step_in_epoch",
    "best_top1",
    "class_names",
    "config",
)


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Write ``state`` to ``path`` atomically: a crash leaves the previous file intact."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``: plain
    tensors and containers only, nothing executable; see :func:`~dist_video.io.read_torch_file`)."""
    return read_torch_file(path)


def capture_rng() -> dict[str, Any]:
    """The global RNG states (torch CPU and CUDA, numpy, Python) as weights-only data."""
    state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [state[0], torch.from_numpy(state[1].astype(np.int64)), *state[2:]],
        "python": random.getstate(),
    }


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    random.setstate(tuple(v if not isinstance(v, list) else tuple(v) for v in state["python"]))
