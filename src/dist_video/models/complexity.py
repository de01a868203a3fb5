"""Parameter counts and FLOPs, counted as papers count them (multiply-adds)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from .dist import DiST

__all__ = ["count_parameters", "count_gmacs", "count_gflops"]


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    """``{"params_total": ..., "params_trainable": ...}``."""
    params = list(model.parameters())
    return {
        "params_total": sum(p.numel() for p in params),
        "params_trainable": sum(p.numel() for p in params if p.requires_grad),
    }


def count_gmacs(fn: Callable[[], object], batch_size: int = 1) -> float:
    """GFLOPs (multiply-adds, i.e. torch's FLOP count halved) per clip of whatever ``fn``
    computes, forward and backward, for a batch of ``batch_size`` clips."""
    return _count(fn)[0] / 2e9 / batch_size


def _count(fn: Callable[[], object]) -> tuple[int, dict]:
    """Torch's FLOP count of ``fn``: the total and the counts per module."""
    counter = FlopCounterMode(display=False)
    with counter:  # autograd stays on: the module tracker needs it, nothing is kept
        fn()
    return counter.get_total_flops(), counter.get_flop_counts()


def count_gflops(model: DiST, batch_size: int = 1) -> dict[str, float]:
    """GFLOPs (multiply-adds, i.e. torch's FLOP count halved) of one forward pass on one
    view per clip, with the text features already cached, split into the frozen ViT and
    the DiST branch. Runs on whatever device the model is on: on the ``meta`` device it
    costs no memory and no arithmetic."""
    device = next(model.parameters()).device
    video = torch.zeros(batch_size, 3, model.num_frames, model.image_size, model.image_size, device=device)
    model.text_features()
    flops, per_module = _count(lambda: model(video))
    by_module = {name: sum(ops.values()) / 2e9 / batch_size for name, ops in per_module.items()}
    total = flops / 2e9 / batch_size
    branch = by_module.get("DiST.dist_net", 0.0)
    return {"gflops_per_view": total, "gflops_branch": branch, "gflops_frozen": total - branch}
