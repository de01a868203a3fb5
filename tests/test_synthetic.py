"""Tests of the synthetic SSv2-format motion data set and the captioned still images."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import av
import decord
import numpy as np
import pytest
import torch

from dist_video import synthetic
from dist_video.cli import main
from dist_video.config import ConfigError
from dist_video.data import DataConfig, build_dataset
from dist_video.synthetic import (
    SYNTHETIC_CLASSES,
    SYNTHETIC_TEMPLATES,
    SyntheticConfig,
    flip_pairs,
    load_synthetic_config,
    make_synthetic_dataset,
    order_pairs,
    render_captioned_images,
    render_clip,
    stills,
)
from dist_video.synthetic import dataset as synthetic_dataset
from dist_video.synthetic.render import COLOURS, SHAPES, TEXTURES, SceneStyle

JSONS = (
    "something-something-v2-train.json",
    "something-something-v2-validation.json",
    "something-something-v2-labels.json",
)
# every class, two training and one validation clip each, 8 frames of 32 (high) x 64 (wide)
TINY = SyntheticConfig(train_per_class=2, val_per_class=1, num_frames=8, height=32, width=64)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    return make_synthetic_dataset(tmp_path_factory.mktemp("tiny"), TINY, seed=0, progress=False)


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def _annotations(root: Path) -> tuple[list[dict], list[dict], dict]:
    return tuple(json.loads((root / name).read_text()) for name in JSONS)


def test_same_seed_same_files_other_seed_differs(tiny_dataset, tmp_path):
    again = make_synthetic_dataset(tmp_path / "again", TINY, seed=0, progress=False)
    other = make_synthetic_dataset(tmp_path / "other", TINY, seed=1, progress=False)
    for name in JSONS:
        assert (again / name).read_bytes() == (tiny_dataset / name).read_bytes()
    videos = sorted(p.name for p in (tiny_dataset / "videos").iterdir())
    assert videos == sorted(p.name for p in (again / "videos").iterdir())
    for name in videos:
        assert (again / "videos" / name).read_bytes() == (tiny_dataset / "videos" / name).read_bytes()
        np.testing.assert_array_equal(_decode(again / "videos" / name), _decode(tiny_dataset / "videos" / name))
    assert (other / JSONS[0]).read_bytes() != (tiny_dataset / JSONS[0]).read_bytes()
    assert not np.array_equal(_decode(other / "videos/1.webm"), _decode(tiny_dataset / "videos/1.webm"))


def test_every_video_decodes_with_the_configured_shape(tiny_dataset):
    videos = sorted((tiny_dataset / "videos").iterdir())
    assert len(videos) == len(SYNTHETIC_CLASSES) * 3
    for path in videos:
        assert path.suffix == ".webm" and path.stem.isdigit()
        with av.open(str(path)) as container:
            assert container.streams.video[0].codec_context.name == "vp9"
            assert container.streams.video[0].format.name == "yuv420p"
        assert _decode(path).shape == (TINY.num_frames, TINY.height, TINY.width, 3)
        reader = decord.VideoReader(str(path))
        assert len(reader) == TINY.num_frames
        assert reader[0].shape == (TINY.height, TINY.width, 3)


def test_annotations_follow_ssv2_and_are_balanced(tiny_dataset):
    train, validation, labels = _annotations(tiny_dataset)
    assert labels == {name: str(i) for i, name in enumerate(SYNTHETIC_CLASSES)}
    for split, per_class in ((train, TINY.train_per_class), (validation, TINY.val_per_class)):
        counts = {template: 0 for template in SYNTHETIC_TEMPLATES}
        for item in split:
            assert set(item) == {"id", "label", "template", "placeholders"}
            counts[item["template"]] += 1
            assert item["template"].replace("[", "").replace("]", "") in labels
            assert len(item["placeholders"]) == item["template"].count("[something]") + item["template"].count(
                "[Something]"
            )
            filled = item["template"]
            for name in item["placeholders"]:
                colour, shape = name.split()
                assert colour in COLOURS and shape in SHAPES
                filled = re.sub(r"\[[sS]omething\]", name, filled, count=1)
            assert item["label"] == filled[0].lower() + filled[1:]
        assert set(counts.values()) == {per_class}
    ids = [item["id"] for item in train + validation]
    assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids)
    assert {f"{i}.webm" for i in ids} == {p.name for p in (tiny_dataset / "videos").iterdir()}
    labels_in_id_order = [item["template"] for item in sorted(train, key=lambda item: int(item["id"]))]
    assert labels_in_id_order[: len(SYNTHETIC_CLASSES)] != SYNTHETIC_TEMPLATES  # shuffled: ids hide labels


def test_complete_dataset_is_kept_and_interrupted_one_regenerated(tmp_path, monkeypatch):
    config = SyntheticConfig(
        classes=SYNTHETIC_CLASSES[:2], train_per_class=2, val_per_class=1, num_frames=4, height=16, width=16
    )
    root = make_synthetic_dataset(tmp_path, config, seed=3, progress=False)
    before = {p.name: p.read_bytes() for p in (root / "videos").iterdir()}

    def fail(*args):
        raise AssertionError("a complete data set was regenerated")

    monkeypatch.setattr(synthetic_dataset, "_write_clip", fail)
    make_synthetic_dataset(root, config, seed=3, progress=False)
    with pytest.raises(AssertionError):  # another seed is another data set
        make_synthetic_dataset(root, config, seed=4, progress=False)
    monkeypatch.undo()
    assert not (root / synthetic.MANIFEST).exists()  # the interrupted run left no manifest

    make_synthetic_dataset(root, config, seed=3, progress=False)
    assert {p.name: p.read_bytes() for p in (root / "videos").iterdir()} == before
    (root / "videos" / "1.webm").unlink()  # a missing video makes the set incomplete
    make_synthetic_dataset(root, config, seed=3, progress=False)
    assert (root / "videos" / "1.webm").read_bytes() == before["1.webm"]

    smaller = SyntheticConfig(**{**vars(config), "train_per_class": 1})
    make_synthetic_dataset(root, smaller, seed=3, progress=False)
    assert len(list((root / "videos").iterdir())) == 4  # stale videos of the larger set removed
    assert len(json.loads((root / JSONS[0]).read_text())) == 2


def test_workers_give_the_same_files(tmp_path):
    config = SyntheticConfig(
        classes=SYNTHETIC_CLASSES[:4], train_per_class=2, val_per_class=0, num_frames=4, height=16, width=16
    )
    one = make_synthetic_dataset(tmp_path / "one", config, seed=0, progress=False)
    two = make_synthetic_dataset(tmp_path / "two", config, seed=0, workers=2, progress=False)
    for path in sorted(one.rglob("*.*")):
        assert (two / path.relative_to(one)).read_bytes() == path.read_bytes()


def test_order_pairs_are_exact_time_reversals():
    pairs = order_pairs()
    assert len(pairs) == len(SYNTHETIC_CLASSES) // 2
    assert sorted(i for pair in pairs for i in pair) == list(range(len(SYNTHETIC_CLASSES)))
    for a, b in pairs:
        forward, reverse = (render_clip(SYNTHETIC_CLASSES[c], np.random.default_rng(7), 12, 48, 48) for c in (a, b))
        np.testing.assert_array_equal(reverse[0], forward[0][::-1])
        assert not np.array_equal(forward[0], forward[0][::-1])
        np.testing.assert_array_equal(reverse[1].actors[0].centre, forward[1].actors[0].centre[::-1])
    subset = [SYNTHETIC_CLASSES[i] for i in (3, 0, 2, 1, 4)]
    assert order_pairs(subset) == [(1, 3), (2, 0)]
    assert flip_pairs() == [(0, 1), (6, 7)]


def _mask(frames: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Pixels within a small distance of the colour ``rgb``: (T, H, W) bool."""
    return np.linalg.norm(frames.astype(np.float32) - rgb, axis=-1) < 30


