"""The trainable DiST branch (``dist_net``): temporal encoder, integration branch and
attention pooling, as ``shared/dist-spec.md`` section 2 specifies them.

Module and parameter names follow the authors' release so that its checkpoints load
as they are. Token tensors are batch-first here: ``(B*T', L, C)``, clip-major rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DiSTBranchConfig", "DiSTBranch"]


@dataclass
class DiSTBranchConfig:
    """Sizes of the DiST branch. Defaults are the release's (ViT-B/16, 8+16f, SSv2)."""

    vision_width: int = 768  # W, the ViT's width
    embed_dim: int = 512  # E, CLIP's joint embedding width
    patch_size: int = 16  # p, always the ViT's patch size
    num_frames: int = 16  # T dense frames
    alpha: int = 2  # sparse stride: the ViT sees T / alpha frames
    num_layers: int = 12  # how many ViT blocks feed the branch (the release: all of them)
    temporal_dim: int = 96  # Ct
    integration_dim: int = 384  # Ci
    pooling_layers: int = 2  # P: 2 for SSv2, 4 for Kinetics
    temporal_patch: int = 5  # the temporal stem's kernel over time
    temporal_kernel: int = 3  # temporal conv kernel in each temporal block
    temporal_mlp_ratio: float = 1.0  # r
    integration_mlp_ratio: float = 1.0  # m
    integration_temporal_ratio: float = 0.25  # q

    def __post_init__(self) -> None:
        if self.num_frames % self.alpha:
            raise ValueError(f"num_frames ({self.num_frames}) must be a multiple of alpha ({self.alpha})")
        if self.integration_dim % 64:
            raise ValueError(f"integration_dim ({self.integration_dim}) must be a multiple of 64 (attention heads)")
        for name in ("vision_width", "embed_dim", "patch_size", "num_layers", "temporal_dim", "pooling_layers"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def sparse_frames(self) -> int:
        return self.num_frames // self.alpha


class QuickGELU(nn.Module):
    """CLIP's activation, ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def _channels_last_ln(norm: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the channel axis of a ``(B, C, T, h, w)`` tensor."""
    return norm(x.movedim(1, -1)).movedim(-1, 1)


class TemporalBlock(nn.Module):
    """One temporal-encoder block: ``QuickGELU(x + fc2(QuickGELU(fc1(LN(x)))))``."""

    def __init__(self, dim: int, mlp_ratio: float, kernel: int):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.ln = nn.LayerNorm(dim)
        self.temporal_net = nn.Sequential()
        self.temporal_net.add_module("c_fc1", nn.Conv3d(dim, hidden, (kernel, 1, 1), padding=(kernel // 2, 0, 0)))
        self.temporal_net.add_module("act", QuickGELU())
        self.temporal_net.add_module("c_fc2", nn.Conv3d(hidden, dim, (1, 3, 3), padding=(0, 1, 1)))
        self.act = QuickGELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.temporal_net(_channels_last_ln(self.ln, x)))


class IntegrationToTemporal(nn.Module):
    """Integration tokens -> temporal features: the patch tokens of each sparse frame,
    projected to Ct and repeated ``alpha`` times along time."""

    def __init__(self, integration_dim: int, temporal_dim: int, alpha: int):
        super().__init__()
        self.alpha = alpha
        self.linear_fuse = nn.Linear(integration_dim, temporal_dim)

    def forward(self, tokens: torch.Tensor, batch: int, grid: tuple[int, int]) -> torch.Tensor:
        x = self.linear_fuse(tokens[:, 1:])  # (B*T', hw, Ct), class token dropped
        x = x.reshape(batch, -1, grid[0], grid[1], x.shape[-1]).permute(0, 4, 1, 2, 3)
        return x.repeat_interleave(self.alpha, dim=2)  # (B, Ct, T, h, w)


class TemporalToIntegration(nn.Module):
    """Temporal features -> integration tokens: a strided conv over each ``alpha`` dense
    frames, plus a learned token per sparse frame in the class-token slot."""

    def __init__(self, temporal_dim: int, integration_dim: int, alpha: int, sparse_frames: int):
        super().__init__()
        self.linear_fuse = nn.Conv3d(temporal_dim, integration_dim, (alpha, 1, 1), stride=(alpha, 1, 1))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, sparse_frames, integration_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear_fuse(x)  # (B, Ci, T', h, w)
        batch, dim, frames = x.shape[:3]
        x = x.flatten(3).permute(0, 2, 3, 1).reshape(batch * frames, -1, dim)  # (B*T', hw, Ci)
        cls = self.cls_token.to(x.dtype).expand(batch, -1, -1, -1).reshape(batch * frames, 1, dim)
        return torch.cat([cls, x], dim=1)


class IntegrationBlock(nn.Module):
    """``ffn(ln(x)) + temporal_ffn(ln_temporal(x))``: a token MLP plus a temporal conv MLP
    over the sparse frames, for every token (class slot included)."""

    def __init__(self, dim: int, mlp_ratio: float, temporal_ratio: float, kernel: int):
        super().__init__()
        hidden, temporal_hidden = int(dim * mlp_ratio), int(dim * temporal_ratio)
        self.ln = nn.LayerNorm(dim)
        self.ffn = nn.Sequential()
        self.ffn.add_module("c_fc", nn.Linear(dim, hidden))
        self.ffn.add_module("act", QuickGELU())
        self.ffn.add_module("c_proj", nn.Linear(hidden, dim))
        self.ln_temporal = nn.LayerNorm(dim)
        self.temporal_ffn = nn.Sequential()
        self.temporal_ffn.add_module("c_fc1", nn.Conv3d(dim, temporal_hidden, 1))
        self.temporal_ffn.add_module(
            "c_fc2", nn.Conv3d(temporal_hidden, temporal_hidden, (kernel, 1, 1), padding=(kernel // 2, 0, 0))
        )
        self.temporal_ffn.add_module("act", QuickGELU())
        self.temporal_ffn.add_module("c_proj", nn.Conv3d(temporal_hidden, dim, 1))

    def forward(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        rows, tokens, dim = x.shape
        t = self.ln_temporal(x).reshape(batch, rows // batch, tokens, dim).permute(0, 3, 1, 2).unsqueeze(-1)
        t = self.temporal_ffn(t)  # (B, Ci, T', L, 1)
        t = t.squeeze(-1).permute(0, 2, 3, 1).reshape(rows, tokens, dim)
        return self.ffn(self.ln(x)) + t


class CrossAttention(nn.Module):
    """Queries attend to keys/values, all three through one shared LayerNorm."""

    def __init__(self, dim: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, dim // 64, batch_first=True)

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        context = self.ln_1(context)
        return self.attn(self.ln_1(query), context, context, need_weights=False)[0]


class TokenMLP(nn.Sequential):
    """Linear -> QuickGELU -> Linear, with 4x hidden width."""

    def __init__(self, dim: int):
        super().__init__()
        self.add_module("c_fc", nn.Linear(dim, dim * 4))
        self.add_module("act", QuickGELU())
        self.add_module("c_proj", nn.Linear(dim * 4, dim))


class AttentionPooling(nn.Module):
    """One pooling block: a per-frame query attends to that frame's tokens, then a per-clip
    query attends to the frame queries (with a temporal positional embedding)."""

    def __init__(self, dim: int, sparse_frames: int):
        super().__init__()
        self.spatial_transformer = CrossAttention(dim)
        self.output_map_spatial_cls_token = TokenMLP(dim)
        self.ln_out_spat_cls_token = nn.LayerNorm(dim)
        self.temporal_transformer = CrossAttention(dim)
        self.output_map_cls_token = TokenMLP(dim)
        self.ln_out_temp_cls_token = nn.LayerNorm(dim)
        self.positional_embedding = nn.Parameter(torch.zeros(1, sparse_frames, dim))

    def forward(
        self, frame_query: torch.Tensor, clip_query: torch.Tensor, feat: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``frame_query (B*T', 1, C)``, ``clip_query (B, 1, C)``, ``feat (B*T', L, C)``."""
        s = frame_query + self.spatial_transformer(frame_query, feat)
        s = s + self.output_map_spatial_cls_token(self.ln_out_spat_cls_token(s))
        frames = s.reshape(clip_query.shape[0], -1, s.shape[-1]) + self.positional_embedding.to(s.dtype)
        g = clip_query + self.temporal_transformer(clip_query, frames)
        g = g + self.output_map_cls_token(self.ln_out_temp_cls_token(g))
        return s, g


class DiSTBranch(nn.Module):
    """The trainable DiST branch: dense video + frozen ViT block outputs -> video embedding."""

    def __init__(self, config: DiSTBranchConfig):
        super().__init__()
        self.config = c = config
        sparse = c.sparse_frames
        self.temporal_stem = nn.Conv3d(
            3,
            c.temporal_dim,
            (c.temporal_patch, c.patch_size, c.patch_size),
            stride=(1, c.patch_size, c.patch_size),
            padding=(c.temporal_patch // 2, 0, 0),
        )
        self.temporal_nets = nn.ModuleList(
            TemporalBlock(c.temporal_dim, c.temporal_mlp_ratio, c.temporal_kernel) for _ in range(c.num_layers)
        )
        self.input_linears = nn.ModuleList(nn.Linear(c.vision_width, c.integration_dim) for _ in range(c.num_layers))
        self.integration2temporal_nets = nn.ModuleList(
            IntegrationToTemporal(c.integration_dim, c.temporal_dim, c.alpha) for _ in range(c.num_layers)
        )
        self.temporal2integration_nets = nn.ModuleList(
            TemporalToIntegration(c.temporal_dim, c.integration_dim, c.alpha, sparse) for _ in range(c.num_layers)
        )
        self.integration_nets = nn.ModuleList(
            IntegrationBlock(c.integration_dim, c.integration_mlp_ratio, c.integration_temporal_ratio, c.temporal_kernel)
            for _ in range(c.num_layers)
        )
        self.aggregated_spatial_cls_token = nn.Parameter(torch.zeros(1, 1, c.integration_dim))
        self.aggregated_cls_token = nn.Parameter(torch.zeros(1, 1, c.integration_dim))
        self.adapooling_nets = nn.ModuleList(
            AttentionPooling(c.integration_dim, sparse) for _ in range(c.pooling_layers)
        )
        self.proj_spatial_cls_token = nn.Linear(c.vision_width, c.integration_dim)
        self.ln_post = nn.LayerNorm(c.integration_dim)
        self.proj = nn.Parameter(torch.zeros(c.integration_dim, c.embed_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The release's initialisation: truncated normal (std 0.02) weights and tokens,
        zero biases, unit LayerNorms, ``proj`` normal with std ``Ci ** -0.5``."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv3d)):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.MultiheadAttention):
                nn.init.trunc_normal_(module.in_proj_weight, std=0.02)
                nn.init.zeros_(module.in_proj_bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for name, param in self.named_parameters():
            if name.endswith(("cls_token", "positional_embedding")):
                nn.init.trunc_normal_(param, std=0.02)
        nn.init.normal_(self.proj, std=self.config.integration_dim**-0.5)

    def forward(self, video: torch.Tensor, vit_outputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """``video (B, 3, T, H, W)`` dense frames and the selected ViT blocks' outputs, each
        ``(B*T', L, W)`` -> video embedding ``(B, E)``."""
        c = self.config
        batch = video.shape[0]
        if len(vit_outputs) != c.num_layers:
            raise ValueError(f"expected {c.num_layers} ViT block outputs, got {len(vit_outputs)}")
        xt = self.temporal_stem(video)  # (B, Ct, T, h, w)
        grid = (xt.shape[3], xt.shape[4])
        res = 0.0
        for i, tokens in enumerate(vit_outputs):
            xt = self.temporal_nets[i](xt)
            mid = self.input_linears[i](tokens) + res
            if i + 1 < c.num_layers:  # the last layer's integration->temporal output is unused
                xt_next = self.integration2temporal_nets[i](mid, batch, grid) + xt
            mid = mid + self.temporal2integration_nets[i](xt)
            res = self.integration_nets[i](mid, batch)
            if i + 1 < c.num_layers:
                xt = xt_next
        feat = res + mid  # (B*T', L, Ci)

        s = self.aggregated_spatial_cls_token.to(feat.dtype).expand(feat.shape[0], -1, -1)
        g = self.aggregated_cls_token.to(feat.dtype).expand(batch, -1, -1)
        for block in self.adapooling_nets:
            s, g = block(s, g, feat)
        frame_cls = vit_outputs[-1][:, 0].reshape(batch, -1, vit_outputs[-1].shape[-1]).mean(dim=1)
        z = self.ln_post(g[:, 0] + self.proj_spatial_cls_token(frame_cls.to(g.dtype)))
        return z @ self.proj
