"""Scene renderer shared by the synthetic videos and the captioned still images.

A scene is a textured background plus shape layers drawn bottom to top. Each layer has a
fixed shape and colour and a per-frame centre, size, angle and opacity, so one call
renders a whole clip, vectorised over frames and pixels. Shapes are unions of convex
pieces, drawn anti-aliased from an approximate signed distance. Coordinates are pixels
with y pointing down, so a growing angle turns a shape clockwise on screen.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "COLOURS",
    "SHAPES",
    "ASYMMETRIC_SHAPES",
    "TEXTURES",
    "Layer",
    "Scene",
    "SceneStyle",
    "sample_background",
    "sample_layer",
    "sample_distractors",
    "render_scene",
]

# Saturated object colours; backgrounds use muted tones of the same names.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 130, 20),
    "yellow": (240, 220, 30),
    "green": (40, 175, 60),
    "blue": (40, 80, 230),
    "purple": (140, 50, 200),
    "pink": (250, 120, 200),
    "white": (245, 245, 245),
}
TEXTURES = ("plain", "striped", "checkered", "shaded", "noisy")


def _circle(cx: float, cy: float, radius: float) -> tuple:
    return ("circle", np.array([cx, cy], np.float32), radius)


def _polygon(*vertices: tuple[float, float]) -> tuple:
    """A convex polygon as outward unit edge normals ``n`` and offsets ``d``: inside where
    ``max(n @ p - d) <= 0``."""
    v = np.asarray(vertices, np.float32)
    edges = np.roll(v, -1, axis=0) - v
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    normals *= np.sign(((v - v.mean(0)) * normals).sum(1, keepdims=True))
    return ("polygon", normals, (normals * v).sum(1))


def _star(points: int = 5, outer: float = 1.15, inner: float = 0.48) -> list[tuple]:
    angles = np.arange(2 * points) * math.pi / points - math.pi / 2
    radii = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    v = np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
    # one convex kite per point: centre, inner vertex, tip, next inner vertex
    return [_polygon((0, 0), v[2 * k - 1], v[2 * k], v[2 * k + 1]) for k in range(points)]


_ARC = np.linspace(math.pi, 2 * math.pi, 17)

# Unit shapes (radius about 1), each a union of convex pieces.
SHAPES: dict[str, list[tuple]] = {
    "circle": [_circle(0, 0, 0.95)],
    "square": [_polygon((-0.82, -0.82), (0.82, -0.82), (0.82, 0.82), (-0.82, 0.82))],
    "triangle": [_polygon((0, -1.1), (0.95, 0.55), (-0.95, 0.55))],
    "star": _star(),
    "cross": [
        _polygon((-1, -0.32), (1, -0.32), (1, 0.32), (-1, 0.32)),
        _polygon((-0.32, -1), (0.32, -1), (0.32, 1), (-0.32, 1)),
    ],
    "heart": [
        _circle(-0.45, -0.3, 0.5),
        _circle(0.45, -0.3, 0.5),
        _polygon((-0.9, -0.1), (0, -0.3), (0.9, -0.1), (0, 0.95)),
    ],
    "arrow": [
        _polygon((-1, -0.25), (0.15, -0.25), (0.15, 0.25), (-1, 0.25)),
        _polygon((0.1, -0.65), (1.05, 0), (0.1, 0.65)),
    ],
    "semicircle": [_polygon(*zip(1.1 * np.cos(_ARC), 1.1 * np.sin(_ARC) + 0.45))],
}
# Shapes that look different after any turn (no rotational symmetry).
ASYMMETRIC_SHAPES = ("heart", "arrow", "semicircle")
_EXTENT = 1.2  # every unit shape fits in this radius


@dataclasses.dataclass(frozen=True)
class Layer:
    """One shape: fixed ``shape`` and ``colour`` (a name, drawn as ``rgb``), and per-frame
    ``centre`` (T, 2) in pixels (x, y), ``size`` (T,) in pixels, ``angle`` (T,) in radians
    (clockwise on screen) and ``alpha`` (T,) opacity."""

    shape: str
    colour: str
    rgb: np.ndarray
    centre: np.ndarray
    size: np.ndarray
    angle: np.ndarray
    alpha: np.ndarray

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"

    def at(self, frames: slice | np.ndarray) -> Layer:
        """The layer at the given frames only (an index array, or a slice such as ``::-1``)."""
        return dataclasses.replace(
            self, centre=self.centre[frames], size=self.size[frames], angle=self.angle[frames], alpha=self.alpha[frames]
        )


@dataclasses.dataclass(frozen=True)
class SceneStyle:
    """How busy a scene looks around its actors: the background ``textures`` drawn from,
    their ``texture_contrast`` (1: dark to light tone; 0: a flat tone), how many static or
    drifting ``distractors`` (a ``(min, max)`` count), and the pixel ``noise_std``."""

    textures: tuple[str, ...] = TEXTURES
    texture_contrast: float = 1.0
    distractors: tuple[int, int] = (1, 2)
    noise_std: float = 3.0

    def __post_init__(self) -> None:
        unknown = [name for name in self.textures if name not in TEXTURES]
        if unknown or not self.textures:
            raise ValueError(f"textures must be names from {TEXTURES}; unknown: {unknown}")
        if not 0 <= self.texture_contrast <= 1:
            raise ValueError(f"texture_contrast must be in [0, 1], got {self.texture_contrast}")
        if len(self.distractors) != 2 or not 0 <= self.distractors[0] <= self.distractors[1]:
            raise ValueError(f"distractors must be [min, max] counts with 0 <= min <= max, got {self.distractors}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")


@dataclasses.dataclass(frozen=True)
class Scene:
    """A background image (H, W, 3) float32 of a named ``texture`` and ``colour``, static
    ``distractors`` drawn first, then the ``actors`` the label or caption talks about."""

    texture: str
    colour: str
    background: np.ndarray
    distractors: tuple[Layer, ...]
    actors: tuple[Layer, ...]

    @property
    def layers(self) -> tuple[Layer, ...]:
        return self.distractors + self.actors

    def reversed(self) -> Scene:
        """The same scene played backwards in time."""
        return self.at(slice(None, None, -1))

    def at(self, frames: slice | np.ndarray) -> Scene:
        """The scene at the given frames only (an index array or a slice)."""
        return dataclasses.replace(
            self,
            distractors=tuple(layer.at(frames) for layer in self.distractors),
            actors=tuple(layer.at(frames) for layer in self.actors),
        )


def _upsample(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly stretch a small 2-D grid over ``height`` x ``width`` pixels."""
    ys = (np.arange(height) + 0.5) / height * (grid.shape[0] - 1)
    xs = (np.arange(width) + 0.5) / width * (grid.shape[1] - 1)
    rows = np.stack([np.interp(xs, np.arange(grid.shape[1]), row) for row in grid])
    return np.stack([np.interp(ys, np.arange(grid.shape[0]), col) for col in rows.T], axis=1)