def _centroids(mask: np.ndarray) -> np.ndarray:
    """Per-frame (x, y) centroid of a (T, H, W) mask."""
    ys, xs = np.mgrid[0 : mask.shape[1], 0 : mask.shape[2]]
    area = mask.sum((1, 2))
    return np.stack([(mask * xs).sum((1, 2)) / area, (mask * ys).sum((1, 2)) / area], 1)


def _orientation(mask: np.ndarray) -> np.ndarray:
    """Per-frame angle (mod pi) of a mask's long axis, in image coordinates (y down)."""
    ys, xs = np.mgrid[0 : mask.shape[1], 0 : mask.shape[2]]
    c = _centroids(mask)
    dx, dy = xs - c[:, 0, None, None], ys - c[:, 1, None, None]
    mxx, myy, mxy = ((mask * d).sum((1, 2)) for d in (dx * dx, dy * dy, dx * dy))
    return 0.5 * np.arctan2(2 * mxy, mxx - myy)


@pytest.mark.parametrize("seed", range(4))
def test_forward_classes_show_their_motion_in_pixels(seed):
    """Each forward class shows its motion (its partner is its exact reversal, tested above)."""
    size, frames_ = 64, 16

    def clip(name):
        return render_clip(name, np.random.default_rng(seed), frames_, size, size)

    frames, scene = clip("Moving something from left to right")
    x, y = _centroids(_mask(frames, scene.actors[0].rgb)).T
    assert x[-1] - x[0] > 0.3 * size and abs(y[-1] - y[0]) < 0.1 * size

    frames, scene = clip("Moving something up")
    x, y = _centroids(_mask(frames, scene.actors[0].rgb)).T
    assert y[0] - y[-1] > 0.3 * size and abs(x[-1] - x[0]) < 0.1 * size

    frames, scene = clip("Moving something towards the camera")
    area = _mask(frames, scene.actors[0].rgb).sum((1, 2))
    assert area[-1] > 4 * area[0] > 0

    frames, scene = clip("Something appearing")
    area = _mask(frames, scene.actors[0].rgb).sum((1, 2))
    assert area[0] == 0 and area[-1] > 40

    frames, scene = clip("Moving something and something closer to each other")
    first, second = (_centroids(_mask(frames, actor.rgb)) for actor in scene.actors)
    gap = np.linalg.norm(first - second, axis=1)
    assert gap[0] - gap[-1] > 0.15 * size

    frames, scene = clip("Covering something with something")
    hidden, cover = (_mask(frames, actor.rgb).sum((1, 2)) for actor in scene.actors)
    assert hidden[0] > 20 and hidden[-1] == 0 and cover[-1] > hidden[0]

    # clockwise on screen: the long axis' angle grows in image coordinates (y down)
    rng = np.random.default_rng(seed)
    while True:  # an elongated shape has a well-defined long axis
        frames, scene = render_clip("Turning something clockwise", rng, frames_, size, size)
        if scene.actors[0].shape in ("arrow", "semicircle"):
            break
    turn = np.diff(np.unwrap(2 * _orientation(_mask(frames, scene.actors[0].rgb))) / 2)
    assert turn.sum() > 0.5 * math.pi and (turn > -0.1).all()


