"""Evaluation reports a user can act on: per-class recall and precision, the confusion
matrix at hundreds of classes, the most confused pairs, predictions naming their videos,
and ``dist-video eval`` (a table, or JSON with --json; any split of the config)."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
import torch
import yaml

from dist_video.cli import main
from dist_video.engine.evaluate import REPORT_FILES, EvalScores, classification_metrics, summarize, write_reports
from dist_video.engine.reports import classes_to_show, format_report, most_confused
from dist_video.models.checkpoint import save_pretrained

from tiny import tiny_model
from video_factory import one_torch_thread, write_ssv2_dataset  # noqa: F401

CLASSES = ["Pushing something from left to right", "Pushing something from right to left", "Lifting something up"]


def test_precision_and_recall_by_hand():
    scores = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.2, 0.3, 0.5]])
    labels = torch.tensor([0, 1, 1, 2])
    m = classification_metrics(scores, labels, 3)
    # predicted 0, 2, 0, 2: class 0 predicted twice (once right), 1 never, 2 twice (once right)
    assert m["per_class_accuracy"] == [1.0, 0.0, 1.0]
    assert m["per_class_precision"][0] == m["per_class_precision"][2] == 0.5
    assert math.isnan(m["per_class_precision"][1])
    assert most_confused(m["confusion"]) == [(1, 0, 1), (1, 2, 1)]


def test_the_confusion_picture_shows_the_most_confused_classes():
    confusion = torch.eye(5, dtype=torch.long) * 4
    confusion[3, 1] = 2
    confusion[4, 1] = 1
    assert classes_to_show(confusion, limit=5) == [0, 1, 2, 3, 4]
    assert classes_to_show(confusion, limit=2) == [1, 3]  # class 1: 3 errors as predicted, class 3: 2 as true


def _planted_evaluation(num_classes: int = 400, per_class: int = 3):
    """Scores where every video is recognised except the three of class 7 (taken for
    class 8) and one of class 100's (taken for class 101)."""
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    predicted = labels.clone()
    predicted[labels == 7] = 8
    predicted[per_class * 100] = 101
    scores = torch.full((len(labels), num_classes), 0.1)
    scores[torch.arange(len(labels)), predicted] = 5.0
    result = EvalScores(scores=scores, labels=labels, indices=torch.arange(len(labels)), views_per_video=2)
    names = [f"class {i}" for i in range(num_classes)]
    paths = [f"/data/videos/{1000 + i}.webm" for i in range(len(labels))]
    return result, classification_metrics(scores, labels, num_classes), names, paths


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_reports_at_400_classes(tmp_path):
    result, metrics, names, paths = _planted_evaluation()
    summary = summarize(result, metrics, paths)
    written = write_reports(summary, result, metrics, names, tmp_path, paths)
    assert sorted(written) == sorted(REPORT_FILES) and all(p.is_file() for p in written.values())

    confusion = _read_csv(tmp_path / "confusion.csv")
    assert len(confusion) == 401 and confusion[0][1:] == names and confusion[8][0] == "class 7"
    assert confusion[8][9] == "3" and confusion[9][9] == "3"  # true class 7 -> predicted 8; class 8 right

    pairs = _read_csv(tmp_path / "most_confused.csv")
    assert pairs[1:] == [
        ["7", "class 7", "8", "class 8", "3", "100.00"],
        ["100", "class 100", "101", "class 101", "1", "33.33"],
    ]

    per_class = {row[0]: row for row in _read_csv(tmp_path / "per_class_accuracy.csv")}
    assert per_class["class_id"] == ["class_id", "class_name", "videos", "predicted", "recall", "precision"]
    assert per_class["7"][2:] == ["3", "0", "0.00", ""]  # never predicted: precision undefined
    assert per_class["8"][2:] == ["3", "6", "100.00", "50.00"]
    assert per_class["100"][4:] == ["66.67", "100.00"]

    predictions = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == 1200
    first = predictions[21]  # the first video of class 7
    assert (first["id"], first["video"], first["label_name"]) == ("1021", paths[21], "class 7")
    assert first["correct"] is False and first["top5"][0] == "class 8"

    assert json.loads((tmp_path / "metrics.json").read_text())["top1"] == pytest.approx(100 * 1196 / 1200)
    assert {7, 8, 100, 101} <= set(classes_to_show(metrics["confusion"]))

    text = format_report({**summary, "split": "val"}, metrics, names)
    assert "split val: 1200 videos, 2 views each" in text
    assert re.search(r"top-1 +99\.67 %", text) and re.search(r"mean class accuracy +99\.67 %", text)
    assert re.search(r"3 +100\.00 +class 7 -> class 8\n +1 +33\.33 +class 100 -> class 101\n", text)
    assert re.search(r"lowest recall:\n.*\n +0\.00 +- +3 +class 7\n +66\.67 +100\.00 +3 +class 100\n", text)


