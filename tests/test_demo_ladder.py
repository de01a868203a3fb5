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


def test_rung_models_start_as_their_switches_say(ladder, tmp_path):
    torch.manual_seed(0)
    clip = tmp_path / "clip.safetensors"
    save_file(
        {k: v.contiguous() for k, v in build_clip(load_demo_config("default").clip_arch).state_dict().items()},
        str(clip),
    )
    classes = ladder.DEMO.classes
    release = ladder.rung_model(ladder.DEMO, classes, clip, seed=0).dist_net
    motion = ladder.rung_model(ladder.rungs()["+ 1500 fixed clips"], classes, clip, seed=0).dist_net
    stem_only = ladder.rung_model(ladder.rungs()["before, motion stem init"], classes, clip, seed=0).dist_net
    dim = release.config.integration_dim

    def queries(net):
        return net.adapooling_nets[0].spatial_transformer.attn.in_proj_weight[:dim]

    # the demo before the ladder: the release's random stem and pooling
    assert queries(release).abs().sum() > 0 and not torch.equal(
        release.temporal_stem.weight, motion.temporal_stem.weight
    )
    assert torch.count_nonzero(queries(motion)) == 0  # mean-start pooling
    assert torch.equal(stem_only.temporal_stem.weight, motion.temporal_stem.weight)  # the motion filters ...
    assert queries(stem_only).abs().sum() > 0  # ... with the release's pooling
