"""Synthetic data sets in Something-Something V2's layout (VP9 webm files and SSv2's
annotation JSONs), their config and manifest, and the clip renderer that stands in for
decoding when training clips are rendered on the fly (``data.format: synthetic``)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from ..config import from_dict, load_yaml, packaged_config_path, to_dict
from ..errors import DataError
from ..io import atomic_path
from .motions import SYNTHETIC_CLASSES, SYNTHETIC_TEMPLATES, render_clip
from .render import TEXTURES, SceneStyle

__all__ = [
    "MANIFEST",
    "SyntheticConfig",
    "load_synthetic_config",
    "SyntheticClipRenderer",
    "read_manifest",
    "make_synthetic_dataset",
    "write_webm",
]

MANIFEST = "synthetic-manifest.json"
_GENERATOR_VERSION = 1  # bump when the rendering changes, so that older data sets are regenerated
_CLIPS = 0  # the clips' random stream (stills.py draws from stream 1: a still never repeats a clip's scene)


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
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n")


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


def _label(template: str, placeholders: Sequence[str]) -> str:
    """SSv2's label: the template filled in, starting lower case."""
    text = template
    for name in placeholders:
        start = text.index("[")
        text = text[:start] + name + text[text.index("]", start) + 1 :]
    return text[0].lower() + text[1:]


def _write_clip(root: Path, config: SyntheticConfig, seed: int, number: int, name: str) -> dict:
    """Render and encode clip ``number`` of class ``name``; return its SSv2 annotation."""
    rng = np.random.default_rng([seed, _CLIPS, number])
    frames, scene = render_clip(name, rng, config.num_frames, config.height, config.width, config.style)
    with atomic_path(root / "videos" / f"{number}.webm") as tmp:
        write_webm(tmp, frames, config.fps, config.crf)
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
