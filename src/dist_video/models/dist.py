"""The DiST video classifier: frozen CLIP towers + trainable DiST branch + text classifier."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

import torch
from open_clip.model import CLIP
from torch import nn

from .classifier import CLIPVideoClassifier
from .clip import sparse_frames, visual_block_outputs
from .dist_branch import DiSTBranch, DiSTBranchConfig

__all__ = ["DiST"]


class DiST(CLIPVideoClassifier):
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
        super().__init__(clip, class_names, prompt_prefix)
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
        self.dist_net = DiSTBranch(branch_config)
        self.freeze_clip()
        self.train()  # the frozen towers in eval mode from the start (the MHA fast path needs it)

    @property
    def trainable(self) -> nn.Module:
        return self.dist_net

    @property
    def branch_config(self) -> DiSTBranchConfig:
        return self.dist_net.config

    @property
    def num_frames(self) -> int:
        return self.branch_config.num_frames

    def freeze_clip(self) -> None:
        """Freeze every CLIP parameter; only ``dist_net`` remains trainable.

        The last layer's integration-to-temporal projection is frozen too: the forward
        pass never uses it (as in the release, whose checkpoints hold it), and a
        parameter without gradients would stall DDP's gradient reduction.
        """
        super().freeze_clip()
        self.dist_net.requires_grad_(True)
        self.dist_net.integration2temporal_nets[-1].requires_grad_(False)

    def vit_features(self, video: torch.Tensor) -> list[torch.Tensor]:
        """Frozen ViT on the sparse frames ``video[:, :, ::alpha]``: the selected blocks'
        outputs, each ``(B*T', L, W)``, clip-major rows, in the branch's dtype.

        Runs without autograd and outside any autocast: the ViT computes in its own
        weights' dtype (see :meth:`cast_frozen`), which is faster on CPU than autocast.
        """
        frames = sparse_frames(video, self.branch_config.alpha)  # (B*T', 3, H, W)
        device = video.device.type
        no_autocast = (
            torch.autocast(device, enabled=False) if torch.amp.is_autocast_available(device) else nullcontext()
        )
        with torch.no_grad(), no_autocast:
            outputs = visual_block_outputs(self.visual, frames.to(self.visual.conv1.weight.dtype), self.selected_layers)
        dtype = self.dist_net.proj.dtype
        return [x.to(dtype) for x in outputs]

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """Video embedding ``(B, E)``, before normalisation, in fp32 (like the text features)."""
        self._check_input(video)
        return self.dist_net(video.to(self.dist_net.proj.dtype), self.vit_features(video)).float()

    def _check_input(self, video: torch.Tensor) -> None:
        expected = (3, self.num_frames, self.image_size, self.image_size)
        if video.ndim != 5 or tuple(video.shape[1:]) != expected:
            raise ValueError(f"expected video of shape (B, {', '.join(map(str, expected))}), got {tuple(video.shape)}")