def _texture(kind: str, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A (H, W) pattern in [0, 1]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    theta = rng.uniform(0, math.pi)
    along = x * math.cos(theta) + y * math.sin(theta)
    scale = min(height, width)
    if kind == "plain":
        return np.full((height, width), rng.uniform(0.3, 0.7), np.float32)
    if kind == "striped":
        wave = np.sin(2 * math.pi * along / (rng.uniform(0.1, 0.25) * scale) + rng.uniform(0, 2 * math.pi))
        return 0.5 + 0.5 * np.clip(3 * wave, -1, 1)
    if kind == "checkered":
        cell = rng.uniform(0.08, 0.2) * scale
        return ((np.floor(x / cell + rng.random()) + np.floor(y / cell + rng.random())) % 2).astype(np.float32)
    if kind == "shaded":
        return (along - along.min()) / (along.max() - along.min())
    if kind == "noisy":
        coarse = rng.random((rng.integers(3, 7), rng.integers(3, 7)))
        return 0.8 * _upsample(coarse, height, width) + 0.2 * rng.random((height, width))
    raise ValueError(f"unknown texture {kind!r}")


def _tones(colour: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Dark and light muted tones of a named colour, slightly jittered."""
    base = np.asarray(COLOURS[colour], np.float32)
    dark = 0.35 * base + 0.65 * 50 + rng.uniform(-6, 6, 3)
    light = 0.6 * base + 0.4 * 200 + rng.uniform(-6, 6, 3)
    return dark.astype(np.float32), light.astype(np.float32)


def sample_background(
    rng: np.random.Generator, height: int, width: int, style: SceneStyle = SceneStyle()
) -> tuple[str, str, np.ndarray]:
    """A random ``(texture, colour, image)`` background; ``image`` is (H, W, 3) float32."""
    texture = style.textures[rng.integers(len(style.textures))]
    colour = _choose_colour(rng, exclude=())
    pattern = _texture(texture, rng, height, width)[..., None]
    if style.texture_contrast != 1:
        pattern = 0.5 + style.texture_contrast * (pattern - 0.5)
    dark, light = _tones(colour, rng)
    return texture, colour, (dark + pattern * (light - dark)).astype(np.float32)


def _choose_colour(rng: np.random.Generator, exclude: tuple[str, ...]) -> str:
    names = [name for name in COLOURS if name not in exclude]
    return names[rng.integers(len(names))]


def sample_layer(
    rng: np.random.Generator,
    centre: np.ndarray,
    size: np.ndarray | float,
    angle: np.ndarray | float,
    alpha: np.ndarray | float = 1.0,
    shapes: tuple[str, ...] = tuple(SHAPES),
    exclude_colours: tuple[str, ...] = (),
) -> Layer:
    """A layer of a random shape from ``shapes`` and a random colour not in
    ``exclude_colours``, following the given per-frame ``centre`` (T, 2); scalars of the
    other parameters are held for every frame."""
    shape = shapes[rng.integers(len(shapes))]
    colour = _choose_colour(rng, exclude_colours)
    rgb = (np.asarray(COLOURS[colour], np.float32) + rng.uniform(-8, 8, 3)).astype(np.float32)
    frames = len(centre)

    def per_frame(value: np.ndarray | float) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, np.float32), (frames,)).copy()

    return Layer(
        shape, colour, rgb, np.asarray(centre, np.float32), per_frame(size), per_frame(angle), per_frame(alpha)
    )


def sample_distractors(
    rng: np.random.Generator,
    num_frames: int,
    height: int,
    width: int,
    exclude_colours: tuple[str, ...],
    count: tuple[int, int] = (1, 2),
) -> tuple[Layer, ...]:
    """``count`` (min, max) small shapes, static or drifting slowly in a straight line."""
    scale = min(height, width)
    layers = []
    for _ in range(rng.integers(count[0], count[1] + 1)):
        size = rng.uniform(0.07, 0.13) * scale
        start = rng.uniform([size, size], [width - size, height - size])
        end = start + (rng.uniform(-0.1, 0.1, 2) * scale if rng.random() < 0.5 else 0)
        centre = start + np.linspace(0, 1, num_frames)[:, None] * (end - start)
        layers.append(sample_layer(rng, centre, size, rng.uniform(0, 2 * math.pi), exclude_colours=exclude_colours))
        exclude_colours += (layers[-1].colour,)
    return tuple(layers)


def _coverage(shape: str, u: np.ndarray, v: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of ``shape`` scaled to ``size`` pixels, at local unit
    coordinates (u, v). The pieces' coverages add up, so shared inner edges leave no seam."""
    total = 0
    for kind, a, b in SHAPES[shape]:
        if kind == "circle":
            distance = np.hypot(u - a[0], v - a[1]) - b
        else:  # approximate signed distance of a convex polygon
            distance = (np.stack([u, v], axis=-1) @ a.T - b).max(axis=-1)
        total = total + np.clip(0.5 - distance * size, 0, 1)
    return np.minimum(total, 1)


def _draw(frames: np.ndarray, layer: Layer) -> None:
    """Alpha-blend ``layer`` into ``frames`` (T, H, W, 3) float32 in place."""
    _, height, width, _ = frames.shape
    reach = layer.size[:, None] * _EXTENT + 1
    x0, y0 = np.floor((layer.centre - reach).min(0)).astype(int).clip(0)
    x1, y1 = np.ceil((layer.centre + reach).max(0)).astype(int)
    x1, y1 = min(x1, width), min(y1, height)
    if x0 >= x1 or y0 >= y1:
        return
    # pixel centres relative to each frame's shape centre, rotated into the shape's frame
    dx = (np.arange(x0, x1, dtype=np.float32) + 0.5)[None, None, :] - layer.centre[:, 0, None, None]
    dy = (np.arange(y0, y1, dtype=np.float32) + 0.5)[None, :, None] - layer.centre[:, 1, None, None]
    cos, sin, size = (a[:, None, None] for a in (np.cos(layer.angle), np.sin(layer.angle), layer.size))
    u = (cos * dx + sin * dy) / size
    v = (cos * dy - sin * dx) / size
    coverage = _coverage(layer.shape, u, v, size)
    weight = (coverage * layer.alpha[:, None, None])[..., None]
    crop = frames[:, y0:y1, x0:x1]
    crop += weight * (layer.rgb - crop)


def render_scene(scene: Scene, noise_std: float, rng: np.random.Generator) -> np.ndarray:
    """Render ``scene`` to uint8 frames (T, H, W, 3), adding Gaussian pixel noise."""
    num_frames = len(scene.actors[0].centre)
    frames = np.repeat(scene.background[None], num_frames, axis=0)
    for layer in scene.layers:
        _draw(frames, layer)
    if noise_std > 0:
        frames += rng.standard_normal(frames.shape, dtype=np.float32) * noise_std
    return np.clip(frames + 0.5, 0, 255).astype(np.uint8)
