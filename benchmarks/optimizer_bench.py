"""AdamW implementations over a DiST branch, side by side: seconds per ``optimizer.step()``.

Builds the branch of a zoo model (random CLIP towers), gives its parameters random
gradients, and times the step of ``torch.optim.AdamW`` with the per-tensor for-loop
(``foreach=False, fused=False``), ``foreach=True`` and ``fused=True``, in turns for
``--rounds`` rounds, over the engine's parameter groups. Also prints how far the fused
weights are from the for-loop's after ``--steps`` steps from the same start.

Usage: ``python benchmarks/optimizer_bench.py ssv2-b16-8+16f --threads 2``. Results:
docs/efficiency.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import torch

from dist_video.engine.optim import parameter_groups
from dist_video.models.zoo import create_model
from dist_video.tools.bench import machine_info

VARIANTS = {
    "for-loop": {"foreach": False, "fused": False},
    "foreach": {"foreach": True, "fused": False},
    "fused": {"fused": True},
}


def _optimizer(branch: torch.nn.Module, variant: str) -> torch.optim.AdamW:
    groups = parameter_groups(branch, weight_decay=0.05)
    return torch.optim.AdamW(groups, lr=1e-3, **VARIANTS[variant])


def _random_grads(branch: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for param in branch.parameters():
        param.grad = torch.randn(param.shape, generator=generator) * 1e-2


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="zoo name or model YAML")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="steps of the numerical comparison")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    template = create_model(args.model, ["a", "b"], clip="random").dist_net
    tensors = sum(1 for _ in template.parameters())
    numel = sum(p.numel() for p in template.parameters())

    # how far apart the implementations end up
    finals = {}
    for variant in VARIANTS:
        branch = copy.deepcopy(template)
        optimizer = _optimizer(branch, variant)
        for step in range(args.steps):
            _random_grads(branch, step)
            optimizer.step()
        finals[variant] = torch.cat([p.detach().flatten() for p in branch.parameters()])
    start = torch.cat([p.detach().flatten() for p in template.parameters()])
    moved = (finals["for-loop"] - start).abs().max().item()
    differences = {v: (finals[v] - finals["for-loop"]).abs().max().item() for v in VARIANTS}

    # seconds per step, the variants in turns
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            branch = copy.deepcopy(template)
            optimizer = _optimizer(branch, variant)
            _random_grads(branch, 0)
            optimizer.step()  # warm-up: creates the state
            began = time.perf_counter()
            for _ in range(args.repeats):
                optimizer.step()
            seconds[variant].append((time.perf_counter() - began) / args.repeats)
    medians = {v: statistics.median(s) for v, s in seconds.items()}
    result = {
        "machine": machine_info("cpu"),
        "threads": torch.get_num_threads(),
        "model": args.model,
        "tensors": tensors,
        "parameters": numel,
        "seconds_per_step": seconds,
        "median_ms": {v: round(1e3 * m, 2) for v, m in medians.items()},
        "speedup_vs_for_loop": {v: round(medians["for-loop"] / m, 2) for v, m in medians.items()},
        f"max_abs_difference_to_for_loop_after_{args.steps}_steps": differences,
        "max_abs_weight_change": moved,
    }
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
