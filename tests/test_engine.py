"""Training, resume, distributed training, evaluation and prediction on a tiny model and a
tiny generated data set (Something-Something format, real VP9 files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av  # noqa: F401  (PyAV before decord: see tests/video_factory.py)
import pytest
import torch
import yaml

from dist_video import load_model
from dist_video.cli import main
from dist_video.config import ConfigError
from dist_video.engine import train as train_module
from dist_video.engine.evaluate import classification_metrics, merge_view_scores
from dist_video.engine.experiment import load_experiment
from dist_video.engine.train import TrainingDiverged, train

from run_factory import interrupt_at_loss, make_dataset, write_config


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("ssv2"))


def trained_weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "last.pt", weights_only=True)["trainable"]


def test_training_lowers_the_loss(tmp_path, dataset_dir):
    # No augmentation or mixing, evaluated on the training clips: the fit must improve.
    no_aug = {
        "mixup_alpha": 0.0,
        "cutmix_alpha": 0.0,
        "label_smoothing": 0.0,
        "flip": False,
        "color_jitter_prob": 0.0,
        "grayscale_prob": 0.0,
        "crop_scale": [1.0, 1.0],
        "crop_ratio": [1.0, 1.0],
    }
    path = write_config(
        tmp_path / "c.yaml",
        dataset_dir,
        tmp_path / "run",
        data=no_aug,
        optim={"epochs": 8, "warmup_epochs": 1, "lr": 2e-3},
    )
    config = load_experiment(path, ["data.eval_split=train", "train.eval_every=7"])
    train(config)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    first, last = sum(losses[:6]) / 6, sum(losses[-6:]) / 6
    assert last < 0.7 * first, (first, last)
    val = [r["val_top1"] for r in rows if "val_top1" in r]
    assert len(val) == 2 and val[-1] > 25.0  # 4 classes: chance is 25 %
    for name in (
        "config.yaml",
        "best.pt",
        "clip_random.safetensors",
        "model/model.safetensors",
        "eval/confusion_matrix.png",
        "eval/per_class_accuracy.csv",
        "eval/predictions.jsonl",
    ):
        assert (tmp_path / "run" / name).is_file(), name
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["model"]["clip"]["pretrained"].endswith("clip_random.safetensors")
    assert saved["optim"]["epochs"] == 8 and saved["data"]["eval_split"] == "train"


def test_resume_after_interruption_matches_uninterrupted(tmp_path, dataset_dir, monkeypatch):
    train_cfg = {"checkpoint_every_steps": 1, "eval_every": 0}
    straight = load_experiment(write_config(tmp_path / "a.yaml", dataset_dir, tmp_path / "a", train=train_cfg))
    train(straight)

    interrupted = load_experiment(write_config(tmp_path / "b.yaml", dataset_dir, tmp_path / "b", train=train_cfg))
    interrupt_at_loss(monkeypatch, 8)  # epoch 2, step 2: mid-epoch
    with pytest.raises(KeyboardInterrupt):
        train(interrupted)
    state = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert (state["epoch"], state["step_in_epoch"]) == (1, 1)
    # what a process killed mid-write leaves: a temporary, and rows logged after the checkpoint
    stale = tmp_path / "b" / ".last.pt.x1y2z3.tmp"
    stale.write_bytes(b"partial")
    with (tmp_path / "b" / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": 8, "epoch": 2, "loss": 9.9, "lr": 0.1, "clips_per_s": 1.0}) + "\n")
    train(interrupted)
    assert not stale.exists()
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    steps = [row["step"] for row in rows if "loss" in row]
    assert steps == sorted(set(steps)) and 9.9 not in [row.get("loss") for row in rows]

    a, b = trained_weights(tmp_path / "a"), trained_weights(tmp_path / "b")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_nan_loss_stops_with_a_clear_message(tmp_path, dataset_dir, monkeypatch):
    config = load_experiment(
        write_config(
            tmp_path / "c.yaml", dataset_dir, tmp_path / "run", train={"checkpoint_every_steps": 2, "eval_every": 0}
        )
    )
    calls = {"n": 0}
    real_loss = train_module.soft_target_cross_entropy

    def nan_on_the_fourth(logits, targets):
        calls["n"] += 1
        loss = real_loss(logits, targets)
        return loss * float("nan") if calls["n"] == 4 else loss

    monkeypatch.setattr(train_module, "soft_target_cross_entropy", nan_on_the_fourth)
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        train(config)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["step_in_epoch"] == 2  # written before the bad step, and kept
    assert all(torch.isfinite(v).all() for v in state["trainable"].values())


def test_two_processes_follow_one(tmp_path, dataset_dir):
    """torchrun with 2 gloo processes x batch 2 = one process x batch 4: same losses,
    same weights, same evaluation (every video scored once)."""
    common = {"data": {"mixup_alpha": 0.0, "cutmix_alpha": 0.0}, "optim": {"epochs": 1}}
    one = write_config(tmp_path / "one.yaml", dataset_dir, tmp_path / "one", train={"batch_size": 4}, **common)
    two = write_config(tmp_path / "two.yaml", dataset_dir, tmp_path / "two", train={"batch_size": 2}, **common)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "dist_video.cli", "train", str(one)], check=True, env=env, capture_output=True
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "dist_video.cli",
            "train",
            str(two),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    def losses(out):
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        return [r["loss"] for r in rows if "loss" in r]

    assert len(losses(tmp_path / "one")) == len(losses(tmp_path / "two")) == 6
    torch.testing.assert_close(
        torch.tensor(losses(tmp_path / "two")), torch.tensor(losses(tmp_path / "one")), rtol=1e-4, atol=1e-5
    )
    a, b = trained_weights(tmp_path / "one"), trained_weights(tmp_path / "two")
    for key in a:
        if key.endswith("attn.in_proj_bias"):
            # Softmax ignores the key bias: its gradient is rounding noise, which Adam
            # scales up to full steps. Compare the query and value biases only.
            dim = a[key].shape[0] // 3
            a[key], b[key] = torch.cat([a[key][:dim], a[key][2 * dim :]]), torch.cat([b[key][:dim], b[key][2 * dim :]])
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-5, msg=key)
    metrics = [json.loads((tmp_path / run / "eval" / "metrics.json").read_text()) for run in ("one", "two")]
    assert metrics[1]["num_videos"] == metrics[0]["num_videos"] == 8
    assert metrics[1]["views_per_video"] == 2
    assert metrics[1]["top1"] == metrics[0]["top1"]
    predictions = (tmp_path / "two" / "eval" / "predictions.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["index"] for line in predictions) == list(range(8))


def test_metrics_match_a_hand_computation():
    scores = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.2, 0.3, 0.5]])
    labels = torch.tensor([0, 1, 1, 2])
    m = classification_metrics(scores, labels, 3)
    # predictions 0, 2, 0, 2: right, wrong, wrong, right
    assert m["top1"] == 50.0
    assert m["top5"] == 100.0
    assert m["per_class_accuracy"] == [1.0, 0.0, 1.0]
    assert m["mean_class_accuracy"] == pytest.approx(200 / 3)
    assert m["confusion"].tolist() == [[1, 0, 0], [1, 0, 1], [0, 0, 1]]


def test_views_are_summed_once_each():
    rows = [
        (3, 0, 1, torch.tensor([0.2, 0.8])),
        (3, 1, 1, torch.tensor([0.6, 0.4])),
        (5, 1, 0, torch.tensor([0.9, 0.1])),
        (5, 0, 0, torch.tensor([0.7, 0.3])),
    ]
    merged = merge_view_scores(rows)
    assert merged.indices.tolist() == [3, 5] and merged.labels.tolist() == [1, 0]
    torch.testing.assert_close(merged.scores, torch.tensor([[0.8, 1.2], [1.6, 0.4]]))
    assert merged.views_per_video == 2
    with pytest.raises(RuntimeError, match="twice"):
        merge_view_scores(rows + rows[:1])
    with pytest.raises(RuntimeError, match="different numbers of views"):
        merge_view_scores(rows[:3])


def test_config_errors_name_the_key_and_file(tmp_path, dataset_dir):
    path = write_config(tmp_path / "c.yaml", dataset_dir, tmp_path / "run", optim={"lr": "fast"})
    with pytest.raises(ConfigError, match=r"c\.yaml.*optim\.lr.*expected float"):
        load_experiment(path)
    path = write_config(tmp_path / "d.yaml", dataset_dir, tmp_path / "run", train={"batchsize": 3})
    with pytest.raises(ConfigError, match=r"d\.yaml.*train.*batchsize"):
        load_experiment(path)
    with pytest.raises(ConfigError, match="data.num_workers"):
        load_experiment(write_config(tmp_path / "e.yaml", dataset_dir, tmp_path / "run"), ["data.num_workers=many"])
    assert main(["train", str(tmp_path / "d.yaml")]) == 2


def test_training_without_clip_weights_is_refused(tmp_path, dataset_dir, capsys):
    path = write_config(tmp_path / "c.yaml", dataset_dir, tmp_path / "run")
    config = yaml.safe_load(path.read_text())
    del config["model"]["clip"]["pretrained"]  # random towers are never a silent default
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert "model.clip.pretrained is not set" in err and "'random'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "clip_random.safetensors").exists()


def test_eval_and_predict_commands(tmp_path, dataset_dir, capsys):
    # frozen towers in bf16 (as auto picks where the hardware has it): eval must hold them so too
    path = write_config(
        tmp_path / "c.yaml", dataset_dir, tmp_path / "run", optim={"epochs": 1}, train={"frozen_dtype": "bf16"}
    )
    assert main(["train", str(path)]) == 0
    capsys.readouterr()
    assert main(["eval", str(path), "--checkpoint", str(tmp_path / "run" / "best.pt"), "--json"]) == 0
    from_checkpoint = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["eval", str(path), "--checkpoint", str(tmp_path / "run" / "model"), "--json"]) == 0
    from_model_dir = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = tmp_path / "run"
    trained = json.loads((run / "eval" / "metrics.json").read_text())
    for result in (from_checkpoint, from_model_dir):
        assert result["top1"] == trained["top1"] and result["num_videos"] == 8
    # the very scores the run's validation computed
    during, after = (
        torch.load(p / "scores.pt", weights_only=True)["scores"] for p in (run / "eval", run / "eval_best_val")
    )
    torch.testing.assert_close(after, during, rtol=0, atol=0)
    # both forms carry the preprocessing of the run's data section
    data = load_experiment(path).data
    for form in ("best.pt", "model"):
        pre = load_model(tmp_path / "run" / form).preprocessing
        assert (pre.num_frames, pre.crop_size, pre.resize, pre.sampling) == (
            data.num_frames,
            data.test_crop_size,
            data.test_scale,
            data.sampling,
        ), form

    videos = sorted((dataset_dir / "videos").glob("*.webm"))[:2]
    broken = tmp_path / "broken.webm"
    broken.write_bytes(b"\x1aE\xdf\xa3 not really a webm")
    code = main(
        [
            "predict",
            str(videos[0]),
            str(broken),
            str(videos[1]),
            "--checkpoint",
            str(tmp_path / "run" / "model"),
            "--json",
            "--top-k",
            "2",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1  # one file failed ...
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["video"] for r in lines] == [str(videos[0]), str(videos[1])]  # ... the others were predicted
    assert all(len(r["top_k"]) == 2 and r["top_k"][0]["prob"] >= r["top_k"][1]["prob"] for r in lines)
    assert str(broken) in err and len(err.strip().splitlines()) == 1
    assert (
        main(
            [
                "predict",
                str(videos[0]),
                "--checkpoint",
                str(tmp_path / "run" / "best.pt"),
                "--json",
                "--labels",
                "jumping,swimming,reading",
            ]
        )
        == 0
    )
    names = {r["label"] for r in json.loads(capsys.readouterr().out)["top_k"]}
    assert names == {"jumping", "swimming", "reading"}


def test_resume_with_other_settings_is_refused_and_keeps_the_record(tmp_path, dataset_dir, capsys):
    path = write_config(
        tmp_path / "r.yaml", dataset_dir, tmp_path / "run", optim={"epochs": 1}, train={"eval_every": 0}
    )
    assert main(["train", str(path)]) == 0
    mask = os.umask(0)
    os.umask(mask)
    for name in ("config.yaml", "last.pt", "metrics.jsonl", "model/model.safetensors"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o666 & ~mask, name  # the umask's, not 0600
    record = (tmp_path / "run" / "config.yaml").read_text()
    capsys.readouterr()
    wider = ["--set", "model.branch.temporal_dim=32"]
    assert main(["train", str(path), *wider]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model.branch.temporal_dim (16 -> 32)" in err and "last.pt" in err
    assert (tmp_path / "run" / "config.yaml").read_text() == record  # still describes the checkpoint
    # runtime settings may change; real ones only when asked, and then the record follows
    assert main(["train", str(path), "--set", "train.threads=2", "--set", "data.num_workers=0"]) == 0
    longer = ["--set", "optim.epochs=2"]
    assert main(["train", str(path), *longer]) == 2
    assert main(["train", str(path), *longer, "--allow-config-change"]) == 0
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["optim"]["epochs"] == 2
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["epoch"] == 2
    # a size change accepted by the flag still cannot load: one clear line
    record = (tmp_path / "run" / "config.yaml").read_text()
    assert main(["train", str(path), *longer, *wider, "--allow-config-change"]) == 2
    assert "does not fit the model" in capsys.readouterr().err
    assert (tmp_path / "run" / "config.yaml").read_text() == record


def test_user_mistakes_end_in_one_line_and_bugs_in_a_traceback(tmp_path, dataset_dir, capsys, monkeypatch):
    path = write_config(
        tmp_path / "u.yaml", dataset_dir, tmp_path / "run", optim={"epochs": 1}, train={"eval_every": 0}
    )
    assert main(["train", str(path)]) == 0
    capsys.readouterr()
    # an undecodable video in the evaluated split (DecodeError is a RuntimeError too)
    victim = sorted((dataset_dir / "videos").glob("*.webm"))[0]
    broken_root = tmp_path / "videos"
    broken_root.mkdir()
    for video in (dataset_dir / "videos").glob("*.webm"):
        (broken_root / video.name).write_bytes(b"\x1aE\xdf\xa3 broken" if video == victim else video.read_bytes())
    data = ["--set", f"data.root={broken_root}", "--set", "data.eval_split=train"]
    assert main(["eval", str(path), "--checkpoint", str(tmp_path / "run" / "model"), *data]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and victim.name in err
    # ... or, with skip, left out and reported
    skip = [*data, "--set", "data.on_decode_error_eval=skip", "--out", str(tmp_path / "skip")]
    assert main(["eval", str(path), "--checkpoint", str(tmp_path / "run" / "model"), *skip]) == 0
    capsys.readouterr()
    report = json.loads((tmp_path / "skip" / "metrics.json").read_text())
    assert report["num_videos_skipped"] == 1 and report["skipped_videos"] == [str(broken_root / victim.name)]
    assert report["num_videos"] == 23
    rows = [json.loads(line) for line in (tmp_path / "skip" / "predictions.jsonl").read_text().splitlines()]
    assert all(Path(row["video"]).parent == broken_root for row in rows)  # each prediction names its video
    # predict on a folder: its videos, the broken one reported in one line
    assert main(["predict", str(broken_root), "--checkpoint", str(tmp_path / "run" / "model"), "--views", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and victim.name in err
    # a device this machine does not have
    if not torch.cuda.is_available():
        assert main(["predict", str(victim), "--checkpoint", str(tmp_path / "run" / "model"), "--device", "cuda"]) == 2
        assert main(["train", str(path), "--set", "train.device=cuda"]) == 2
        assert capsys.readouterr().err.count("CUDA is not available") == 2
    # a bug (here: a ValueError from deep inside) is not dressed up as a user mistake
    monkeypatch.setattr(train_module, "soft_target_cross_entropy", lambda *a: (_ for _ in ()).throw(ValueError("bug")))
    with pytest.raises(ValueError, match="bug"):
        main(["train", str(write_config(tmp_path / "v.yaml", dataset_dir, tmp_path / "run2"))])
