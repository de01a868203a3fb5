"""A tiny Something-Something-format data set (real VP9 files) and experiment configs for
it, for the tests that train."""

from __future__ import annotations

from pathlib import Path

import yaml

from dist_video.engine import train as train_module
from dist_video.synthetic import SYNTHETIC_CLASSES, SyntheticConfig, make_synthetic_dataset

from tiny import TINY_CLIP


def make_dataset(folder: Path) -> Path:
    """4 classes, 6 training and 2 validation videos each, 8 frames of 32 x 32."""
    config = SyntheticConfig(
        classes=SYNTHETIC_CLASSES[:4], train_per_class=6, val_per_class=2, num_frames=8, height=32, width=32
    )
    return make_synthetic_dataset(folder, config, seed=0, progress=False)


def write_config(path: Path, data_dir: Path, out: Path, **sections) -> Path:
    config = {
        "model": {
            "clip": {"arch": TINY_CLIP, "pretrained": "random"},
            "branch": {"num_frames": 4, "alpha": 2, "temporal_dim": 16, "integration_dim": 64, "pooling_layers": 1},
        },
        "data": {
            "format": "ssv2",
            "root": str(data_dir / "videos"),
            "annotations": {
                "train": str(data_dir / "something-something-v2-train.json"),
                "val": str(data_dir / "something-something-v2-validation.json"),
            },
            "labels": str(data_dir / "something-something-v2-labels.json"),
            "num_frames": 4,
            "train_crop_size": 32,
            "test_scale": 32,
            "test_crop_size": 32,
            "num_temporal_views": 2,
            "num_workers": 0,
        },
        "optim": {"lr": 1e-3, "reference_batch": 4, "epochs": 2, "warmup_epochs": 0.5},
        "train": {"batch_size": 4, "threads": 1, "log_every": 1},
        "output_dir": str(out),
    }
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values} if isinstance(values, dict) else values
    path.write_text(yaml.safe_dump(config))
    return path


def interrupt_at_loss(monkeypatch, call: int) -> None:
    """Make training's ``call``-th loss computation raise KeyboardInterrupt, as a process
    killed mid-run (the calls after it compute the loss as usual)."""
    real_loss = train_module.soft_target_cross_entropy
    calls = {"n": 0}

    def loss(logits, targets):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return real_loss(logits, targets)

    monkeypatch.setattr(train_module, "soft_target_cross_entropy", loss)
