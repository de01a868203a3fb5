"""Inference for people: files, folders and globs; VideoClassifier; the timeline and its picture."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
import yaml

import dist_video
from dist_video.cli import build_parser, main
from dist_video.data.config import DataConfig
from dist_video.data.sampling import FrameSampler
from dist_video.engine.predict import VideoClassifier, clip_pipeline, find_videos, parse_labels, predict_video
from dist_video.engine.timeline import clip_span, draw_timeline, video_timeline, window_starts
from dist_video.errors import DataError
from dist_video.models.checkpoint import save_pretrained
from dist_video.models.preprocessing import Preprocessing

from tiny import tiny_model
from video_factory import frame_index, one_torch_thread, write_video  # noqa: F401 (one_torch_thread: fixture)


@pytest.fixture(scope="module")
def model():
    return tiny_model()  # 4 frames by segment sampling at 32 px: a clip spans 16 frames


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A model folder, a folder of videos (one nested, one not a video), a broken video."""
    root = tmp_path_factory.mktemp("predict")
    save_pretrained(tiny_model(), root / "model")
    (root / "clips" / "nested").mkdir(parents=True)
    write_video(root / "clips" / "b.mp4", 20, width=64, height=48)
    write_video(root / "clips" / "a.webm", 20, width=64, height=48)
    write_video(root / "clips" / "nested" / "c.mp4", 20, width=64, height=48)
    (root / "clips" / "notes.txt").write_text("not a video")
    (root / "clips" / ".AppleDouble.mp4").write_bytes(b"a hidden file, not a video")
    write_video(root / "long.mp4", 48, width=64, height=48)  # 4 s at 12 fps
    (root / "broken.mp4").write_bytes(b"not a video at all")
    return root


def test_find_videos_expands_folders_and_globs(files):
    clips = files / "clips"
    # recursive, sorted, videos only, not hidden
    in_folder = [clips / "a.webm", clips / "b.mp4", clips / "nested" / "c.mp4"]
    assert find_videos(clips) == in_folder
    assert find_videos([str(clips / "*.mp4"), clips / "a.webm"]) == [clips / "b.mp4", clips / "a.webm"]
    assert find_videos(str(clips / "**" / "c.*")) == [clips / "nested" / "c.mp4"]
    assert find_videos([clips / "b.mp4", clips]) == [clips / "b.mp4", clips / "a.webm", clips / "nested" / "c.mp4"]
    assert find_videos(files / "missing.mp4") == [files / "missing.mp4"]  # reported when read
    with pytest.raises(DataError, match=r"no\*\.avi: the pattern matches no file"):
        find_videos(str(files / "no*.avi"))
    (files / "empty").mkdir()
    with pytest.raises(DataError, match="a folder holding no video files"):
        find_videos(files / "empty")


def test_classifier_reports_unreadable_videos_and_predicts_the_others(model, files):
    assert dist_video.VideoClassifier is VideoClassifier
    classify = VideoClassifier(model, device="cpu", top_k=2)
    assert classify.views == model.preprocessing.num_views == DataConfig().num_temporal_views  # as eval
    results = classify([files / "clips" / "b.mp4", files / "broken.mp4", files / "clips" / "a.webm"])
    assert [r.video for r in results] == [
        str(files / "clips" / "b.mp4"),
        str(files / "broken.mp4"),
        str(files / "clips" / "a.webm"),
    ]
    assert results[1].error.startswith(str(files / "broken.mp4")) and results[1].top_k == []
    expected = predict_video(model, files / "clips" / "b.mp4", top_k=2)
    assert results[0].top_k == expected and len(expected) == 2 and expected[0][1] >= expected[1][1]
    assert results[0].to_dict()["top_k"][0] == {"label": expected[0][0], "prob": round(expected[0][1], 6)}
    renamed = VideoClassifier(files / "model", ["jumping", "swimming", "reading"], device="cpu", views=1)
    assert {name for name, _ in renamed.predict_file(files / "long.mp4").top_k} == {"jumping", "swimming", "reading"}


def test_the_default_views_are_the_ones_training_evaluated_with(tmp_path):
    assert Preprocessing.from_data_section({"num_temporal_views": 2}, 4, 32).num_views == 2
    model = tiny_model()
    model.preprocessing = replace(model.preprocessing, num_views=2)
    save_pretrained(model, tmp_path / "two")
    assert VideoClassifier(tmp_path / "two", device="cpu").views == 2
    assert VideoClassifier(tmp_path / "two", device="cpu", views=5).views == 5
    # a model folder saved before the views were recorded: evaluation's default, 3
    config = yaml.safe_load((tmp_path / "two" / "config.yaml").read_text())
    del config["input"]["num_views"]
    (tmp_path / "two" / "config.yaml").write_text(yaml.safe_dump(config))
    assert VideoClassifier(tmp_path / "two", device="cpu").views == 3
    assert build_parser().parse_args(["predict", "a.mp4", "--checkpoint", "m"]).views is None


