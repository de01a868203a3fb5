"""dist-video: DiST (ICCV 2023) image-to-video transfer learning, as a library.

>>> import dist_video
>>> model = dist_video.create_model("ssv2-b16-8+16f", clip="ViT-B-16:openai")  # doctest: +SKIP
>>> model = dist_video.from_official_checkpoint("ssv2_b16_8x16.pyth", class_names)  # doctest: +SKIP
>>> logits = model(video)  # (B, 3, T, H, W) CLIP-normalised -> (B, K)  # doctest: +SKIP

The names below are imported on first use (PEP 562), so that importing the package, and
the command line's ``--help``, do not wait for torch and open_clip.
"""

from __future__ import annotations

import importlib

from .errors import CheckpointError, ConfigError, DataError, UserError

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY = {
    "DiST": "models.dist",
    "DiSTBranchConfig": "models.dist_branch",
    "create_model": "models.zoo",
    "list_models": "models.zoo",
    "from_official_checkpoint": "models.checkpoint",
    "save_pretrained": "models.checkpoint",
    "load_pretrained": "models.checkpoint",
    "load_model": "models.hub",
    "push_to_hub": "models.hub",
    "model_card": "models.model_card",
    "VideoClassifier": "engine.predict",
}

__all__ = ["UserError", "ConfigError", "CheckpointError", "DataError", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
