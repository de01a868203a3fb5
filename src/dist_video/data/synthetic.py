"""Synthetic motion videos in Something-Something V2's format, and captioned still images.

Every video class has a partner that is its time reversal ("Moving something up" /
"Moving something down", ...): a clip of the second class of a pair is a clip of the first
class played backwards, so the two classes have exactly the same distribution of frames
and can only be told apart by the order of the frames. The still images used to pre-train
a small CLIP come from the same renderer and vocabulary (:mod:`.synthetic_render`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import multiprocessing
import os
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
import torch
from tqdm import tqdm

from ..config import from_dict, load_yaml, packaged_config_path, to_dict
from ..errors import DataError
from .synthetic_render import (
    ASYMMETRIC_SHAPES,
    COLOURS,
    TEXTURES,
    Scene,
    SceneStyle,
    render_scene,
    sample_background,
    sample_distractors,
    sample_layer,
)

__all__ = [
    "SYNTHETIC_TEMPLATES",
    "SYNTHETIC_CLASSES",
    "SyntheticConfig",
    "order_pairs",
    "flip_pairs",
    "pair_name",
    "load_synthetic_config",
    "render_clip",
    "SyntheticClipRenderer",
    "read_manifest",
    "make_synthetic_dataset",
    "write_webm",
    "sample_still_scene",
    "caption",
    "caption_prompts",
    "render_captioned_images",
]

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
MANIFEST = "synthetic-manifest.json"
_GENERATOR_VERSION = 1  # bump when the rendering changes, so that older data sets are regenerated
_CLIPS, _STILLS = 0, 1  # separate random streams: a still never repeats a clip's scene


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


@dataclasses.dataclass
class SyntheticConfig:
    """Size of a synthetic data set; ``classes`` are names from :data:`SYNTHETIC_CLASSES`."""

    classes: list[str] = dataclasses.field(default_factory=lambda: list(SYNTHETIC_CLASSES))
    train_per_class: int = 100
    val_per_class: int = 20
    num_frames: int = 32
    height: int = 64
    width: int = 64
    fps: int = 12
    noise_std: float = 3.0
    textures: list[str] = dataclasses.field(default_factory=lambda: list(TEXTURES))
    texture_contrast: float = 1.0  # 0: flat backgrounds
    distractors: tuple[int, int] = (1, 2)  # how many, (min, max)
    crf: int = 32  # VP9 quality, 0 (best) to 63

    def __post_init__(self) -> None:
        unknown = [name for name in self.classes if name not in SYNTHETIC_CLASSES]
        if unknown or not self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes must be distinct names from SYNTHETIC_CLASSES; unknown: {unknown}")
        if min(self.train_per_class, self.val_per_class) < 0 or self.num_frames < 2 or self.fps < 1:
            raise ValueError("clip counts must be >= 0, num_frames >= 2 and fps >= 1")
        if self.height < 16 or self.width < 16 or self.height % 2 or self.width % 2:
            raise ValueError(f"height and width must be even and >= 16, got {self.height}x{self.width}")
        if not 0 <= self.crf <= 63:
            raise ValueError(f"crf must be in 0..63, got {self.crf}")
        _ = self.style  # validates the scene keys

    @property
    def style(self) -> SceneStyle:
        """The scene style of the clips."""
        return SceneStyle(tuple(self.textures), self.texture_contrast, tuple(self.distractors), self.noise_std)


def load_synthetic_config(preset: str = "default", **overrides) -> SyntheticConfig:
    """Read a preset (``default``, ``large``, or a YAML path) and apply keyword overrides."""
    name = preset if Path(preset).is_file() else f"synthetic/{preset}"
    where = str(packaged_config_path(name)) + (f" with overrides {sorted(overrides)}" if overrides else "")
    return from_dict(SyntheticConfig, {**load_yaml(name), **overrides}, where)


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


def _label(template: str, placeholders: Sequence[str]) -> str:
    """SSv2's label: the template filled in, starting lower case."""
    text = template
    for name in placeholders:
        start = text.index("[")
        text = text[:start] + name + text[text.index("]", start) + 1 :]
    return text[0].lower() + text[1:]


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


class SyntheticClipRenderer:
    """Clips made on demand by the generator of a synthetic data set, in place of decoding
    files: ``renderer(class_name, sampler, rng, view, num_views)`` draws a new scene of the
    class from ``rng`` and renders only the frames the sampler picks (uint8 (T, H, W, 3)).
    A data set's manifest gives the generator's settings (:func:`read_manifest`)."""

    def __init__(self, config: SyntheticConfig):
        self.config = config

    def __call__(
        self, class_name: str, sampler: Callable, rng: random.Random, view: int | None = None, num_views: int = 1
    ) -> np.ndarray:
        c = self.config
        indices = sampler(c.num_frames, c.fps, view, num_views, rng)
        scene_rng = np.random.default_rng(rng.getrandbits(64))
        return render_clip(class_name, scene_rng, c.num_frames, c.height, c.width, c.style, indices)[0]


