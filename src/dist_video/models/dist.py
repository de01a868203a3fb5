"""The DiST video classifier: frozen CLIP towers + trainable DiST branch + text classifier."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from torch import nn

from .clip import class_prompts, tokenize_prompts, visual_block_outputs
from .dist_branch import DiSTBranch, DiSTBranchConfig

__all__ = ["DiST", "CLIP_MEAN", "CLIP_STD"]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class DiST(nn.Module):
    """DiST for video classification.

    ``model(video)`` takes CLIP-normalised dense frames ``(B, 3, T, H, W)`` and returns
    logits ``(B, K)``: ``exp(logit_scale) * cos(video embedding, class text embedding)``.
    Only ``dist_net`` is trainable; the CLIP towers are frozen and stay in eval mode.
    The state dict uses the release's key names (CLIP's keys at the top, ``dist_net.*``).
    """

    def __init__(
        self,
        clip: CLIP,
        branch_config: DiSTBranchConfig,
        class_names: Sequence[str],
        prompt_prefix: str = "",
        selected_layers: Sequence[int] | None = None,
    ):
        super().__init__()
        vision_layers = len(clip.visual.transformer.resblocks)
        if selected_layers is None:  # the release feeds every ViT block to the branch
            selected_layers = range(vision_layers - branch_config.num_layers, vision_layers)
        self.selected_layers = list(selected_layers)
        if len(self.selected_layers) != branch_config.num_layers or not all(
            0 <= i < vision_layers for i in self.selected_layers
        ):
            raise ValueError(
                f"selected_layers {self.selected_layers} must name {branch_config.num_layers} of the "
                f"ViT's {vision_layers} blocks"
            )
        patch = clip.visual.conv1.weight.shape[-1]
        if branch_config.patch_size != patch:
            raise ValueError(f"the temporal stem's patch ({branch_config.patch_size}) must equal the ViT's ({patch})")
        # Keep the CLIP modules at the top level so that keys match the release's.
        self.visual = clip.visual
        self.transformer = clip.transformer
        self.token_embedding = clip.token_embedding
        self.positional_embedding = clip.positional_embedding
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.logit_scale = clip.logit_scale
        self.register_buffer("attn_mask", clip.attn_mask, persistent=False)
        self.context_length = clip.context_length
        self.dist_net = DiSTBranch(branch_config)
        self.prompt_prefix = prompt_prefix
        self._text_features: torch.Tensor | None = None
        self.class_names: list[str] = []
        self.set_class_names(class_names)
        self.freeze_clip()

    # -- configuration -------------------------------------------------------------------
    @property
    def branch_config(self) -> DiSTBranchConfig:
        return self.dist_net.config

    @property
    def num_frames(self) -> int:
        return self.branch_config.num_frames

    @property
    def image_size(self) -> int:
        return self.visual.conv1.weight.shape[-1] * self.visual.grid_size[0]

    def freeze_clip(self) -> None:
        """Freeze every CLIP parameter; only ``dist_net`` remains trainable.

        The last layer's integration-to-temporal projection is frozen too: the forward
        pass never uses it (as in the release, whose checkpoints hold it), and a
        parameter without gradients would stall DDP's gradient reduction.
        """
        unused = f"dist_net.integration2temporal_nets.{self.branch_config.num_layers - 1}."
        for name, param in self.named_parameters():
            param.requires_grad_(name.startswith("dist_net.") and not name.startswith(unused))

    def train(self, mode: bool = True) -> "DiST":
        """Set train mode on the branch only: the frozen towers always stay in eval mode."""
        super().train(mode)
        self.visual.eval()
        self.transformer.eval()
        return self

    def set_class_names(self, class_names: Sequence[str], prompt_prefix: str | None = None) -> None:
        """Change the classes (open-vocabulary use); the text features are recomputed."""
        if not class_names:
            raise ValueError("class_names must not be empty")
        if prompt_prefix is not None:
            self.prompt_prefix = prompt_prefix
        self.class_names = list(class_names)
        self._text_tokens = tokenize_prompts(class_prompts(self.class_names, self.prompt_prefix), self.context_length)
        self._text_features = None

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self._text_features = None  # the text tower may have changed
        return result

    def _apply(self, fn, recurse: bool = True):
        self._text_features = None  # device or dtype changed: recompute lazily
        return super()._apply(fn, recurse)

    # -- forward -------------------------------------------------------------------------
    @torch.no_grad()
    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Frozen text tower: tokens ``(K, 77)`` -> text features ``(K, E)`` (unnormalised)."""
        x = self.token_embedding(tokens) + self.positional_embedding
        x = self.transformer(x, attn_mask=self.attn_mask)
        x = self.ln_final(x)
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
        return x @ self.text_projection

    def text_features(self) -> torch.Tensor:
        """The classes' text features ``(K, E)``, computed once and cached."""
        if self._text_features is None:
            tokens = self._text_tokens.to(self.token_embedding.weight.device)
            self._text_features = self.encode_text(tokens).float()
        return self._text_features

    @torch.no_grad()
    def vit_features(self, video: torch.Tensor) -> list[torch.Tensor]:
        """Frozen ViT on the sparse frames ``video[:, :, ::alpha]``: the selected blocks'
        outputs, each ``(B*T', L, W)``, clip-major rows."""
        sparse = video[:, :, :: self.branch_config.alpha]
        frames = sparse.transpose(1, 2).flatten(0, 1)  # (B*T', 3, H, W)
        dtype = self.visual.conv1.weight.dtype
        return visual_block_outputs(self.visual, frames.to(dtype), self.selected_layers)

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """Video embedding ``(B, E)``, before normalisation."""
        self._check_input(video)
        return self.dist_net(video, self.vit_features(video))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        embedding = F.normalize(self.encode_video(video), dim=-1)
        text = F.normalize(self.text_features(), dim=-1)
        return self.logit_scale.exp() * embedding @ text.t()

    def _check_input(self, video: torch.Tensor) -> None:
        expected = (3, self.num_frames, self.image_size, self.image_size)
        if video.ndim != 5 or tuple(video.shape[1:]) != expected:
            raise ValueError(f"expected video of shape (B, {', '.join(map(str, expected))}), got {tuple(video.shape)}")
