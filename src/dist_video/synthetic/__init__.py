"""Synthetic motion videos in Something-Something V2's format, and captioned still images.

Every video class has a partner that is its time reversal ("Moving something up" /
"Moving something down"), so that the two can only be told apart by the order of the
frames. ``render`` draws scenes, ``motions`` defines the classes and renders clips,
``dataset`` writes SSv2-layout data sets (or renders training clips on the fly), ``stills``
makes the captioned images that the demo's small CLIP is pre-trained on.
"""

from .dataset import (
    MANIFEST,
    SyntheticClipRenderer,
    SyntheticConfig,
    load_synthetic_config,
    make_synthetic_dataset,
    read_manifest,
    write_webm,
)
from .motions import SYNTHETIC_CLASSES, SYNTHETIC_TEMPLATES, flip_pairs, order_pairs, pair_name, render_clip
from .render import Scene, SceneStyle
from .stills import caption, caption_prompts, render_captioned_images, sample_still_scene

__all__ = [
    "SYNTHETIC_TEMPLATES",
    "SYNTHETIC_CLASSES",
    "MANIFEST",
    "Scene",
    "SceneStyle",
    "SyntheticConfig",
    "SyntheticClipRenderer",
    "order_pairs",
    "flip_pairs",
    "pair_name",
    "load_synthetic_config",
    "render_clip",
    "read_manifest",
    "make_synthetic_dataset",
    "write_webm",
    "sample_still_scene",
    "caption",
    "caption_prompts",
    "render_captioned_images",
]
