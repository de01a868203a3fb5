"""DataConfig validation, and the check-data / bench-data commands."""

import json

import pytest
import yaml

from dist_video.cli import main
from dist_video.config import ConfigError, from_dict
from dist_video.constants import CLIP_MEAN
from dist_video.data import DataConfig, load_data_config

from video_factory import one_torch_thread, write_ssv2_dataset, write_video  # noqa: F401


def test_defaults_follow_the_recipe():
    cfg = DataConfig()
    assert (cfg.num_frames, cfg.sampling, cfg.train_crop_size, cfg.test_scale, cfg.num_temporal_views) == (
        16,
        "segment",
        224,
        224,
        3,
    )
    assert cfg.crop_scale == (0.4, 1.0) and cfg.mean == CLIP_MEAN
    assert (cfg.mixup_alpha, cfg.cutmix_alpha, cfg.mixup_switch_prob, cfg.label_smoothing) == (0.8, 1.0, 0.5, 0.1)
    assert (cfg.on_decode_error_train, cfg.on_decode_error_eval) == ("skip", "raise")


@pytest.mark.parametrize(
    "data, key",
    [
        ({"num_frmes": 8}, "num_frmes"),
        ({"num_frames": "eight"}, "data.num_frames"),
        ({"num_frames": 0}, "num_frames"),
        ({"train_crop_size": -1}, "train_crop_size"),
        ({"num_spatial_crops": 2}, "num_spatial_crops"),
        ({"sampling": "dense"}, "data.sampling"),
        ({"decoder": "opencv"}, "data.decoder"),
        ({"crop_scale": [0.9, 0.4]}, "crop_scale"),
        ({"hue": 0.7}, "hue"),
        ({"test_crop_size": 256}, "test_crop_size"),
        ({"annotations": {"train": 3}}, "annotations"),
        ({"on_decode_error_eval": "ignore"}, "data.on_decode_error_eval"),
    ],
)
def test_config_errors_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as info:
        from_dict(DataConfig, data, "exp.yaml: data")
    assert str(info.value).startswith("exp.yaml: data")


def test_load_data_config_reads_the_data_section_with_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({"data": {"format": "kinetics", "num_frames": 8}}))
    (tmp_path / "exp.yaml").write_text(
        yaml.safe_dump(
            {
                "base": "base.yaml",
                "model": {"anything": 1},
                "train": {"epochs": 3},
                "data": {"root": "/videos", "crop_scale": [0.5, 1.0]},
            }
        )
    )
    cfg = load_data_config(tmp_path / "exp.yaml", ["data.num_frames=32", "data.target_fps=30"])
    assert (cfg.format, cfg.root, cfg.num_frames, cfg.target_fps, cfg.crop_scale) == (
        "kinetics",
        "/videos",
        32,
        30.0,
        (0.5, 1.0),
    )
    with pytest.raises(ConfigError, match="exp.yaml: data.num_frames"):
        load_data_config(tmp_path / "exp.yaml", ["data.num_frames=many"])


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    classes = ["Moving something up", "Moving something down"]
    root = write_ssv2_dataset(
        tmp_path_factory.mktemp("ssv2"),
        classes,
        {
            "train": [("1", 0, 12), ("2", 1, 16), ("3", 0, 5), ("4", 1, 0), ("5", 0, 12), ("6", 1, 12)],
            "validation": [("7", 1, 12)],
        },
    )
    (root / "videos" / "5.webm").write_bytes(b"garbage" * 100)
    config = root / "exp.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": "ignored",
                "data": {
                    "format": "ssv2",
                    "root": str(root / "videos"),
                    "labels": str(root / "something-something-v2-labels.json"),
                    "annotations": {
                        "train": str(root / "something-something-v2-train.json"),
                        "val": str(root / "something-something-v2-validation.json"),
                    },
                    "num_frames": 8,
                    "train_crop_size": 32,
                },
            }
        )
    )
    return config


def test_check_data_writes_the_bad_list(experiment, tmp_path, capsys):
    out = tmp_path / "bad.tsv"
    status = main(["check-data", str(experiment), "--workers", "2", "--out", str(out)])
    assert status == 1  # videos are missing or unreadable
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0] == ["path", "reason", "splits"]
    reasons = {path.rsplit("/", 1)[1]: reason for path, reason, _ in rows[1:]}
    assert set(reasons) == {"3.webm", "4.webm", "5.webm"}
    assert reasons["4.webm"] == "missing"
    assert reasons["5.webm"].startswith("unreadable")
    assert reasons["3.webm"].startswith("too short: 5 frames")
    summary = capsys.readouterr().out
    assert "checked 7 videos of train, val: 4 usable, 1 missing, 1 unreadable, 1 shorter than 8" in summary
    assert main(["check-data", str(experiment), "--split", "val", "--workers", "1", "--out", str(out)]) == 0
    assert out.read_text() == "path\treason\tsplits\n"
    # a video that two splits list is probed and listed once, with both splits
    twice = ["--set", f"data.annotations.val={experiment.parent / 'something-something-v2-train.json'}"]
    main(["check-data", str(experiment), *twice, "--workers", "1", "--out", str(out)])
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    assert sorted(path.rsplit("/", 1)[1] for path, _, _ in rows) == ["3.webm", "4.webm", "5.webm"]
    assert {splits for _, _, splits in rows} == {"train,val"}
    assert "checked 6 videos of train, val: 3 usable" in capsys.readouterr().out


def test_bench_data_prints_one_json_line(experiment, capsys):
    assert main(["bench-data", str(experiment), "--clips", "6", "--batch-size", "2", "--set", "data.decoder=pyav"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["clips_per_s"] > 0 and result["decode_s_per_clip"] > 0 and result["transform_s_per_clip"] > 0
    assert 0 < result["decode_share"] < 1
    assert (result["backend"], result["num_frames"], result["crop_size"]) == ("pyav", 8, 32)
    assert result["decode_failures"] >= 1  # 5.webm


def test_check_data_reads_a_folder_per_class_data_set(tmp_path, capsys):
    video = write_video(tmp_path / "source.mp4", 12, width=32, height=32)
    root = tmp_path / "videos"
    for name in ("train/up/a.mp4", "train/down/b.mp4", "val/up/c.mp4", "val/down/d.mp4"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(video.read_bytes())
    (root / "val" / "down" / "d.mp4").write_bytes(b"garbage" * 100)
    config = tmp_path / "exp.yaml"
    config.write_text(yaml.safe_dump({"data": {"format": "folders", "root": str(root), "num_frames": 8}}))
    assert load_data_config(config).annotations == {"train": "train", "val": "val"}
    out = tmp_path / "bad.tsv"
    assert main(["check-data", str(config), "--workers", "1", "--out", str(out)]) == 1
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    assert [(path, reason.split(":")[0], splits) for path, reason, splits in rows] == [
        (str(root / "val" / "down" / "d.mp4"), "unreadable", "val")
    ]
    assert "checked 4 videos of train, val: 3 usable, 0 missing, 1 unreadable" in capsys.readouterr().out
    # an empty root is one line naming it, exit status 2
    (tmp_path / "empty").mkdir()
    assert main(["check-data", str(config), "--set", f"data.root={tmp_path / 'empty'}", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"dist-video check-data: error: data.root {tmp_path / 'empty'} is empty\n"
