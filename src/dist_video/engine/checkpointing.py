"""Training checkpoints: atomic writes, weights-only loading, RNG capture for exact resume."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..io import atomic_path, read_torch_file

__all__ = ["save_checkpoint", "load_checkpoint", "capture_rng", "restore_rng"]


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
