"""Ablation ladder for the demo: which differences between a DiST that learns motion order
and the demo's DiST stop it learning?

Every rung trains the demo's DiST (the demo's small CLIP, 4 sparse + 8 dense frames,
Ct 32, Ci 128, 2 pooling blocks, batch 16, AdamW) on synthetic order-only clips held in
memory, and scores a fixed held-out set: top-1 and the accuracy within each order pair
(chance 50 %) at fixed steps. A setting is a set of switches (:class:`Setting`); the
ladder starts from a setting that learns and changes one switch per rung toward the
demo's, then walks back from the demo's side. Rungs run for each seed and append a JSON
line each to ``--out``; ``--table`` prints the table from such files.

Usage::

    python benchmarks/demo_ladder.py --clip CLIP.safetensors --rungs all --seeds 0 --out a.jsonl
    python benchmarks/demo_ladder.py --table a.jsonl b.jsonl

``--clip`` takes the demo's CLIP weights (``runs/demo/clip/clip-*.safetensors``); without
it the demo's CLIP is pre-trained first (about 3 minutes) and cached next to ``--out``.
Results and what they mean: docs/demo.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from timm.loss import SoftTargetCrossEntropy

from dist_video.config import from_dict, merge_dicts, to_dict
from dist_video.data.mixup import smooth_one_hot
from dist_video.data.sampling import segment_indices
from dist_video.data.transforms import EvalTransform, TrainTransform
from dist_video.demo.pretrain_clip import PretrainConfig, load_or_pretrain_clip
from dist_video.demo.run import _pretrain_key, load_demo_config
from dist_video.engine.optim import OptimConfig, WarmupCosine, build_optimizer
from dist_video.models.zoo import create_model
from dist_video.synthetic import SYNTHETIC_CLASSES, flip_pairs, order_pairs, render_clip
from dist_video.synthetic.render import SceneStyle

CLIP_FRAMES = 32  # frames per rendered clip, as the demo's videos
SIZE = 64


@dataclasses.dataclass(frozen=True)
class Setting:
    """The switches a rung sets. Defaults: the demo's DiST as it was before the ladder
    (10 classes, 1500 fixed clips, the release's augmentation and initialisation)."""

    pairs: tuple[int, ...] = (0, 1, 2, 3, 4)  # order pairs of SYNTHETIC_CLASSES (0 left/right, 1 up/down,
    # 2 towards/away, 3 clockwise/counterclockwise, 4 appearing/disappearing)
    background: str = "textured"  # "textured" (the demo's 5 textures) or "plain"
    texture_contrast: float = 1.0
    distractors: bool = True
    train_clips: int | None = 1500  # a fixed pool of clips, or None: fresh clips every step
    crop: bool = True  # random resized crop, scale 0.7-1 (the demo's)
    flip: bool = True  # horizontal flip, left/right and clockwise labels swapped
    colour: bool = True  # colour jitter and grayscale (the data defaults)
    label_smoothing: float = 0.1
    jitter: bool = True  # segment sampling with a random frame per segment (else centres)
    warmup: int = 46  # steps (the demo: half an epoch of 93)
    lr: float = 1e-3
    pooling_init: str = "release"  # "release" or "mean"
    stem_init: str = "release"  # "release" or "motion"

    @property
    def classes(self) -> list[str]:
        return [SYNTHETIC_CLASSES[2 * p + i] for p in self.pairs for i in (0, 1)]

    def style(self) -> SceneStyle:
        textures = ("plain",) if self.background == "plain" else SceneStyle().textures
        return SceneStyle(textures, self.texture_contrast, (1, 2) if self.distractors else (0, 0))


def _changed(base: Setting, **changes) -> Setting:
    return dataclasses.replace(base, **changes)


# From the demo as it is now (4 classes, fresh clips, no augmentation, the ``motion``
# initialisation, lr 5e-4), first on clean clips, toward the demo as it was before the
# ladder, one switch per rung (each rung keeps the ones above).
NOW = Setting(
    pairs=(0, 1),
    train_clips=None,
    crop=False,
    flip=False,
    colour=False,
    label_smoothing=0.0,
    lr=5e-4,
    pooling_init="mean",
    stem_init="motion",
)
LADDER_STEPS = [
    ("clean clips", {"background": "plain", "distractors": False}),
    ("+ distractors", {"distractors": True}),
    ("+ textured backgrounds (the demo now)", {"background": "textured"}),
    ("+ lr 1e-3", {"lr": 1e-3}),
    ("+ 10 classes", {"pairs": (0, 1, 2, 3, 4)}),
    ("+ label smoothing 0.1", {"label_smoothing": 0.1}),
    ("+ colour jitter", {"colour": True}),
    ("+ flip, labels swapped", {"flip": True}),
    ("+ random resized crop", {"crop": True}),
    ("+ 1500 fixed clips", {"train_clips": 1500}),
    ("+ release pooling init", {"pooling_init": "release"}),
    ("+ release stem init (the demo before)", {"stem_init": "release"}),
]
DEMO = Setting()
# From the demo as it was: one switch back at a time.
WALK_BACK = [
    ("before, motion stem init", {"stem_init": "motion"}),
    ("before, mean pooling init", {"pooling_init": "mean"}),
    ("before, fresh clips", {"train_clips": None}),
    (
        "before, no augmentation, no label smoothing",
        {"crop": False, "flip": False, "colour": False, "label_smoothing": 0.0},
    ),
    ("before, lr 5e-4", {"lr": 5e-4}),
]


def rungs() -> dict[str, Setting]:
    """Every named rung: the ladder (cumulative) and the walk back (each from the demo)."""
    out, setting = {}, NOW
    for name, change in LADDER_STEPS:
        setting = _changed(setting, **change)
        out[name] = setting
    for name, change in WALK_BACK:
        out[name] = _changed(DEMO, **change)
    return out


class ClipSource:
    """Synthetic clips of a setting, as the model takes them: rendered on demand (fresh
    clips) or from a fixed pool rendered once, frames sampled and augmented per draw."""

    def __init__(self, setting: Setting, frames: int, seed: int):
        self.setting, self.frames = setting, frames
        self.classes = setting.classes
        self.flip_map = dict(flip_pairs(self.classes)) | {b: a for a, b in flip_pairs(self.classes)}
        self.style = setting.style()
        self.seed = seed
        self.transform = TrainTransform(
            SIZE,
            scale=(0.7, 1.0) if setting.crop else (1.0, 1.0),
            ratio=(3 / 4, 4 / 3) if setting.crop else (1.0, 1.0),
            flip_prob=0.5 if setting.flip else 0.0,
            **({} if setting.colour else dict(brightness=0, contrast=0, saturation=0, hue=0, grayscale_prob=0)),
        )
        self.pool = None
        if setting.train_clips:
            n = setting.train_clips
            labels = [i % len(self.classes) for i in range(n)]
            self.pool = [
                (label, self._render(label, np.random.default_rng([seed, 1, i]))) for i, label in enumerate(labels)
            ]

    def _render(self, label: int, rng: np.random.Generator, frames=None) -> np.ndarray:
        return render_clip(self.classes[label], rng, CLIP_FRAMES, SIZE, SIZE, self.style, frames)[0]

    def batch(self, step: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``step``: ``size`` augmented clips (B, 3, T, H, W) and their labels."""
        rng = random.Random(self.seed * 1_000_003 + step)
        videos, labels = [], []
        for i in range(size):
            idx = segment_indices(CLIP_FRAMES, self.frames, view=None if self.setting.jitter else 0, rng=rng)
            if self.pool is None:
                label = rng.randrange(len(self.classes))
                frames = self._render(label, np.random.default_rng([self.seed, 2, step, i]), idx)
            else:
                label, clip = self.pool[rng.randrange(len(self.pool))]
                frames = clip[idx]
            video, flipped = self.transform(torch.from_numpy(np.ascontiguousarray(frames)), rng)
            videos.append(video)
            labels.append(self.flip_map.get(label, label) if flipped else label)
        return torch.stack(videos), torch.tensor(labels)


def validation_set(setting: Setting, frames: int, per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed held-out set in the setting's style: centre frames of each segment, no
    augmentation (the demo's evaluation)."""
    classes = setting.classes
    transform, idx = EvalTransform(SIZE, SIZE), segment_indices(CLIP_FRAMES, frames, view=0)
    videos, labels = [], []
    for i in range(per_class * len(classes)):
        label = i % len(classes)
        clip = render_clip(
            classes[label], np.random.default_rng([99, i]), CLIP_FRAMES, SIZE, SIZE, setting.style(), idx
        )[0]
        videos.append(transform(torch.from_numpy(clip)))
        labels.append(label)
    return torch.stack(videos), torch.tensor(labels)


@torch.no_grad()
def evaluate(model, val: tuple[torch.Tensor, torch.Tensor], pairs) -> dict:
    model.eval()
    scores = torch.cat([model(chunk) for chunk in val[0].split(64)])
    model.train()
    labels = val[1]
    out = {"top1": round(100 * (scores.argmax(1) == labels).float().mean().item(), 1)}
    for a, b in pairs:
        mask = (labels == a) | (labels == b)
        pick = torch.where(scores[mask][:, a] >= scores[mask][:, b], a, b)
        out[f"pair{a}-{b}"] = round(100 * (pick == labels[mask]).float().mean().item(), 1)
    pair_keys = [k for k in out if k.startswith("pair")]
    out["order"] = round(sum(out[k] for k in pair_keys) / len(pair_keys), 1)
    return out


def rung_model(setting: Setting, classes: list[str], clip: Path, seed: int):
    """The demo's DiST with the release's initialisation, then the pooling and the stem
    initialised as ``setting`` says (the demo's own config asks for ``init: motion``, which
    would set both whatever the rung)."""
    demo = load_demo_config("default")
    torch.manual_seed(seed)
    config = merge_dicts({"kind": "dist", **demo.dist["model"]}, {"branch": {"init": "release"}})
    model = create_model(config, classes, clip=str(clip))
    if setting.pooling_init == "mean":
        model.dist_net.init_pooling_as_mean()
    if setting.stem_init == "motion":
        model.dist_net.init_stem_motion_energy()
    return model


def train_rung(
    setting: Setting, seed: int, steps: int, eval_at: list[int], clip: Path, val_per_class: int, batch: int = 16
) -> dict:
    """Train the demo's DiST under ``setting``; held-out metrics at the ``eval_at`` steps."""
    demo = load_demo_config("default")
    frames = demo.dist["model"]["branch"]["num_frames"]
    source = ClipSource(setting, frames, seed)
    val = validation_set(setting, frames, val_per_class)
    model = rung_model(setting, source.classes, clip, seed)

    model.train()
    optim = from_dict(OptimConfig, {**demo.experiment["optim"], "lr": setting.lr}, "ladder optim")
    optimizer = build_optimizer(model, optim, setting.lr)
    scheduler = WarmupCosine(optimizer, setting.lr, steps, setting.warmup, optim.warmup_start_lr, optim.min_lr)
    pairs = order_pairs(source.classes)
    loss_fn = SoftTargetCrossEntropy()
    curve, losses, started = {}, [], time.perf_counter()
    for step in range(1, steps + 1):
        video, labels = source.batch(step, batch)
        targets = smooth_one_hot(labels, len(source.classes), setting.label_smoothing)
        loss = loss_fn(model(video), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if step in eval_at:
            curve[step] = {**evaluate(model, val, pairs), "loss": round(float(np.mean(losses[-50:])), 3)}
            print(f"  step {step}: {curve[step]}", file=sys.stderr, flush=True)
    return {"curve": curve, "seconds": round(time.perf_counter() - started, 1)}


def default_clip(cache: Path) -> Path:
    """The demo's small CLIP (seed 0), pre-trained once and cached under ``cache``."""
    demo = load_demo_config("default")
    config = from_dict(PretrainConfig, {"arch": to_dict(demo.clip_arch), "seed": demo.seed, **demo.pretrain}, "clip")
    return load_or_pretrain_clip(config, cache / _pretrain_key(config))[0]


def format_table(rows: list[dict]) -> str:
    """One line per rung: top-1 / mean order-pair accuracy per seed at each step, and time."""
    names = list(dict.fromkeys(row["rung"] for row in rows))
    steps = sorted({int(s) for row in rows for s in row["curve"]})
    head = "| rung | seed | " + " | ".join(f"step {s}" for s in steps) + " | pairs at the end | s |"
    lines = [head, "|" + "---|" * (steps.__len__() + 4)]
    for name in names:
        for row in sorted((r for r in rows if r["rung"] == name), key=lambda r: r["seed"]):
            cells = [
                f"{row['curve'][str(s)]['top1']:g} / {row['curve'][str(s)]['order']:g}"
                if str(s) in row["curve"]
                else "-"
                for s in steps
            ]
            last = row["curve"][max(row["curve"], key=int)]
            pairs = " ".join(f"{last[k]:g}" for k in last if k.startswith("pair"))
            lines.append(f"| {name} | {row['seed']} | " + " | ".join(cells) + f" | {pairs} | {row['seconds']:g} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rungs", nargs="+", default=["all"], help="rung names (see --list) or 'all'")
    parser.add_argument("--list", action="store_true", help="print the rungs and their settings")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--eval-at", nargs="+", type=int, default=[300, 600, 900])
    parser.add_argument("--val-per-class", type=int, default=50)
    parser.add_argument("--clip", type=Path, help="the demo CLIP's weights (default: pre-train and cache)")
    parser.add_argument("--out", type=Path, default=Path("demo_ladder.jsonl"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a switch of every rung run, e.g. --set lr=3e-3",
    )
    parser.add_argument("--table", nargs="+", type=Path, help="print the table of these result files and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(format_table([json.loads(line) for path in args.table for line in path.read_text().splitlines()]))
        return
    known = rungs()
    if args.list:
        for name, setting in known.items():
            print(f"{name}: {setting}")
        return
    names = list(known) if args.rungs == ["all"] else args.rungs
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error(f"unknown rungs {unknown}; see --list")
    switches = {f.name for f in dataclasses.fields(Setting)}
    changes = {}
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in switches:
            parser.error(f"--set {item}: no switch {key!r} (switches: {sorted(switches)})")
        value = yaml.safe_load(value)
        default = getattr(DEMO, key)
        if isinstance(default, tuple):
            value = tuple(value)
        changes[key] = type(default)(value) if default is not None and value is not None else value
    torch.set_num_threads(args.threads)
    clip = args.clip or default_clip(args.out.parent)
    eval_at = sorted({*args.eval_at, args.steps})
    for name in names:
        setting = _changed(known[name], **changes)
        for seed in args.seeds:
            print(f"{name} (seed {seed}): {setting}", file=sys.stderr, flush=True)
            result = train_rung(setting, seed, args.steps, eval_at, clip, args.val_per_class)
            row = {
                "rung": name + (" " + " ".join(args.set) if args.set else ""),
                "seed": seed,
                "setting": dataclasses.asdict(setting),
                **result,
            }
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
    print(format_table([json.loads(line) for line in args.out.read_text().splitlines()]))


if __name__ == "__main__":
    main()
