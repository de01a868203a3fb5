"""Batch-level Mixup / CutMix for video clips, with label smoothing.

The recipe is timm's ``Mixup`` in ``batch`` mode (one draw per batch, each clip mixed
with the clip at the mirrored batch position, CutMix's mixing weight corrected to the
box's area), written for ``(B, 3, T, H, W)`` input: timm indexes dimensions 2 and 3,
which for a 5-d video are time and height, so here the box is cut over ``H, W`` through
all ``T`` frames.
"""

from __future__ import annotations

import math
import random

import torch

__all__ = ["MixupCutmix", "smooth_one_hot"]


def smooth_one_hot(labels: torch.Tensor, num_classes: int, smoothing: float = 0.0) -> torch.Tensor:
    """Float targets ``(B, K)``: ``1 - smoothing + smoothing / K`` on the label, ``smoothing / K`` elsewhere."""
    off = smoothing / num_classes
    targets = torch.full((labels.shape[0], num_classes), off, device=labels.device)
    return targets.scatter_(1, labels.long().view(-1, 1), 1.0 - smoothing + off)


class MixupCutmix:
    """``(video (B, 3, T, H, W), labels (B,)) -> (mixed video, soft targets (B, K))``.

    Each call draws Mixup (weight ``lam ~ Beta(mixup_alpha, mixup_alpha)``) or, with
    probability ``switch_prob`` when both are enabled, CutMix (``lam ~ Beta(cutmix_alpha,
    cutmix_alpha)``, a box of area ``(1 - lam) H W`` pasted from the mirrored clip on every
    frame). An alpha of 0 disables that method; with both disabled only smoothing applies.
    Works on the batch's device; ``seed`` makes the draws reproducible.
    """

    def __init__(
        self,
        num_classes: int,
        mixup_alpha: float = 0.8,
        cutmix_alpha: float = 1.0,
        switch_prob: float = 0.5,
        label_smoothing: float = 0.1,
        seed: int | None = None,
    ):
        self.num_classes = num_classes
        self.mixup_alpha, self.cutmix_alpha = mixup_alpha, cutmix_alpha
        self.switch_prob, self.label_smoothing = switch_prob, label_smoothing
        self.rng = random.Random(seed)

    def _draw(self) -> tuple[str, float]:
        use_cutmix = self.cutmix_alpha > 0 and (self.mixup_alpha <= 0 or self.rng.random() < self.switch_prob)
        if use_cutmix:
            return "cutmix", self.rng.betavariate(self.cutmix_alpha, self.cutmix_alpha)
        if self.mixup_alpha > 0:
            return "mixup", self.rng.betavariate(self.mixup_alpha, self.mixup_alpha)
        return "none", 1.0

    def cutmix_box(self, height: int, width: int, lam: float) -> tuple[int, int, int, int]:
        """``(y0, y1, x0, x1)``: a box of about ``(1 - lam)`` of the area, centred uniformly,
        clipped to the frame."""
        cut = math.sqrt(1.0 - lam)
        cut_h, cut_w = int(height * cut), int(width * cut)
        cy, cx = self.rng.randrange(height), self.rng.randrange(width)
        y0, y1 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
        x0, x1 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
        return y0, y1, x0, x1

    def __call__(self, video: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if video.ndim != 5:
            raise ValueError(f"expected video (B, 3, T, H, W), got shape {tuple(video.shape)}")
        mode, lam = self._draw()
        if mode == "mixup":
            video = torch.lerp(video.flip(0), video, lam)
        elif mode == "cutmix":
            height, width = video.shape[-2:]
            y0, y1, x0, x1 = self.cutmix_box(height, width, lam)
            video = video.clone()
            video[..., y0:y1, x0:x1] = video.flip(0)[..., y0:y1, x0:x1]
            lam = 1.0 - (y1 - y0) * (x1 - x0) / (height * width)
        targets = smooth_one_hot(labels, self.num_classes, self.label_smoothing)
        return video, targets * lam + targets.flip(0) * (1.0 - lam)
