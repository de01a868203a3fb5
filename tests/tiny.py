"""The tiny random models the tests use: the zoo's ``test-tiny`` entry."""

from __future__ import annotations

import torch

from dist_video.config import merge_dicts, to_dict
from dist_video.models.clip import CLIPArch
from dist_video.models.dist import DiST
from dist_video.models.zoo import create_model, model_config, model_config_data

TINY = "test-tiny"  # the zoo's tiny random model (configs/models/test-tiny.yaml)
TINY_ARCH = model_config(TINY).clip.arch
TINY_CLIP = to_dict(TINY_ARCH)  # as a config's clip.arch


def tiny_model(
    arch: CLIPArch = TINY_ARCH,
    num_frames: int = 4,
    alpha: int = 2,
    class_names=("a", "b", "c"),
    seed: int = 0,
    init: str = "release",
) -> DiST:
    """The zoo's ``test-tiny`` DiST (ViT width 64, 2 blocks, 32 px; branch Ct 16, Ci 64), on
    another CLIP architecture or frame count if asked."""
    torch.manual_seed(seed)
    changes = {"clip": {"arch": to_dict(arch)}, "branch": {"num_frames": num_frames, "alpha": alpha, "init": init}}
    return create_model(merge_dicts(model_config_data(TINY), changes), list(class_names))
