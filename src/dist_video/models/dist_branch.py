"""The trainable DiST branch (``dist_net``): temporal encoder, integration branch and
attention pooling, as ``shared/dist-spec.md`` section 2 specifies them.

Module and parameter names follow the authors' release so that its checkpoints load
as they are. Token tensors are batch-first here: ``(B*T', L, C)``, clip-major rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..constants import CLIP_STD

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
    init: Literal["release", "motion"] = "release"  # see DiSTBranch.reset_parameters

    def __post_init__(self) -> None:
        if self.init not in ("release", "motion"):
            raise ValueError(f"init must be 'release' or 'motion', got {self.init!r}")
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


class _QuickGELUFunction(torch.autograd.Function):
    """``x * sigmoid(1.702 x)`` keeping only ``x`` for the backward pass, where autograd
    would keep ``x`` and the sigmoid: half the activation memory, the sigmoid recomputed."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x * torch.sigmoid(1.702 * x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(1.702 * x)
        return grad * s * (1 + 1.702 * x * (1 - s))  # d/dx x*s(ax) = s + a*x*s*(1-s)


class QuickGELU(nn.Module):
    """CLIP's activation, ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _QuickGELUFunction.apply(x)


class _QuickGELULinear(torch.autograd.Function):
    """``F.linear(QuickGELU(h), weight, bias)`` keeping only ``h`` for the backward pass,
    where autograd would keep the activation too: it is recomputed from ``h``."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(h, weight)
        return F.linear(h * torch.sigmoid(1.702 * h), weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h, weight = ctx.saved_tensors
        s = torch.sigmoid(1.702 * h)
        rows = grad.reshape(-1, grad.shape[-1])  # under autocast: grad in the compute dtype
        grad_weight = rows.t() @ (h * s).reshape(-1, h.shape[-1]).to(rows.dtype)
        grad_h = (grad @ weight.to(grad.dtype)) * s * (1 + 1.702 * h * (1 - s))
        return grad_h.to(h.dtype), grad_weight.to(weight.dtype), rows.sum(0, dtype=weight.dtype)


def quick_gelu_linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``F.linear(QuickGELU(h), weight, bias)``, keeping half the activation memory."""
    return _QuickGELULinear.apply(h, weight, bias)


def conv_over_time(conv: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    """A ``(k, 1, 1)`` Conv3d applied to channels-last ``x (B, T, *space, C)`` as a conv1d
    over each position's time series, with the Conv3d's own parameters.

    On CPU torch runs such Conv3d shapes through its slow im2col path, forward and
    backward; the conv1d is 1.5-2x faster even with the copy to ``(B*space, C, T)``.
    Returns ``(B, T, *space, C_out)``, stored time-last.
    """
    batch, frames, *space, dim = x.shape
    series = x.movedim(1, -1).reshape(-1, dim, frames)
    y = F.conv1d(series, conv.weight.flatten(2), conv.bias, padding=conv.padding[0])
    return y.reshape(batch, *space, -1, frames).movedim(-1, 1)


class TemporalConvMLP(nn.Module):
    """``c_fc2(QuickGELU(c_fc1(x)))``: a ``(k, 1, 1)`` conv over time, then a ``(1, 3, 3)``
    conv over space (the release's ``temporal_net``)."""

    def __init__(self, dim: int, hidden: int, kernel: int):
        super().__init__()
        self.c_fc1 = nn.Conv3d(dim, hidden, (kernel, 1, 1), padding=(kernel // 2, 0, 0))
        self.act = QuickGELU()
        self.c_fc2 = nn.Conv3d(hidden, dim, (1, 3, 3), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-last ``x (B, T, h, w, C)`` -> ``(B, C, T, h, w)`` stored channels-last."""
        y = self.act(conv_over_time(self.c_fc1, x)).movedim(-1, 1)
        return self.c_fc2(y.contiguous(memory_format=torch.channels_last_3d))


class TemporalBlock(nn.Module):
    """One temporal-encoder block: ``QuickGELU(x + temporal_net(LN(x)))``."""

    def __init__(self, dim: int, mlp_ratio: float, kernel: int):
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        self.temporal_net = TemporalConvMLP(dim, int(dim * mlp_ratio), kernel)
        self.act = QuickGELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, Ct, T, h, w)``, stored channels-last (so the LayerNorm over Ct needs no copy)."""
        return self.act(x + self.temporal_net(self.ln(x.movedim(1, -1))))


class IntegrationToTemporal(nn.Module):
    """Integration tokens -> temporal features: the patch tokens of each sparse frame,
    projected to Ct and repeated ``alpha`` times along time."""

    def __init__(self, integration_dim: int, temporal_dim: int, alpha: int):
        super().__init__()
        self.alpha = alpha
        self.linear_fuse = nn.Linear(integration_dim, temporal_dim)

    def forward(self, tokens: torch.Tensor, batch: int, grid: tuple[int, int]) -> torch.Tensor:
        x = self.linear_fuse(tokens[:, 1:])  # (B*T', hw, Ct), class token dropped
        frames, dim = x.shape[0] // batch, x.shape[-1]
        x = x.reshape(batch, frames, 1, *grid, dim).expand(-1, -1, self.alpha, -1, -1, -1)
        # (B, Ct, T, h, w) stored channels-last, like the temporal features it is added to
        return x.reshape(batch, frames * self.alpha, *grid, dim).permute(0, 4, 1, 2, 3)


class TemporalToIntegration(nn.Module):
    """Temporal features -> integration tokens: a strided conv over each ``alpha`` dense
    frames, plus a learned token per sparse frame in the class-token slot."""

    def __init__(self, temporal_dim: int, integration_dim: int, alpha: int, sparse_frames: int):
        super().__init__()
        self.linear_fuse = nn.Conv3d(temporal_dim, integration_dim, (alpha, 1, 1), stride=(alpha, 1, 1))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, sparse_frames, integration_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, Ct, T, h, w)`` stored channels-last -> tokens ``(B*T', L, Ci)``."""
        x = self.linear_fuse(x)  # (B, Ci, T', h, w), channels-last like its input
        batch, dim, frames = x.shape[:3]
        x = x.flatten(3).permute(0, 2, 3, 1).reshape(batch * frames, -1, dim)  # (B*T', hw, Ci)
        cls = self.cls_token.to(x.dtype).expand(batch, -1, -1, -1).reshape(batch * frames, 1, dim)
        return torch.cat([cls, x], dim=1)


class _Normalize(torch.autograd.Function):
    """LayerNorm without affine over the last axis, keeping only its output and ``1/std``
    for the backward pass (autograd's would keep the input too): the output is kept by
    the layers it feeds anyway (see :func:`norm_linear`)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, eps: float) -> torch.Tensor:
        xhat, _, rstd = torch.native_layer_norm(x, x.shape[-1:], None, None, eps)
        ctx.save_for_backward(xhat, rstd)
        return xhat

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        xhat, rstd = ctx.saved_tensors
        grad = grad - grad.mean(-1, keepdim=True) - xhat * (grad * xhat).mean(-1, keepdim=True)
        return (grad * rstd).to(xhat.dtype), None


def norm_linear(xhat: torch.Tensor, norm: nn.LayerNorm, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``F.linear(norm(x), weight, bias)`` computed from ``xhat``, ``x`` normalised without
    affine: the norm's affine is folded into the linear's weight and bias. Several such
    layers on one ``x`` then share ``xhat``, the one tensor autograd keeps for them all."""
    return F.linear(xhat, weight * norm.weight, torch.addmv(bias, weight, norm.bias))


class MLP(nn.Module):
    """``c_proj(QuickGELU(c_fc(x)))``."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.c_fc = nn.Linear(dim, hidden)
        self.c_proj = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, norm: nn.LayerNorm | None = None) -> torch.Tensor:
        """The MLP of ``x``; given ``norm``, of ``norm(x)`` from ``xhat`` (see :func:`norm_linear`)."""
        h = self.c_fc(x) if norm is None else norm_linear(x, norm, self.c_fc.weight, self.c_fc.bias)
        return quick_gelu_linear(h, self.c_proj.weight, self.c_proj.bias)


class TokenTemporalMLP(nn.Module):
    """``c_proj(QuickGELU(c_fc2(c_fc1(x))))`` over the sparse frames of every token: 1x1x1,
    ``(k, 1, 1)`` and 1x1x1 convs (the release's ``temporal_ffn``). The 1x1x1 convs run as
    linear layers on the tokens, with the convs' own parameters."""

    def __init__(self, dim: int, hidden: int, kernel: int):
        super().__init__()
        self.c_fc1 = nn.Conv3d(dim, hidden, 1)
        self.c_fc2 = nn.Conv3d(hidden, hidden, (kernel, 1, 1), padding=(kernel // 2, 0, 0))
        self.c_proj = nn.Conv3d(hidden, dim, 1)

    def forward(self, xhat: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
        """The MLP of ``norm(x)``, from ``xhat (B, T', L, C)`` (see :func:`norm_linear`)."""
        x = norm_linear(xhat, norm, self.c_fc1.weight.flatten(1), self.c_fc1.bias)
        return quick_gelu_linear(conv_over_time(self.c_fc2, x), self.c_proj.weight.flatten(1), self.c_proj.bias)


class IntegrationBlock(nn.Module):
    """``ffn(ln(x)) + temporal_ffn(ln_temporal(x))``: a token MLP plus a temporal conv MLP
    over the sparse frames, for every token (class slot included)."""

    def __init__(self, dim: int, mlp_ratio: float, temporal_ratio: float, kernel: int):
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        self.ffn = MLP(dim, int(dim * mlp_ratio))
        self.ln_temporal = nn.LayerNorm(dim)
        self.temporal_ffn = TokenTemporalMLP(dim, int(dim * temporal_ratio), kernel)

    def forward(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        rows, tokens, dim = x.shape
        xhat = _Normalize.apply(x, self.ln.eps)  # shared by both norms
        t = self.temporal_ffn(xhat.reshape(batch, rows // batch, tokens, dim), self.ln_temporal)
        return self.ffn(xhat, self.ln) + t.reshape(rows, tokens, dim)


class CrossAttention(nn.Module):
    """Queries attend to keys/values, all three through one shared LayerNorm."""

    def __init__(self, dim: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, dim // 64, batch_first=True)

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        context = self.ln_1(context)
        return self.attn(self.ln_1(query), context, context, need_weights=False)[0]


class AttentionPooling(nn.Module):
    """One pooling block: a per-frame query attends to that frame's tokens, then a per-clip
    query attends to the frame queries (with a temporal positional embedding)."""

    def __init__(self, dim: int, sparse_frames: int):
        super().__init__()
        self.spatial_transformer = CrossAttention(dim)
        self.output_map_spatial_cls_token = MLP(dim, 4 * dim)
        self.ln_out_spat_cls_token = nn.LayerNorm(dim)
        self.temporal_transformer = CrossAttention(dim)
        self.output_map_cls_token = MLP(dim, 4 * dim)
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
    """The trainable DiST branch: dense video + frozen ViT block outputs -> video embedding.

    ``checkpointing`` (or the attribute ``grad_checkpointing``) recomputes each layer's
    activations in the backward pass instead of keeping them: much less memory for long
    clips, for about a third more branch compute.
    """

    def __init__(self, config: DiSTBranchConfig, checkpointing: bool = False):
        super().__init__()
        self.config = c = config
        self.grad_checkpointing = checkpointing
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
            IntegrationBlock(
                c.integration_dim, c.integration_mlp_ratio, c.integration_temporal_ratio, c.temporal_kernel
            )
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
        """Initialise as ``config.init`` says.

        ``release``: the authors' initialisation: truncated normal (std 0.02) weights and
        tokens, zero biases, unit LayerNorms, ``proj`` normal with std ``Ci ** -0.5``.
        ``motion``: the same, but the temporal stem starts as direction-selective filters
        (:meth:`init_stem_motion_energy`) and the attention pooling as a mean
        (:meth:`init_pooling_as_mean`). Measured on small data sets, where the release's
        initialisation learns motion direction late or not at all (docs/demo.md).
        """
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
        if self.config.init == "motion":
            self.init_stem_motion_energy()
            self.init_pooling_as_mean()

    @torch.no_grad()
    def init_pooling_as_mean(self) -> None:
        """Start every attention pooling block as a plain mean that passes its input on:
        queries 0 (uniform attention), value and output projections identity, the
        output MLPs 0, the pooled query tokens 0. Keys keep their random weights, so the
        queries get gradients from the first step."""
        dim = self.config.integration_dim
        for block in self.adapooling_nets:
            for cross in (block.spatial_transformer, block.temporal_transformer):
                attn = cross.attn
                attn.in_proj_weight[:dim].zero_()
                nn.init.normal_(attn.in_proj_weight[dim : 2 * dim], std=dim**-0.5)
                attn.in_proj_weight[2 * dim :].copy_(torch.eye(dim))
                attn.in_proj_bias.zero_()
                attn.out_proj.weight.copy_(torch.eye(dim))
                attn.out_proj.bias.zero_()
            for mlp in (block.output_map_spatial_cls_token, block.output_map_cls_token):
                mlp.c_proj.weight.zero_()
                mlp.c_proj.bias.zero_()
        self.aggregated_spatial_cls_token.zero_()
        self.aggregated_cls_token.zero_()

    @torch.no_grad()
    def init_stem_motion_energy(self) -> None:
        """Start the temporal stem as a bank of direction-selective filters: drifting
        luminance gratings under a Gaussian window, 8 directions x 4 phases, then 3 speeds
        (``patch/4``, ``patch/2``, ``patch`` pixels per frame, a quarter cycle per frame
        each), cycled over the ``Ct`` channels. Each filter sums to zero over time at
        every pixel (blind to what stays still) and keeps the release's RMS weight (0.02).
        """
        weight = self.temporal_stem.weight  # (Ct, 3, kT, p, p)
        channels, _, frames, patch, _ = weight.shape
        t = torch.arange(frames, dtype=torch.float64) - (frames - 1) / 2
        y, x = torch.meshgrid(
            torch.arange(patch, dtype=torch.float64) - (patch - 1) / 2,
            torch.arange(patch, dtype=torch.float64) - (patch - 1) / 2,
            indexing="ij",
        )
        window = torch.exp(-(t[:, None, None] ** 2) / (2 * (frames / 3) ** 2)) * torch.exp(
            -(x**2 + y**2) / (2 * (patch / 2) ** 2)
        )
        # luminance of CLIP-normalised input: x_c * std_c contributes luma_c * std_c
        colour = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64) * torch.tensor(CLIP_STD, dtype=torch.float64)
        for k in range(channels):
            direction = 2 * math.pi * (k % 8) / 8
            phase = math.pi / 2 * ((k // 8) % 4)
            speed = patch * (0.5, 0.25, 1.0)[(k // 32) % 3]  # pixels per frame
            wavelength = 4 * speed  # a quarter cycle per frame
            along = x * math.cos(direction) + y * math.sin(direction)
            grating = torch.cos(2 * math.pi * (along[None] - speed * t[:, None, None]) / wavelength + phase)
            w = window * grating
            w = w - w.mean(dim=0, keepdim=True)  # zero sum over time at every pixel
            w = colour[:, None, None, None] * w[None]
            weight[k] = (w * (0.02 / w.pow(2).mean().sqrt())).to(weight.dtype)

    def _layer(
        self, i: int, xt: torch.Tensor, res: torch.Tensor | None, tokens: torch.Tensor, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Layer ``i`` (spec steps 1-6): ``(xt, res)`` before -> ``(xt, mid, res)`` after."""
        xt = self.temporal_nets[i](xt)
        mid = self.input_linears[i](tokens)
        if res is not None:
            mid = mid + res
        if i + 1 < self.config.num_layers:  # the last layer's integration->temporal output is unused
            xt_next = self.integration2temporal_nets[i](mid, batch, xt.shape[3:]) + xt
        else:
            xt_next = xt
        mid = mid + self.temporal2integration_nets[i](xt)
        return xt_next, mid, self.integration_nets[i](mid, batch)

    def forward(self, video: torch.Tensor, vit_outputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """``video (B, 3, T, H, W)`` dense frames and the selected ViT blocks' outputs, each
        ``(B*T', L, W)`` -> video embedding ``(B, E)``."""
        c = self.config
        batch = video.shape[0]
        if len(vit_outputs) != c.num_layers:
            raise ValueError(f"expected {c.num_layers} ViT block outputs, got {len(vit_outputs)}")
        # (B, Ct, T, h, w), kept channels-last: LayerNorm over Ct and the convs then need no copies
        xt = self.temporal_stem(video).contiguous(memory_format=torch.channels_last_3d)
        res = None
        for i, tokens in enumerate(vit_outputs):
            if self.grad_checkpointing and torch.is_grad_enabled():
                xt, mid, res = checkpoint(self._layer, i, xt, res, tokens, batch, use_reentrant=False)
            else:
                xt, mid, res = self._layer(i, xt, res, tokens, batch)
        feat = res + mid  # (B*T', L, Ci)

        s = self.aggregated_spatial_cls_token.to(feat.dtype).expand(feat.shape[0], -1, -1)
        g = self.aggregated_cls_token.to(feat.dtype).expand(batch, -1, -1)
        for block in self.adapooling_nets:
            s, g = block(s, g, feat)
        frame_cls = vit_outputs[-1][:, 0].reshape(batch, -1, vit_outputs[-1].shape[-1]).mean(dim=1)
        z = self.ln_post(g[:, 0] + self.proj_spatial_cls_token(frame_cls.to(g.dtype)))
        return z @ self.proj
