"""Shared fixtures: the release's reference file (tiny models: tests/tiny.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REFERENCE = Path(
    os.environ.get(
        "DIST_VIDEO_REFERENCE", Path(__file__).resolve().parents[2] / "shared" / "reference" / "dist_tiny_release.pt"
    )
)


@pytest.fixture(scope="session")
def reference() -> dict:
    if not REFERENCE.is_file():
        pytest.skip(f"reference outputs of the release not found at {REFERENCE} (set DIST_VIDEO_REFERENCE)")
    return torch.load(REFERENCE, map_location="cpu", weights_only=True)
