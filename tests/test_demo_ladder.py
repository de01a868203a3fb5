"""The demo's ablation ladder (benchmarks/demo_ladder.py): rungs change one switch at a
time, and a rung trains, scores and lands in the table."""

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from dist_video.demo.run import load_demo_config
from dist_video.models.clip import build_clip

LADDER = Path(__file__).resolve().parents[1] / "benchmarks" / "demo_ladder.py"


@pytest.fixture(scope="module")
def ladder():
    spec = importlib.util.spec_from_file_location("demo_ladder", LADDER)
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_ladder"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _differences(a, b) -> list[str]:
    return [f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)]


def test_each_rung_changes_one_thing(ladder):
    rungs = ladder.rungs()
    names = [name for name, _ in ladder.LADDER_STEPS]
    for before, after in zip(names, names[1:]):
        changed = _differences(rungs[before], rungs[after])
        assert len(changed) == 1, (after, changed)
    assert rungs[names[-1]] == ladder.DEMO  # the ladder ends at the demo as it was
    for name, _ in ladder.WALK_BACK:
        assert 1 <= len(_differences(rungs[name], ladder.DEMO)) <= 4, name


def test_a_rung_trains_and_reports(ladder, tmp_path, capsys):
    torch.manual_seed(0)
    clip = tmp_path / "clip.safetensors"  # random towers of the demo's CLIP architecture
    save_file(
        {k: v.contiguous() for k, v in build_clip(load_demo_config("default").clip_arch).state_dict().items()},
        str(clip),
    )
    out = tmp_path / "rows.jsonl"
    ladder.main(
        [
            "--clip",
            str(clip),
            "--rungs",
            "+ 1500 fixed clips",
            "--set",
            "train_clips=8",
            "--set",
            "pairs=[0]",
            "--seeds",
            "0",
            "--steps",
            "2",
            "--eval-at",
            "1",
            "--val-per-class",
            "2",
            "--out",
            str(out),
        ]
    )
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["setting"]["train_clips"] == 8 and row["setting"]["pairs"] == [0]
    assert set(row["curve"]) == {"1", "2"}
    for point in row["curve"].values():
        assert 0 <= point["top1"] <= 100 and "pair0-1" in point and point["loss"] > 0
    table = capsys.readouterr().out
    assert "| + 1500 fixed clips train_clips=8 pairs=[0] | 0 |" in table
