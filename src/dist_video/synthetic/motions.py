"""The synthetic motion classes: order pairs (each class of a pair is the other played
backwards, so the two have exactly the same distribution of frames and differ only in the
order of the frames), the motion of each pair, and :func:`render_clip`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .render import (
    ASYMMETRIC_SHAPES,
    Scene,
    SceneStyle,
    render_scene,
    sample_background,
    sample_distractors,
    sample_layer,
)

__all__ = ["SYNTHETIC_TEMPLATES", "SYNTHETIC_CLASSES", "order_pairs", "flip_pairs", "pair_name", "render_clip"]

# (forward template, reversed template): the second is the first played backwards.
_PAIRS = (
    ("Moving [something] from left to right", "Moving [something] from right to left"),
    ("Moving [something] up", "Moving [something] down"),
    ("Moving [something] towards the camera", "Moving [something] away from the camera"),
    ("Turning [something] clockwise", "Turning [something] counterclockwise"),
    ("[Something] appearing", "[Something] disappearing"),
    (
        "Moving [something] and [something] closer to each other",
        "Moving [something] and [something] away from each other",
    ),
    ("Covering [something] with [something]", "Uncovering [something]"),
)
_PAIR_NAMES = (
    "left/right",
    "up/down",
    "towards/away",
    "clockwise/counter",
    "appearing/disappearing",
    "closer/apart",
    "covering/uncovering",
)
SYNTHETIC_TEMPLATES = [template for pair in _PAIRS for template in pair]
SYNTHETIC_CLASSES = [t.replace("[", "").replace("]", "") for t in SYNTHETIC_TEMPLATES]
# pairs whose labels swap under a horizontal flip
_MIRRORED = (SYNTHETIC_CLASSES[0:2], SYNTHETIC_CLASSES[6:8])


def _pairs_in(class_names: Sequence[str], pairs: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    index = {name: i for i, name in enumerate(class_names)}
    return [(index[a], index[b]) for a, b in pairs if a in index and b in index]


def order_pairs(class_names: Sequence[str] = SYNTHETIC_CLASSES) -> list[tuple[int, int]]:
    """Index pairs (into ``class_names``) of classes that differ only in temporal order."""
    return _pairs_in(class_names, [(a, b) for a, b in zip(SYNTHETIC_CLASSES[::2], SYNTHETIC_CLASSES[1::2])])


def pair_name(class_name: str) -> str:
    """A short name of the order pair ``class_name`` belongs to ("left/right")."""
    return _PAIR_NAMES[SYNTHETIC_CLASSES.index(class_name) // 2]


def flip_pairs(class_names: Sequence[str] = SYNTHETIC_CLASSES) -> list[tuple[int, int]]:
    """Index pairs (into ``class_names``) of classes swapped by a horizontal flip."""
    return _pairs_in(class_names, _MIRRORED)


# ---- motions: each samples the actors of a forward clip -----------------------------


def _progress(rng: np.random.Generator, num_frames: int) -> np.ndarray:
    """Per-frame progress 0 -> 1 at constant speed, with a short random pause at each end."""
    last = num_frames - 1
    start, stop = rng.uniform(0, 0.2 * last), last - rng.uniform(0, 0.2 * last)
    return np.clip((np.arange(num_frames) - start) / (stop - start), 0, 1).astype(np.float32)


def _path(start: np.ndarray, end: np.ndarray, progress: np.ndarray) -> np.ndarray:
    start, end = np.asarray(start, np.float32), np.asarray(end, np.float32)
    return start + progress[:, None] * (end - start)


def _moving(axis: int) -> Callable:
    """Left to right (``axis`` 0) or upwards (``axis`` 1), across at least 40 % of the frame."""

    def sample(rng, num_frames, height, width, exclude):
        extent = np.array([width, height], np.float32)
        size = rng.uniform(0.12, 0.2) * extent.min()
        start, end = np.empty(2, np.float32), np.empty(2, np.float32)
        across = 1 - axis  # a slight drift across the motion
        start[across] = rng.uniform(size, extent[across] - size)
        end[across] = np.clip(start[across] + rng.uniform(-0.05, 0.05) * extent.min(), size, extent[across] - size)
        near, far = rng.uniform(size, 0.3 * extent[axis]), rng.uniform(0.7 * extent[axis], extent[axis] - size)
        start[axis], end[axis] = (near, far) if axis == 0 else (far, near)
        centre = _path(start, end, _progress(rng, num_frames))
        return [sample_layer(rng, centre, size, rng.uniform(0, 2 * math.pi), exclude_colours=exclude)]

    return sample


def _towards_camera(rng, num_frames, height, width, exclude):
    """Growing 2.5-3.5 times near the middle of the frame."""
    scale = min(height, width)
    start = rng.uniform(0.3, 0.7, 2) * (width, height)
    end = start + rng.uniform(-0.05, 0.05, 2) * scale
    progress = _progress(rng, num_frames)
    small = rng.uniform(0.07, 0.1) * scale
    size = small + progress * (min(small * rng.uniform(2.5, 3.5), 0.3 * scale) - small)
    centre = _path(start, end, progress)
    return [sample_layer(rng, centre, size, rng.uniform(0, 2 * math.pi), exclude_colours=exclude)]


def _turning_clockwise(rng, num_frames, height, width, exclude):
    """An asymmetric shape turning clockwise by 110-270 degrees in place."""
    size = rng.uniform(0.15, 0.22) * min(height, width)
    centre = np.repeat(rng.uniform(1.2 * size, [width - 1.2 * size, height - 1.2 * size])[None], num_frames, 0)
    start = rng.uniform(0, 2 * math.pi)
    angle = start + _progress(rng, num_frames) * rng.uniform(0.6, 1.5) * math.pi
    return [sample_layer(rng, centre, size, angle, shapes=ASYMMETRIC_SHAPES, exclude_colours=exclude)]


def _appearing(rng, num_frames, height, width, exclude):
    """Fading in from fully transparent to opaque, in place."""
    size = rng.uniform(0.12, 0.2) * min(height, width)
    centre = np.repeat(rng.uniform(size, [width - size, height - size])[None], num_frames, 0)
    alpha = _progress(rng, num_frames)
    return [sample_layer(rng, centre, size, rng.uniform(0, 2 * math.pi), alpha, exclude_colours=exclude)]


def _closer_to_each_other(rng, num_frames, height, width, exclude):
    """Two shapes on a line through the middle, from about 65 % of the frame apart to touching."""
    scale = min(height, width)
    sizes = rng.uniform(0.08, 0.11, 2) * scale
    direction = rng.uniform(0, math.pi)
    unit = np.array([math.cos(direction), math.sin(direction)])
    far = rng.uniform(0.55, 0.75) * scale
    near = sizes.sum() * rng.uniform(1.1, 1.3)
    reach = np.abs(unit) * far / 2 + sizes.max()
    extent = np.array([width, height])
    middle = rng.uniform(np.minimum(reach, extent / 2), np.maximum(extent - reach, extent / 2))
    progress = _progress(rng, num_frames)
    layers = []
    for sign, size in zip((-1, 1), sizes):
        centre = _path(middle + sign * unit * far / 2, middle + sign * unit * near / 2, progress)
        layers.append(sample_layer(rng, centre, size, rng.uniform(0, 2 * math.pi), exclude_colours=exclude))
        exclude += (layers[-1].colour,)
    return layers


def _covering(rng, num_frames, height, width, exclude):
    """A larger square or circle sliding in from a random side until it hides the shape."""
    scale = min(height, width)
    size = rng.uniform(0.1, 0.15) * scale
    spot = rng.uniform(size, [width - size, height - size])
    shape = sample_layer(
        rng, np.repeat(spot[None], num_frames, 0), size, rng.uniform(0, 2 * math.pi), exclude_colours=exclude
    )
    direction = rng.uniform(0, 2 * math.pi)
    start = spot + rng.uniform(0.45, 0.6) * scale * np.array([math.cos(direction), math.sin(direction)])
    centre = _path(start, spot, _progress(rng, num_frames))
    cover = sample_layer(
        rng,
        centre,
        size * rng.uniform(1.6, 1.9),
        rng.uniform(0, 2 * math.pi),
        shapes=("square", "circle"),
        exclude_colours=exclude + (shape.colour,),
    )
    return [shape, cover]


_MOTIONS = (_moving(0), _moving(1), _towards_camera, _turning_clockwise, _appearing, _closer_to_each_other, _covering)


def render_clip(
    class_name: str,
    rng: np.random.Generator,
    num_frames: int,
    height: int,
    width: int,
    style: SceneStyle = SceneStyle(),  # noqa: B008 (frozen: one shared default is safe)
    frames: Sequence[int] | None = None,
) -> tuple[np.ndarray, Scene]:
    """Render one clip of ``class_name``: uint8 frames (T, H, W, 3) and the scene drawn.

    The second class of an order pair is rendered as the first one played backwards, so
    ``render_clip(b, rng)`` equals ``render_clip(a, rng)`` reversed for a pair ``(a, b)``.
    ``frames`` (indices into the ``num_frames`` of the clip) draws only those frames, the
    cheap way to sample a few frames of a long clip: the motion is the same, only the
    pixel noise is drawn afresh.
    """
    pair = SYNTHETIC_CLASSES.index(class_name) // 2
    texture, colour, background = sample_background(rng, height, width, style)
    actors = _MOTIONS[pair](rng, num_frames, height, width, (colour,))
    exclude = (colour,) + tuple(layer.colour for layer in actors)
    distractors = sample_distractors(rng, num_frames, height, width, exclude, style.distractors)
    scene = Scene(texture, colour, background, distractors, tuple(actors))
    backwards = SYNTHETIC_CLASSES.index(class_name) % 2
    if frames is not None:
        scene = (scene.reversed() if backwards else scene).at(np.asarray(frames))
        return render_scene(scene, style.noise_std, rng), scene
    video = render_scene(scene, style.noise_std, rng)
    if backwards:
        return np.ascontiguousarray(video[::-1]), scene.reversed()
    return video, scene