@pytest.fixture(scope="module")
def evaluation_setup(tmp_path_factory) -> tuple[Path, Path]:
    """A three-class SSv2 folder (a labelled train and val split, an unlabelled test split),
    a saved tiny model and an experiment config over them."""
    root = tmp_path_factory.mktemp("eval")
    videos = {
        "train": [("11", 0, 8), ("12", 1, 8), ("13", 2, 8)],
        "validation": [("21", 0, 8), ("22", 1, 8), ("23", 2, 8), ("24", 2, 8)],
    }
    data = write_ssv2_dataset(root / "ssv2", CLASSES, videos)
    (data / "test.json").write_text(json.dumps([{"id": "21"}, {"id": "22"}]))
    save_pretrained(tiny_model(class_names=CLASSES), root / "model")
    config = {
        "model": "test-tiny",
        "data": {
            "format": "ssv2",
            "root": str(data / "videos"),
            "labels": str(data / "something-something-v2-labels.json"),
            "annotations": {
                "train": str(data / "something-something-v2-train.json"),
                "val": str(data / "something-something-v2-validation.json"),
                "test": str(data / "test.json"),
            },
            "num_frames": 4,
            "test_scale": 32,
            "test_crop_size": 32,
            "num_temporal_views": 2,
            "num_workers": 0,
        },
        "train": {"batch_size": 4, "threads": 1},
        "output_dir": str(root / "run"),
    }
    path = root / "eval.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, root / "model"


def test_eval_prints_a_table_or_json_for_any_split(evaluation_setup, tmp_path, capsys, caplog):
    config, model = evaluation_setup
    with caplog.at_level("INFO", logger="dist_video.engine.evaluate"):
        assert main(["eval", str(config), "--checkpoint", str(model)]) == 0
    assert "split val, 4 videos x 2 temporal views x 1 crops, 3 classes, batch 4 per process" in caplog.text
    table = capsys.readouterr().out
    out = config.parent / "run" / "eval_model_val"  # the default folder names checkpoint and split
    assert table.startswith("split val: 4 videos, 2 views each\n")
    assert re.search(r"top-1 +\d+\.\d\d %", table) and f"reports: {out}" in table
    assert all((out / name).is_file() for name in REPORT_FILES)
    ids = [json.loads(line)["id"] for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert ids == ["21", "22", "23", "24"]

    assert (
        main(["eval", str(config), "--checkpoint", str(model), "--split", "train", "--json", "--out", str(tmp_path)])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert (summary["split"], summary["num_videos"], summary["reports"]) == ("train", 3, str(tmp_path))
    assert summary["top1"] == json.loads((tmp_path / "metrics.json").read_text())["top1"]


def test_eval_refuses_a_split_it_cannot_measure(evaluation_setup, capsys):
    config, model = evaluation_setup
    assert main(["eval", str(config), "--checkpoint", str(model), "--split", "holdout"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "data.annotations has no entry for split 'holdout'" in err
    assert main(["eval", str(config), "--checkpoint", str(model), "--split", "test"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "split 'test'" in err and "test.json" in err and "unlabelled" in err


def test_eval_reads_any_split_folder_of_a_folders_data_set(evaluation_setup, tmp_path, capsys):
    config, model = evaluation_setup
    videos = config.parent / "ssv2" / "videos"
    for split, ids in (("train", ["11", "12", "13"]), ("test", ["21", "22", "23", "24"])):
        for video_id, label in zip(ids, [0, 1, 2, 2]):
            folder = tmp_path / "folders" / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{video_id}.webm").write_bytes((videos / f"{video_id}.webm").read_bytes())
    data = [
        "--set",
        "data.format=folders",
        "--set",
        f"data.root={tmp_path / 'folders'}",
        "--set",
        "data.annotations={}",
    ]
    args = [
        "eval",
        str(config),
        "--checkpoint",
        str(model),
        "--split",
        "test",
        "--json",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main([*args, *data]) == 0  # no annotations entry: the split's folder is root/test
    assert json.loads(capsys.readouterr().out)["num_videos"] == 4
    rows = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert sorted((row["id"], row["label_name"]) for row in rows) == [
        ("21", CLASSES[0]),
        ("22", CLASSES[1]),
        ("23", CLASSES[2]),
        ("24", CLASSES[2]),
    ]
