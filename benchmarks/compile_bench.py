"""DiST's fp32 training step with the frozen ViT's MLPs compiled or not, side by side.

Builds a zoo model (random CLIP towers), compiles the MLP of every ViT block
(:func:`dist_video.models.clip.compile_vit_mlps`), then times training steps (forward,
backward, fused AdamW) in turns with the compiled and the eager MLPs, ``--rounds`` times,
in one process; prints each round's median seconds, the ratio of the medians, and the
largest difference between the two MLPs' outputs.

Usage: ``python benchmarks/compile_bench.py ssv2-b16-8+16f --threads 2``. Results:
docs/efficiency.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from dist_video.models.clip import compile_vit_mlps
from dist_video.models.zoo import create_model
from dist_video.tools.bench import machine_info


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="zoo name or model YAML")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=4, help="timed steps per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_model(args.model, [f"class {i}" for i in range(174)], clip="random").train()
    optimizer = torch.optim.AdamW(model.trainable.parameters(), lr=1e-4, fused=True)
    video = torch.randn(1, 3, model.num_frames, model.image_size, model.image_size)
    labels = torch.tensor([3])

    def step() -> None:
        loss = F.cross_entropy(model(video), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    mlps = [block.mlp for block in model.visual.transformer.resblocks]
    began = time.perf_counter()
    compile_vit_mlps(model.visual)
    step()
    compile_seconds = time.perf_counter() - began
    compiled = {mlp: mlp._compiled_call_impl for mlp in mlps}

    def use(variant: str) -> None:
        for mlp in mlps:
            mlp._compiled_call_impl = compiled[mlp] if variant == "compiled" else None

    seconds: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(args.rounds):
        for variant in seconds:
            use(variant)
            step()  # warm-up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            seconds[variant].append(statistics.median(times))
    with torch.no_grad():
        hidden = torch.randn(8, 197, mlps[0][0].in_features)
        use("compiled")
        fast = mlps[0](hidden)
        use("eager")
        difference = (fast - mlps[0](hidden)).abs().max().item()
    medians = {v: statistics.median(s) for v, s in seconds.items()}
    result = {
        "machine": machine_info("cpu"),
        "threads": torch.get_num_threads(),
        "model": args.model,
        "seconds_per_step": seconds,
        "median_s": {v: round(m, 3) for v, m in medians.items()},
        "speedup": round(medians["eager"] / medians["compiled"], 3),
        "compile_and_first_step_s": round(compile_seconds, 1),
        "max_abs_mlp_difference": difference,
    }
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