def test_window_starts_and_clip_span():
    assert window_starts(48, 16, 4) == [0, 4, 8, 12, 16, 20, 24, 28, 32]
    assert window_starts(50, 16, 5) == [0, 5, 10, 15, 20, 25, 30, 34]  # the last window ends with the video
    assert window_starts(10, 16, 4) == [0]
    assert clip_span(FrameSampler("segment", 8, 4), fps=12) == 32
    assert clip_span(FrameSampler("interval", 8, 2, target_fps=15), fps=30) == 32


def test_timeline_scores_each_window_on_its_own_frames(model, files):
    sampler, transform = clip_pipeline(model.preprocessing)
    seen = []

    def recording_transform(frames):
        seen.append([frame_index(frame.numpy()) for frame in frames])
        return transform(frames)

    timeline = video_timeline(model, files / "long.mp4", sampler, recording_transform, num_thumbnails=4)
    assert (timeline.window, timeline.stride, timeline.fps) == (16, 4, 12)  # the clip span; a quarter of it
    assert timeline.starts == [0, 4, 8, 12, 16, 20, 24, 28, 32]
    offsets = sampler(16, 12, view=0, num_views=1)
    assert seen == [[start + offset for offset in offsets] for start in timeline.starts]
    assert timeline.probabilities.shape == (9, 3)
    assert torch.allclose(timeline.probabilities.sum(dim=1), torch.ones(9))
    assert timeline.times[0] == pytest.approx(8 / 12) and timeline.duration == pytest.approx(4.0)
    assert timeline.thumbnail_frames == [6, 18, 30, 42] and timeline.thumbnails.shape == (4, 96, 128, 3)
    seconds = video_timeline(model, files / "long.mp4", sampler, transform, window=2.0, stride=1.0)
    assert (seconds.window, seconds.starts) == (24, [0, 12, 24])

    path = draw_timeline(timeline, files / "pictures" / "long.png", top_k=2)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > height > 200
    assert len(timeline.top_classes(2)) == 2 and timeline.top_classes(5) == timeline.top_classes(3)


def test_predict_command(files, capsys):
    model = str(files / "model")
    assert main(["predict", str(files / "clips"), str(files / "broken.mp4"), "--checkpoint", model, "--json"]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["video"] for line in out.splitlines()] == [
        str(files / "clips" / name) for name in ("a.webm", "b.mp4", "nested/c.mp4")
    ]
    assert err.count("\n") == 1 and str(files / "broken.mp4") in err

    assert main(["predict", str(files / "none*.mp4"), "--checkpoint", model]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["predict", str(files / "clips"), "--checkpoint", model, "--timeline", "t.png"]) == 2
    assert "--timeline draws one video; 3 were given" in capsys.readouterr().err
    assert main(["predict", str(files / "long.mp4"), "--checkpoint", model, "--stride", "1"]) == 2
    assert "give --timeline OUT.png too" in capsys.readouterr().err

    picture = files / "timeline.png"
    args = ["predict", str(files / "long.mp4"), "--checkpoint", model, "--views", "1", "--top-k", "2"]
    assert main([*args, "--timeline", str(picture), "--stride", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == str(files / "long.mp4") and f"timeline: {picture}" in out
    assert picture.read_bytes()[:4] == b"\x89PNG"


def test_labels_are_read_as_the_data_sets_read_class_names(tmp_path):
    (tmp_path / "labels.json").write_text(json.dumps({"Pulling something": "1", "Pushing something": "0"}))
    (tmp_path / "classInd.txt").write_text("2 swimming\n1 jumping\n")
    (tmp_path / "names.txt").write_text("jumping\n\nswimming\n")
    assert parse_labels(str(tmp_path / "labels.json")) == ["Pushing something", "Pulling something"]
    assert parse_labels(str(tmp_path / "classInd.txt")) == ["jumping", "swimming"]
    assert parse_labels(str(tmp_path / "names.txt")) == ["jumping", "swimming"]
    assert parse_labels("a, b,c") == ["a", "b", "c"] and parse_labels(None) is None
    (tmp_path / "twice.txt").write_text("jumping\njumping\n")
    with pytest.raises(DataError, match="duplicate class names"):
        parse_labels(str(tmp_path / "twice.txt"))