def read_manifest(root: str | Path) -> tuple[SyntheticConfig, int]:
    """The config and seed that wrote the synthetic data set at ``root``."""
    path = Path(root) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a synthetic data set's manifest ({err}); write one with make-synthetic") from err
    return from_dict(SyntheticConfig, manifest["config"], str(path)), int(manifest["seed"])


# ---- SSv2-format data set ----------------------------------------------------------


def write_webm(path: str | Path, frames: np.ndarray, fps: int = 12, crf: int = 32) -> None:
    """Encode uint8 frames (T, H, W, 3) as a VP9 webm (yuv420p), byte-identical across runs."""
    with av.open(str(path), "w", format="webm", container_options={"fflags": "+bitexact"}) as container:
        options = {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8"}
        stream = container.add_stream("libvpx-vp9", rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.thread_count = 1
        try:
            stream.codec_context.open()
        except av.error.ArgumentError as err:
            if "decord" in sys.modules:  # decord's bundled libvpx shadows PyAV's when loaded first
                raise RuntimeError("PyAV cannot encode VP9 once decord is imported before av: import av first") from err
            raise
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def _manifest(config: SyntheticConfig, seed: int, train_videos: bool) -> dict:
    return {
        "generator": "dist_video.synthetic",
        "version": _GENERATOR_VERSION,
        "seed": seed,
        "config": to_dict(config),
        "train_videos": train_videos,
    }


def _is_complete(root: Path, manifest: dict) -> bool:
    """Whether ``root`` holds a finished data set made with ``manifest``'s config and seed."""
    try:
        saved = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    ids = saved.pop("ids", None)
    return saved == manifest and ids is not None and all((root / "videos" / f"{i}.webm").is_file() for i in ids)


def _write_clip(root: Path, config: SyntheticConfig, seed: int, number: int, name: str) -> dict:
    """Render and encode clip ``number`` of class ``name``; return its SSv2 annotation."""
    rng = np.random.default_rng([seed, _CLIPS, number])
    frames, scene = render_clip(name, rng, config.num_frames, config.height, config.width, config.style)
    path = root / "videos" / f"{number}.webm"
    tmp = path.with_name(f"{number}.tmp.webm")
    write_webm(tmp, frames, config.fps, config.crf)
    os.replace(tmp, path)
    template = SYNTHETIC_TEMPLATES[SYNTHETIC_CLASSES.index(name)]
    placeholders = [layer.name for layer in scene.actors[: template.count("[")]]
    return {
        "id": str(number),
        "label": _label(template, placeholders),
        "template": template,
        "placeholders": placeholders,
    }


def _write_clip_star(args: tuple) -> dict:
    return _write_clip(*args)


def make_synthetic_dataset(
    out_dir: str | Path,
    config: SyntheticConfig | str = "default",
    seed: int = 0,
    force: bool = False,
    workers: int = 1,
    progress: bool = True,
    train_videos: bool = True,
) -> Path:
    """Write a synthetic data set in SSv2's layout under ``out_dir`` and return its path.

    ``out_dir/videos/<id>.webm`` and ``something-something-v2-{train,validation,labels}.json``;
    a manifest written last records the config and seed, and a complete data set with the
    same ones is kept as it is unless ``force``. The same seed gives the same files, with
    any number of worker processes. Without ``train_videos`` only the validation split is
    written, for training on clips rendered on the fly (``data.format: synthetic``).
    """
    root = Path(out_dir)
    config = load_synthetic_config(config) if isinstance(config, str) else config
    manifest = _manifest(config, seed, train_videos)
    if not force and _is_complete(root, manifest):
        return root
    (root / MANIFEST).unlink(missing_ok=True)
    (root / "videos").mkdir(parents=True, exist_ok=True)

    jobs = [
        (split, name)
        for split, count in (
            ("train", config.train_per_class if train_videos else 0),
            ("validation", config.val_per_class),
        )
        for name in config.classes
        for _ in range(count)
    ]
    jobs = [jobs[i] for i in np.random.default_rng(seed).permutation(len(jobs))]  # ids do not reveal labels
    args = [(root, config, seed, number, name) for number, (_, name) in enumerate(jobs, start=1)]
    with multiprocessing.Pool(workers) if workers > 1 else contextlib.nullcontext() as pool:
        clips = pool.imap(_write_clip_star, args, chunksize=8) if pool else map(_write_clip_star, args)
        clips = list(tqdm(clips, total=len(args), desc="synthetic clips", disable=not progress))
    annotations = {"train": [], "validation": []}
    for (split, _), annotation in zip(jobs, clips):
        annotations[split].append(annotation)

    ids = {str(number) for number in range(1, len(jobs) + 1)}
    for stale in (root / "videos").glob("*.webm"):  # left over from an earlier, larger set
        if stale.stem not in ids:
            stale.unlink()
    train_json = root / "something-something-v2-train.json"
    if train_videos:
        _write_json(train_json, annotations["train"])
    else:
        train_json.unlink(missing_ok=True)
    _write_json(root / "something-something-v2-validation.json", annotations["validation"])
    _write_json(root / "something-something-v2-labels.json", {name: str(i) for i, name in enumerate(config.classes)})
    _write_json(root / MANIFEST, {**manifest, "ids": sorted(ids, key=int)})
    return root


# ---- captioned still images ----------------------------------------------------------

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
