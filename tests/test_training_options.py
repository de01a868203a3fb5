"""What a user controls about a training run: where it resumes from (--resume), the weights
it starts from (train.init_from), EMA, the best N checkpoints, gradient checkpointing and
torch.compile, W&B, TensorBoard tags, and the summary printed at the start."""

from __future__ import annotations

import re
import shutil
import sys
import types
from pathlib import Path

import av  # noqa: F401  (PyAV before decord: see tests/video_factory.py)
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dist_video import load_model
from dist_video.cli import main
from dist_video.engine import train as train_module
from dist_video.engine.distributed import init_distributed
from dist_video.engine.experiment import load_experiment
from dist_video.engine.train import run_summary, setup, train

from run_factory import interrupt_at_loss, make_dataset, write_config

ONE_EPOCH = {"optim": {"epochs": 1}, "train": {"eval_every": 0}}


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("ssv2"))


def checkpoint(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_resume_never_and_path(tmp_path, dataset_dir, capsys):
    path = write_config(tmp_path / "c.yaml", dataset_dir, tmp_path / "a", **ONE_EPOCH)
    assert main(["train", str(path), "--resume", "never"]) == 0
    printed = capsys.readouterr().out  # the final validation as people read it: 2 decimals
    assert f"final validation ({tmp_path / 'a' / 'eval'}):" in printed
    assert re.search(r"\n  top-1 +\d+\.\d\d %\n", printed)
    # never: a folder holding a run is refused, and nothing in it changes
    before = (tmp_path / "a" / "last.pt").read_bytes()
    assert main(["train", str(path), "--resume", "never"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a run" in err and "last.pt" in err
    assert (tmp_path / "a" / "last.pt").read_bytes() == before
    # PATH: a missing file, or a folder holding another run, is refused
    assert main(["train", str(path), "--resume", str(tmp_path / "nope.pt")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    saved = tmp_path / "saved.pt"
    shutil.copy(tmp_path / "a" / "last.pt", saved)
    assert main(["train", str(path), "--resume", str(saved)]) == 2
    assert "would overwrite" in capsys.readouterr().err
    # PATH into a new folder: the run continues from it (two epochs in all), settings checked
    longer = ["--set", f"output_dir={tmp_path / 'b'}", "--set", "optim.epochs=2"]
    assert main(["train", str(path), *longer, "--resume", str(saved)]) == 2
    assert "optim.epochs (1 -> 2)" in capsys.readouterr().err
    assert main(["train", str(path), *longer, "--resume", str(saved), "--allow-config-change"]) == 0
    assert checkpoint(tmp_path / "b" / "last.pt")["epoch"] == 2


def test_resume_from_a_copied_checkpoint_matches_uninterrupted(tmp_path, dataset_dir, monkeypatch):
    train_cfg = {"checkpoint_every_steps": 1, "eval_every": 0}
    train(load_experiment(write_config(tmp_path / "a.yaml", dataset_dir, tmp_path / "a", train=train_cfg)))
    interrupt_at_loss(monkeypatch, 8)
    with pytest.raises(KeyboardInterrupt):
        train(load_experiment(write_config(tmp_path / "b.yaml", dataset_dir, tmp_path / "b", train=train_cfg)))
    moved = tmp_path / "elsewhere.pt"
    shutil.move(tmp_path / "b" / "last.pt", moved)
    config = load_experiment(write_config(tmp_path / "c.yaml", dataset_dir, tmp_path / "c", train=train_cfg))
    train(config, resume=str(moved))  # output_dir differs from the checkpoint's: a runtime setting
    assert_same_weights(
        checkpoint(tmp_path / "a" / "last.pt")["trainable"], checkpoint(tmp_path / "c" / "last.pt")["trainable"]
    )


def test_init_from_takes_the_weights_but_not_the_optimiser(tmp_path, dataset_dir, capsys):
    source = write_config(tmp_path / "a.yaml", dataset_dir, tmp_path / "a", **ONE_EPOCH)
    train(load_experiment(source))
    trained = checkpoint(tmp_path / "a" / "last.pt")["trainable"]
    env = init_distributed("cpu")
    for weights in (tmp_path / "a" / "last.pt", tmp_path / "a" / "model"):
        config = load_experiment(source, [f"output_dir={tmp_path / 'b'}", f"train.init_from={weights}"])
        run = setup(config, env)
        assert_same_weights(run.model.trainable.state_dict(), trained)
        assert not run.optimizer.state and run.state.epoch == 0 and run.global_step == 0
        assert any(f"initialised from {weights}" in line for line in run_summary(run))
    fresh = setup(load_experiment(source, [f"output_dir={tmp_path / 'c'}"]), env)
    assert any(not torch.equal(v, trained[k]) for k, v in fresh.model.trainable.state_dict().items())
    # weights of another size: one line naming the key and the file
    wider = ["--set", "model.branch.temporal_dim=32", "--set", f"output_dir={tmp_path / 'd'}"]
    capsys.readouterr()
    assert main(["train", str(source), *wider, "--set", f"train.init_from={tmp_path / 'a' / 'last.pt'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.init_from" in err and "does not fit the model" in err
    assert main(["train", str(source), "--set", f"train.init_from={tmp_path / 'missing'}"]) == 2
    assert "train.init_from" in capsys.readouterr().err


def test_ema_is_validated_exported_and_resumed(tmp_path, dataset_dir, monkeypatch):
    ema = {"ema_decay": 0.5, "checkpoint_every_steps": 1, "eval_every": 0}
    train(load_experiment(write_config(tmp_path / "a.yaml", dataset_dir, tmp_path / "a", train=ema)))
    state = checkpoint(tmp_path / "a" / "last.pt")
    assert any(not torch.equal(state["trainable"][k], v) for k, v in state["online"].items())
    # the exported model and best.pt carry the EMA weights (what was validated)
    exported = load_model(tmp_path / "a" / "model").trainable.state_dict()
    assert_same_weights(exported, checkpoint(tmp_path / "a" / "best.pt")["trainable"])
    assert_same_weights(load_model(tmp_path / "a" / "last.pt").trainable.state_dict(), state["trainable"])

    # interrupted and resumed: the EMA and the weights come out bit-identical
    config = load_experiment(write_config(tmp_path / "b.yaml", dataset_dir, tmp_path / "b", train=ema))
    interrupt_at_loss(monkeypatch, 8)
    with pytest.raises(KeyboardInterrupt):
        train(config)
    train(config)
    resumed = checkpoint(tmp_path / "b" / "last.pt")
    assert_same_weights(state["trainable"], resumed["trainable"])
    assert_same_weights(state["online"], resumed["online"])


def test_keep_best_keeps_the_n_best_validations(tmp_path, dataset_dir, monkeypatch):
    scores = iter([50.0, 70.0, 60.0, 55.0])
    monkeypatch.setattr(train_module, "_evaluate", lambda run: {"top1": next(scores), "top5": 100.0})
    path = write_config(tmp_path / "c.yaml", dataset_dir, tmp_path / "run", optim={"epochs": 4}, train={"keep_best": 2})
    config = load_experiment(path, ["train.max_steps_per_epoch=1"])
    train(config)
    kept = sorted(p.name for p in (tmp_path / "run").glob("best_epoch*.pt"))
    assert kept == ["best_epoch002.pt", "best_epoch003.pt"]
    assert checkpoint(tmp_path / "run" / "best.pt")["epoch"] == 2
    assert checkpoint(tmp_path / "run" / "best_epoch003.pt")["epoch"] == 3
    assert checkpoint(tmp_path / "run" / "last.pt")["kept_best"] == [[70.0, 2], [60.0, 3]]


def test_gradient_checkpointing_and_compile_are_applied(tmp_path, dataset_dir, monkeypatch):
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: compiled.append(self))
    path = write_config(tmp_path / "c.yaml", dataset_dir, tmp_path / "run")
    run = setup(load_experiment(path, ["train.grad_checkpointing=true", "train.compile=true"]), init_distributed("cpu"))
    mlps = [block.mlp for block in run.model.visual.transformer.resblocks]
    assert run.model.dist_net.grad_checkpointing and compiled == [run.model.dist_net, *mlps]
    summary = "\n".join(run_summary(run))
    assert "gradient checkpointing" in summary and "torch.compile" in summary
    plain = setup(load_experiment(path, [f"output_dir={tmp_path / 'plain'}"]), init_distributed("cpu"))
    assert not plain.model.dist_net.grad_checkpointing and len(compiled) == 1 + len(mlps)


def test_start_up_summary_gives_the_numbers(tmp_path, dataset_dir, caplog):
    path = write_config(tmp_path / "c.yaml", dataset_dir, tmp_path / "run", optim={"grad_accumulation": 2})
    with caplog.at_level("INFO", logger="dist_video.engine.train"):
        run = setup(load_experiment(path), init_distributed("cpu"))
    logged = caplog.text
    assert run.optimizer.defaults["fused"]  # one kernel over the branch's tensors (benchmarks/optimizer_bench.py)
    trainable = sum(p.numel() for p in run.model.trainable.parameters())
    for expected in (
        "device cpu x 1 process(es)",
        "24 training videos, 8 validation videos, 4 classes",
        "batch 4 per process x 1 x 2 accumulation = 8 global; 3 steps per epoch x 2 epochs",
        "learning rate 0.002 (optim.lr 0.001 x 8/4)",
        f"parameters: {trainable:,} trainable",
        "clip_random.safetensors",
        "start: initialised as the model config says",
    ):
        assert expected in logged, expected


def test_tensorboard_tags_and_weights_and_biases(tmp_path, dataset_dir, monkeypatch, capsys):
    calls = {"init": [], "log": [], "finish": 0}
    fake = types.ModuleType("wandb")
    fake.util = types.SimpleNamespace(generate_id=lambda: "run123")

    class FakeRun:
        def log(self, values, step):
            calls["log"].append((step, values))

        def finish(self):
            calls["finish"] += 1

    def init(**kwargs):
        calls["init"].append(kwargs)
        return FakeRun()

    fake.init = init
    monkeypatch.setitem(sys.modules, "wandb", fake)
    path = write_config(tmp_path / "c.yaml", dataset_dir, tmp_path / "run", train={"wandb_project": "dist"})
    config = load_experiment(path, ["optim.epochs=1"])
    train(config)
    assert calls["init"][0]["project"] == "dist" and calls["init"][0]["id"] == "run123" and calls["finish"] == 1
    logged = {tag for _, values in calls["log"] for tag in values}
    assert {"train/loss", "train/clips_per_s", "lr/base", "val/top1", "val/top5"} <= logged
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert {"train/loss", "lr/base", "val/top1", "val/top5"} <= set(events.Tags()["scalars"])
    # a resumed run continues the same W&B run
    train(load_experiment(path, ["optim.epochs=2"]), allow_config_change=True)
    assert calls["init"][1]["id"] == "run123" and calls["init"][1]["resume"] == "allow"
    # without the package: one line naming the key
    monkeypatch.setitem(sys.modules, "wandb", None)
    capsys.readouterr()
    assert main(["train", str(path), "--set", f"output_dir={tmp_path / 'other'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.wandb_project" in err and "pip install wandb" in err


def test_a_normalisation_other_than_the_towers_is_warned_about(tmp_path, dataset_dir, caplog):
    path = write_config(tmp_path / "c.yaml", dataset_dir, tmp_path / "run")
    env = init_distributed("cpu")
    with caplog.at_level("WARNING", logger="dist_video.engine.train"):
        setup(load_experiment(path), env)
        assert "differ from the normalisation" not in caplog.text
        setup(load_experiment(path, ["data.mean=[0.5,0.5,0.5]", "data.std=[0.5,0.5,0.5]"]), env)
    assert "data.mean/data.std [0.5, 0.5, 0.5]/[0.5, 0.5, 0.5] differ" in caplog.text