def _parse(text: str) -> dict:
    where = "|".join(re.escape(w) for row in stills._WHERE for w in row)
    match = re.fullmatch(rf"an? (\w+) (\w+) ({where}) a (\w+) (\w+) background", text)
    assert match, text
    return dict(zip(("colour", "shape", "where", "texture", "background"), match.groups()))


def test_captions_match_the_pixels():
    images, captions = render_captioned_images(300, size=64, seed=0)
    assert images.shape == (300, 64, 64, 3) and str(images.dtype) == "torch.uint8"
    images = images.numpy()
    correct_background = 0
    spread = {texture: [] for texture in TEXTURES}
    for image, text in zip(images, captions):
        words = _parse(text)
        assert words["shape"] in SHAPES and words["texture"] in TEXTURES
        assert words["colour"] != words["background"]
        mask = _mask(image[None], np.asarray(COLOURS[words["colour"]]))[0]
        assert mask.sum() >= 12, text
        x, y = _centroids(mask[None])[0] / 64
        row, column = next(
            (r, c) for r, cells in enumerate(stills._WHERE) for c, w in enumerate(cells) if w == words["where"]
        )
        assert column / 3 - 0.06 < x < (column + 1) / 3 + 0.06, text
        assert row / 3 - 0.06 < y < (row + 1) / 3 + 0.06, text
        # background: pixels away from the objects (which have other colours than the background)
        others = [rgb for name, rgb in COLOURS.items() if name != words["background"]]
        objects = np.stack([_mask(image[None], np.asarray(rgb))[0] for rgb in others]).any(0)
        background = image[~objects].astype(np.float32)
        mids = {name: 0.475 * np.asarray(rgb) + 56 for name, rgb in COLOURS.items()}
        nearest = min(mids, key=lambda name: np.linalg.norm(background.mean(0) - mids[name]))
        correct_background += nearest == words["background"]
        brightness = background.mean(1)  # its interquartile range: about the noise when plain
        spread[words["texture"]].append(np.percentile(brightness, 75) - np.percentile(brightness, 25))
    assert correct_background >= 0.95 * len(captions)
    assert max(spread.pop("plain")) < 5 < 8 < min(min(values) for values in spread.values())


