"""The embedded demo: a scaled-down run end to end, the small CLIP's pre-training, and
the README's main-job command."""

import dataclasses
import json
import math
import re
from pathlib import Path

import av  # noqa: F401  (PyAV before decord: see tests/video_factory.py)
import yaml

from dist_video.cli import main
from dist_video.demo.pretrain_clip import PretrainConfig, pretrain_clip

from tiny import TINY_ARCH

README = Path(__file__).resolve().parents[1] / "README.md"


def test_tiny_demo_runs_end_to_end(tmp_path, capsys):
    assert main(["demo", "--preset", "tiny", "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "DiST" in table and "zero-shot" in table
    results = json.loads((tmp_path / "results.json").read_text())
    methods = results["methods"]
    assert set(methods) == {"zero_shot", "frame_average", "dist"}
    for name, entry in methods.items():
        for key in ("top1", "top5", "params_trainable", "train_seconds", "order_pair_accuracy_mean"):
            assert key in entry, (name, key)
        assert 0 <= entry["top1"] <= entry["top5"] <= 100
        assert sorted(entry["order_pair_accuracy"]) == ["left/right", "up/down"]  # the tiny preset's pairs
    embed = 32  # tiny CLIP's embedding width: the frame-averaging head is one E x E linear map
    assert methods["zero_shot"]["params_trainable"] == 0
    assert methods["frame_average"]["params_trainable"] == embed * embed + embed
    assert methods["dist"]["params_trainable"] > methods["frame_average"]["params_trainable"]
    assert methods["zero_shot"]["train_seconds"] == 0
    assert results["chance_top1"] == 25.0
    # trained on clips rendered on the fly: no training videos on disk
    assert yaml.safe_load((tmp_path / "dist" / "config.yaml").read_text())["data"]["format"] == "synthetic"
    assert not (tmp_path / "data" / "something-something-v2-train.json").exists()
    for name in ("training_curves.png", "order_pairs.png", "dist/eval/confusion_matrix.png", "dist/metrics.jsonl"):
        assert (tmp_path / name).is_file(), name
    # A second run reuses the data set and the pre-trained CLIP, and resumes the finished runs.
    cached = sorted(p.name for p in (tmp_path / "clip").iterdir())
    assert main(["demo", "--preset", "tiny", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in (tmp_path / "clip").iterdir()) == cached
    assert json.loads((tmp_path / "results.json").read_text())["methods"]["dist"]["top1"] == methods["dist"]["top1"]


def test_clip_pretraining_learns_captions():
    arch = dataclasses.replace(TINY_ARCH, context_length=32)
    model, report = pretrain_clip(
        PretrainConfig(arch=arch, num_images=1024, steps=40, batch_size=64, lr=2e-3, warmup_steps=5),
        show_progress=False,
    )
    assert report["final_loss"] < 0.8 * math.log(64)  # chance level of the contrastive loss
    assert report["heldout_retrieval_top1"] > 2 / 512  # well above picking one of 512 at random


def test_readme_main_job_is_the_demo():
    text = README.read_text()
    commands = re.findall(r"```bash\n(.*?)```", text, flags=re.S)[0]
    assert "dist-video demo" in commands and "pytest" in commands
