"""Shared fixtures: tiny randomly initialised DiST models and the release's reference file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from dist_video.models.clip import CLIPArch, build_clip
from dist_video.models.dist import DiST
from dist_video.models.dist_branch import DiSTBranchConfig

REFERENCE = Path(
    os.environ.get(
        "DIST_VIDEO_REFERENCE", Path(__file__).resolve().parents[2] / "shared" / "reference" / "dist_tiny_release.pt"
    )
)

TINY_ARCH = CLIPArch(
    embed_dim=32, vision_width=64, vision_layers=2, patch_size=8, image_size=32, text_width=64, text_layers=1
)


def tiny_model(
    arch: CLIPArch = TINY_ARCH,
    num_frames: int = 4,
    alpha: int = 2,
    class_names=("a", "b", "c"),
    seed: int = 0,
    init: str = "release",
) -> DiST:
    """A tiny random DiST: ViT width 64, 2 blocks, 32 px; branch Ct 16, Ci 64."""
    torch.manual_seed(seed)
    branch = DiSTBranchConfig(
        vision_width=arch.vision_width,
        embed_dim=arch.embed_dim,
        patch_size=arch.patch_size,
        num_frames=num_frames,
        alpha=alpha,
        num_layers=arch.vision_layers,
        temporal_dim=16,
        integration_dim=64,
        pooling_layers=2,
        init=init,
    )
    return DiST(build_clip(arch), branch, list(class_names))


@pytest.fixture(scope="session")
def reference() -> dict:
    if not REFERENCE.is_file():
        pytest.skip(f"reference outputs of the release not found at {REFERENCE} (set DIST_VIDEO_REFERENCE)")
    return torch.load(REFERENCE, map_location="cpu", weights_only=True)