def test_caption_prompts_cover_every_caption_of_the_object():
    _, captions = render_captioned_images(300, size=64, seed=1)
    for text in captions[:60]:
        words = _parse(text)
        assert text in synthetic.caption_prompts(f"{words['colour']} {words['shape']}")
    prompts = synthetic.caption_prompts("orange star")
    assert len(set(prompts)) == len(prompts) == 9 * len(TEXTURES) * (len(COLOURS) - 1)
    assert all(_parse(p)["colour"] == "orange" and _parse(p)["background"] != "orange" for p in prompts)


def test_captioned_images_are_deterministic_and_fast():
    import time

    start = time.perf_counter()
    images, captions = render_captioned_images(400, size=(48, 80), seed=5)
    assert time.perf_counter() - start < 4  # about 0.3 s on one core; hundreds of images per second
    assert images.shape == (400, 48, 80, 3)
    prefix, prefix_captions = render_captioned_images(10, size=(48, 80), seed=5)
    assert (prefix == images[:10]).all() and prefix_captions == captions[:10]
    other, _ = render_captioned_images(10, size=(48, 80), seed=6)
    assert not (other == images[:10]).all()
    assert len(set(captions)) > 300


def test_presets_and_validation():
    default, large = load_synthetic_config("default"), load_synthetic_config("large")
    assert default.num_frames == 32 and 64 <= default.height <= 96
    assert 300 <= default.train_per_class * len(default.classes) <= 2000
    assert len(large.classes) > len(default.classes) and large.num_frames > default.num_frames
    assert large.height * large.width > default.height * default.width
    assert load_synthetic_config("default", num_frames=8).num_frames == 8
    for bad in ({"classes": ["Dancing something"]}, {"height": 65}, {"crf": 99}, {"frames": 8}):
        with pytest.raises(ConfigError):
            load_synthetic_config("default", **bad)


