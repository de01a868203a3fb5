"""What every video classifier here shares: frozen CLIP towers kept under CLIP's own key
names, and a classifier made of the CLIP text embeddings of the class names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from torch import nn

from .clip import class_prompts, tokenize_prompts
from .preprocessing import Preprocessing

__all__ = ["CLIPVideoClassifier"]


class CLIPVideoClassifier(nn.Module):
    """Base class: ``forward(video) = exp(logit_scale) * cos(encode_video(video), text)``.

    Subclasses define ``encode_video`` and ``trainable`` (the module that learns); every
    CLIP parameter is frozen and its towers stay in eval mode.
    """

    def __init__(self, clip: CLIP, class_names: Sequence[str], prompt_prefix: str = ""):
        super().__init__()
        # CLIP's modules sit at the top level so that keys match OpenAI's and the release's.
        self.visual = clip.visual
        self.transformer = clip.transformer
        self.token_embedding = clip.token_embedding
        self.positional_embedding = clip.positional_embedding
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.logit_scale = clip.logit_scale
        self.register_buffer("attn_mask", clip.attn_mask, persistent=False)
        self.context_length = clip.context_length
        self.prompt_prefix = prompt_prefix
        self._text_features: torch.Tensor | None = None
        self._preprocessing: Preprocessing | None = None
        self.class_names: list[str] = []
        self.set_class_names(class_names)

    @property
    def trainable(self) -> nn.Module:
        """The module whose parameters are trained (and saved in training checkpoints)."""
        raise NotImplementedError

    @property
    def image_size(self) -> int:
        return self.visual.conv1.weight.shape[-1] * self.visual.grid_size[0]

    @property
    def preprocessing(self) -> Preprocessing:
        """How input clips are made (saved with the weights): as set by training, else
        ``num_frames`` by segment sampling, centre-cropped at the ViT's size, CLIP's
        normalisation."""
        return self._preprocessing or Preprocessing(num_frames=self.num_frames, crop_size=self.image_size)

    @preprocessing.setter
    def preprocessing(self, value: Preprocessing) -> None:
        if value.num_frames != self.num_frames:
            raise ValueError(f"the preprocessing gives {value.num_frames} frames, the model takes {self.num_frames}")
        self._preprocessing = value

    def freeze_clip(self) -> None:
        """Freeze every CLIP parameter."""
        for tower in (self.visual, self.transformer, self.token_embedding, self.ln_final):
            tower.requires_grad_(False)
        for param in (self.positional_embedding, self.text_projection, self.logit_scale):
            param.requires_grad_(False)

    def train(self, mode: bool = True):
        """Train mode reaches the trainable parts only: the frozen towers stay in eval."""
        super().train(mode)
        self.visual.eval()
        self.transformer.eval()
        return self

    def cast_frozen(self, dtype: torch.dtype) -> CLIPVideoClassifier:
        """Hold the frozen CLIP towers' weights, and so their computation, in ``dtype``
        (``torch.bfloat16`` on CPU, about 2.5x faster there; ``torch.float16`` on CUDA).
        The trainable part keeps its dtype and trains as before. The class text features
        are computed before the cast and kept in fp32 (computed again, from the cast
        tower, after a device move or a change of classes)."""
        text = self.text_features()
        trainable = {id(p) for p in self.trainable.parameters()}
        for param in self.parameters():
            if id(param) not in trainable and param is not self.logit_scale:
                param.data = param.data.to(dtype)
        self._text_features = text
        return self

    def set_class_names(self, class_names: Sequence[str], prompt_prefix: str | None = None) -> None:
        """Change the classes (open-vocabulary use); the text features are recomputed."""
        if not class_names:
            raise ValueError("class_names must not be empty")
        if prompt_prefix is not None:
            self.prompt_prefix = prompt_prefix
        self.class_names = list(class_names)
        self._text_tokens = tokenize_prompts(class_prompts(self.class_names, self.prompt_prefix), self.context_length)
        self._prompt_class: torch.Tensor | None = None  # one prompt per class
        self._text_features = None

    def set_class_prompts(self, class_names: Sequence[str], prompts: Sequence[Sequence[str]]) -> None:
        """Classes named by prompt ensembles, as CLIP does zero-shot: a class's text feature
        is the normalised mean of its prompts' normalised features."""
        if not class_names or len(prompts) != len(class_names) or not all(prompts):
            raise ValueError("give one non-empty list of prompts per class")
        self.class_names = list(class_names)
        flat = [prompt for group in prompts for prompt in group]
        self._text_tokens = tokenize_prompts(flat, self.context_length)
        self._prompt_class = torch.repeat_interleave(
            torch.arange(len(prompts)), torch.tensor([len(g) for g in prompts])
        )
        self._text_features = None

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self._text_features = None  # the text tower may have changed
        return result

    def _apply(self, fn, recurse: bool = True):
        self._text_features = None  # device or dtype changed: recompute lazily
        return super()._apply(fn, recurse)

    @torch.no_grad()
    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Frozen text tower: tokens ``(K, context)`` -> text features ``(K, E)`` (unnormalised)."""
        x = self.token_embedding(tokens) + self.positional_embedding
        x = self.transformer(x, attn_mask=self.attn_mask)
        x = self.ln_final(x)
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
        return x @ self.text_projection

    def text_features(self) -> torch.Tensor:
        """The classes' text features ``(K, E)``, computed once and cached."""
        if self._text_features is None:
            tokens = self._text_tokens.to(self.token_embedding.weight.device)
            if self._prompt_class is None:
                self._text_features = self.encode_text(tokens).float()
            else:
                features = torch.cat(
                    [F.normalize(self.encode_text(chunk).float(), dim=-1) for chunk in tokens.split(1024)]
                )
                summed = torch.zeros(len(self.class_names), features.shape[1], device=features.device)
                summed.index_add_(0, self._prompt_class.to(features.device), features)
                self._text_features = F.normalize(summed, dim=-1)
        return self._text_features

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        embedding = F.normalize(self.encode_video(video), dim=-1)
        text = F.normalize(self.text_features(), dim=-1)
        return self.logit_scale.exp() * embedding @ text.t()
