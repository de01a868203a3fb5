"""Which stems and blocks can learn motion direction from scratch, on the demo's kind of clips?

Trains small temporal networks on the synthetic left/right and up/down clips (4 classes,
two order-only pairs), rendering a fresh batch for every step so that nothing can be
memorised, and reports held-out accuracy. Every variant ends in a spatio-temporal mean
and a linear classifier; they differ in what comes before:

- ``conv``: three stride-2 convolutions down to the 8x8 grid (an early-convolution stem).
- ``conv+block``: the same, then one DiST temporal block (``dist_branch.TemporalBlock``).
- ``conv+block-noln``: the same block without its LayerNorm.
- ``patch``: DiST's temporal stem (a (5, 8, 8) patchify conv), then two 3x3x3 convs.

Usage: ``python benchmarks/motion_probe.py [--variants conv patch] [--seeds 0 1] [--steps 800]``.
Results and what they mean: docs/demo.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dist_video.constants import CLIP_MEAN, CLIP_STD
from dist_video.models.dist_branch import QuickGELU, TemporalBlock
from dist_video.synthetic import SYNTHETIC_CLASSES, render_clip

CLASSES = SYNTHETIC_CLASSES[:4]  # left/right, up/down
VARIANTS = ("conv", "conv+block", "conv+block-noln", "patch")


def render_batch(size: int, seed: int, frames: int, pixels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` CLIP-normalised clips (B, 3, T, H, W) of random classes, and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), size)
    clips = [torch.from_numpy(render_clip(CLASSES[label], rng, frames, pixels, pixels)[0]) for label in labels]
    video = torch.stack(clips).permute(0, 4, 1, 2, 3).float() / 255
    mean, std = torch.tensor(CLIP_MEAN).view(3, 1, 1, 1), torch.tensor(CLIP_STD).view(3, 1, 1, 1)
    return (video - mean) / std, torch.from_numpy(labels)


class ProbeNet(nn.Module):
    """A stem, optional DiST temporal block, spatio-temporal mean and linear classifier."""

    def __init__(self, variant: str, width: int = 32, patch: int = 8):
        super().__init__()
        if variant == "patch":
            self.stem = nn.Sequential(
                nn.Conv3d(3, width, (5, patch, patch), stride=(1, patch, patch), padding=(2, 0, 0)),
                nn.GELU(),
                nn.Conv3d(width, width, 3, padding=1),
                nn.GELU(),
                nn.Conv3d(width, width, 3, padding=1),
            )
        else:  # stride-2 convolutions, 64 px -> the 8x8 grid of patch 8
            self.stem = nn.Sequential(
                nn.Conv3d(3, 16, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2)),
                nn.GELU(),
                nn.Conv3d(16, 16, 3, stride=(1, 2, 2), padding=1),
                nn.GELU(),
                nn.Conv3d(16, width, 3, stride=(1, 2, 2), padding=1),
            )
        self.block = TemporalBlock(width, 1.0, 3) if variant.startswith("conv+block") else None
        if variant == "conv+block-noln":
            self.block.ln = nn.Identity()
        self.act = QuickGELU()
        self.head = nn.Linear(width, len(CLASSES))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        x = self.stem(video).contiguous(memory_format=torch.channels_last_3d)
        x = self.block(x) if self.block is not None else self.act(x)
        return self.head(x.mean(dim=(2, 3, 4)))


def probe(variant: str, seed: int, steps: int, lr: float, batch: int, frames: int, val: tuple) -> dict:
    """Train one variant; held-out accuracy every 100 steps and the first step reaching 90 %."""
    torch.manual_seed(seed)
    net = ProbeNet(variant)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr)
    curve, start = {}, time.perf_counter()
    for step in range(1, steps + 1):
        video, labels = render_batch(batch, seed * 1_000_003 + step, frames, 64)
        loss = F.cross_entropy(net(video), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps:
            with torch.no_grad():
                curve[step] = round(100 * (net(val[0]).argmax(1) == val[1]).float().mean().item(), 1)
    reached = [s for s, acc in curve.items() if acc >= 90]
    return {
        "variant": variant,
        "seed": seed,
        "val_top1": curve,
        "first_step_at_90": reached[0] if reached else None,
        "seconds": round(time.perf_counter() - start, 1),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--val-clips", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    val = render_batch(args.val_clips, 12345, args.frames, 64)
    results = []
    print("| variant | seed | held-out top-1 by step | first step >= 90 % | seconds |\n|---|---|---|---|---|")
    for variant in args.variants:
        for seed in args.seeds:
            r = probe(variant, seed, args.steps, args.lr, args.batch, args.frames, val)
            curve = " ".join(f"{s}:{acc:g}" for s, acc in r["val_top1"].items())
            print(f"| {variant} | {seed} | {curve} | {r['first_step_at_90'] or '-'} | {r['seconds']} |", flush=True)
            results.append(r)
    return results


if __name__ == "__main__":
    main()