def test_make_synthetic_command(tmp_path, capsys):
    argv = [
        "make-synthetic",
        str(tmp_path),
        "--seed",
        "2",
        "--train-per-class",
        "1",
        "--val-per-class",
        "1",
        "--num-frames",
        "4",
        "--size",
        "16",
        "--set",
        "classes=[Something appearing, Something disappearing]",
    ]
    assert main(argv) == 0
    assert "2 classes" in capsys.readouterr().out
    manifest = json.loads((tmp_path / synthetic.MANIFEST).read_text())
    assert manifest["seed"] == 2 and manifest["config"]["num_frames"] == 4 and manifest["config"]["width"] == 16
    assert json.loads((tmp_path / JSONS[2]).read_text()) == {"Something appearing": "0", "Something disappearing": "1"}
    assert len(list((tmp_path / "videos").iterdir())) == 4


def test_frame_subsets_render_the_same_scene():
    style = SceneStyle(noise_std=0.0)
    for name in ("Moving something from left to right", "Moving something from right to left"):
        full, _ = render_clip(name, np.random.default_rng(3), 16, 48, 48, style)
        indices = [0, 3, 7, 15]
        part, scene = render_clip(name, np.random.default_rng(3), 16, 48, 48, style, indices)
        np.testing.assert_array_equal(part, full[indices])
        assert len(scene.actors[0].centre) == 4


def test_scene_style_sets_background_and_distractors():
    plain = SceneStyle(textures=("plain",), distractors=(0, 0), noise_std=0.0)
    frames, scene = render_clip("Moving something up", np.random.default_rng(0), 8, 48, 48, plain)
    assert scene.texture == "plain" and scene.distractors == ()
    corner = frames[:, :4, :4].reshape(-1, 3)
    assert (corner == corner[0]).all()  # one flat tone where the actor does not pass
    busy = SceneStyle(distractors=(2, 2))
    assert len(render_clip("Moving something up", np.random.default_rng(0), 8, 48, 48, busy)[1].distractors) == 2
    flat = SceneStyle(textures=("striped",), texture_contrast=0.0, distractors=(0, 0), noise_std=0.0)
    frames, _ = render_clip("Something appearing", np.random.default_rng(1), 8, 48, 48, flat)
    assert len(np.unique(frames[0].reshape(-1, 3), axis=0)) == 1  # contrast 0: no stripes (and nothing yet)
    for bad in ({"textures": ("wavy",)}, {"texture_contrast": 2.0}, {"distractors": (2, 1)}):
        with pytest.raises(ValueError):
            SceneStyle(**bad)
    with pytest.raises(ConfigError, match="textures"):
        load_synthetic_config("default", textures=["wavy"])


def test_training_split_can_be_rendered_on_the_fly(tmp_path):
    config = SyntheticConfig(
        classes=SYNTHETIC_CLASSES[:4], train_per_class=3, val_per_class=1, num_frames=8, height=32, width=32
    )
    root = make_synthetic_dataset(tmp_path, config, seed=0, progress=False, train_videos=False)
    assert not (root / "something-something-v2-train.json").exists()
    assert len(list((root / "videos").glob("*.webm"))) == 4  # validation only
    assert synthetic.read_manifest(root) == (config, 0)
    data = DataConfig(
        format="synthetic",
        root=str(root / "videos"),
        labels=str(root / JSONS[2]),
        annotations={"val": str(root / JSONS[1])},
        num_frames=4,
        train_crop_size=32,
        test_scale=32,
        test_crop_size=32,
        num_temporal_views=1,
    )
    train = build_dataset(data, "train", train=True)
    assert len(train) == 12 and [r.label for r in train.records] == [0, 1, 2, 3] * 3
    first, again, other = train[(5, 11)], train[(5, 11)], train[(5, 12)]
    assert first["video"].shape == (3, 4, 32, 32) and int(first["label"]) in (0, 1)  # class 1, or 0 if flipped
    assert torch.equal(first["video"], again["video"]) and not torch.equal(first["video"], other["video"])
    val = build_dataset(data, "val", train=False)
    assert len(val) == 4 and val.renderer is None and Path(val.records[0].path).is_file()
    with pytest.raises(ValueError, match="manifest"):
        build_dataset(DataConfig(**{**data.__dict__, "root": str(tmp_path / "elsewhere" / "videos")}), "train", True)
