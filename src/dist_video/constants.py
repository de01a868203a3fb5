"""Constants shared across the package: CLIP's input normalisation and the dtype names
that configs use."""

from __future__ import annotations

import torch
from open_clip import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

__all__ = ["CLIP_MEAN", "CLIP_STD", "DTYPES"]

# OpenAI CLIP's per-channel pixel mean and standard deviation (RGB, pixels in [0, 1]).
CLIP_MEAN: tuple[float, float, float] = tuple(OPENAI_DATASET_MEAN)
CLIP_STD: tuple[float, float, float] = tuple(OPENAI_DATASET_STD)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
