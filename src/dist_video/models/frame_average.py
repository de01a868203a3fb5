"""The no-temporal-model baseline: frozen CLIP image embeddings of the sparse frames,
averaged over time, classified against the class names' text embeddings."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from torch import nn

from .classifier import CLIPVideoClassifier
from .clip import sparse_frames

__all__ = ["FrameAverageCLIP"]


class FrameAverageCLIP(CLIPVideoClassifier):
    """Zero-shot CLIP on a video (``head=False``), or the same with a trained linear map
    of the averaged embedding (``head=True``, initialised to the identity so that training
    starts from zero-shot). Frame order cannot matter to it, by construction."""

    def __init__(
        self,
        clip: CLIP,
        class_names: Sequence[str],
        num_frames: int,
        alpha: int,
        head: bool = True,
        prompt_prefix: str = "",
    ):
        super().__init__(clip, class_names, prompt_prefix)
        if num_frames % alpha:
            raise ValueError(f"num_frames ({num_frames}) must be a multiple of alpha ({alpha})")
        self.num_frames, self.alpha = num_frames, alpha
        embed_dim = self.text_projection.shape[1]
        self.head = nn.Linear(embed_dim, embed_dim) if head else nn.Identity()
        if head:
            nn.init.eye_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        self.freeze_clip()

    @property
    def trainable(self) -> nn.Module:
        return self.head

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        frames = sparse_frames(video, self.alpha)
        with torch.no_grad():
            embedding = F.normalize(self.visual(frames.to(self.visual.conv1.weight.dtype)).float(), dim=-1)
        mean = embedding.reshape(video.shape[0], -1, embedding.shape[-1]).mean(dim=1)
        return self.head(mean)
