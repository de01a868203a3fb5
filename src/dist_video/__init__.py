"""dist-video: DiST (ICCV 2023) image-to-video transfer learning, as a library.

>>> import dist_video
>>> model = dist_video.create_model("ssv2-b16-8+16f", clip="ViT-B-16:openai")  # doctest: +SKIP
>>> model = dist_video.from_official_checkpoint("ssv2_b16_8x16.pyth", class_names)  # doctest: +SKIP
>>> logits = model(video)  # (B, 3, T, H, W) CLIP-normalised -> (B, K)  # doctest: +SKIP
"""

from .errors import CheckpointError, ConfigError, DataError, UserError
from .models.checkpoint import from_official_checkpoint, load_model, load_pretrained, save_pretrained
from .models.dist import DiST
from .models.dist_branch import DiSTBranchConfig
from .models.zoo import create_model, list_models

__version__ = "0.1.0"

__all__ = [
    "DiST",
    "DiSTBranchConfig",
    "UserError",
    "ConfigError",
    "CheckpointError",
    "DataError",
    "create_model",
    "list_models",
    "from_official_checkpoint",
    "save_pretrained",
    "load_pretrained",
    "load_model",
]
