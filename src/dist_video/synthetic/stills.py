"""Captioned still images for pre-training the demo's small CLIP: one shape on a
background, captioned "a red circle at the top left of a striped blue background"; the
same renderer and vocabulary as the motion clips, never a video."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .render import COLOURS, TEXTURES, Scene, render_scene, sample_background, sample_distractors, sample_layer

__all__ = ["sample_still_scene", "caption", "caption_prompts", "render_captioned_images"]

_STILLS = 1  # the stills' random stream (dataset.py's clips draw from stream 0)

_WHERE = (
    ("at the top left of", "at the top of", "at the top right of"),
    ("on the left of", "in the middle of", "on the right of"),
    ("at the bottom left of", "at the bottom of", "at the bottom right of"),
)


def sample_still_scene(rng: np.random.Generator, height: int, width: int) -> Scene:
    """One frame (T = 1) with a single actor of any shape, colour, size, angle and place."""
    texture, colour, background = sample_background(rng, height, width)
    size = rng.uniform(0.08, 0.25) * min(height, width)
    centre = rng.uniform(size, [width - size, height - size])[None]
    actor = sample_layer(rng, centre, size, rng.uniform(0, 2 * math.pi), exclude_colours=(colour,))
    distractors = sample_distractors(rng, 1, height, width, (colour, actor.colour))
    return Scene(texture, colour, background, distractors, (actor,))


def caption(scene: Scene) -> str:
    """Caption a still scene: "a red circle at the top left of a striped blue background"."""
    actor = scene.actors[0]
    height, width = scene.background.shape[:2]
    x, y = actor.centre[0]
    where = _WHERE[min(int(3 * y / height), 2)][min(int(3 * x / width), 2)]
    article = "an" if actor.colour[0] in "aeiou" else "a"
    return f"{article} {actor.name} {where} a {scene.texture} {scene.colour} background"


def caption_prompts(object_name: str, textures: Sequence[str] = TEXTURES) -> list[str]:
    """Every caption the stills could give ``object_name`` ("red circle"), over places,
    background textures and background colours: a prompt ensemble in the captions' own
    form, for naming objects zero-shot with the CLIP pre-trained on them."""
    colour = object_name.split()[0]
    article = "an" if colour[0] in "aeiou" else "a"
    return [
        f"{article} {object_name} {where} a {texture} {background} background"
        for row in _WHERE
        for where in row
        for texture in textures
        for background in COLOURS
        if background != colour
    ]


def render_captioned_images(
    n: int, size: int | tuple[int, int] = 64, seed: int = 0, noise_std: float = 3.0
) -> tuple[torch.Tensor, list[str]]:
    """``n`` still images, uint8 (n, H, W, 3), and their captions. Image ``i`` depends only
    on ``(seed, i)``, so a larger ``n`` extends a smaller one."""
    height, width = (size, size) if isinstance(size, int) else size
    images = np.empty((n, height, width, 3), np.uint8)
    captions = []
    for i in range(n):
        rng = np.random.default_rng([seed, _STILLS, i])
        scene = sample_still_scene(rng, height, width)
        images[i] = render_scene(scene, noise_std, rng)[0]
        captions.append(caption(scene))
    return torch.from_numpy(images), captions
