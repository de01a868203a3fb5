"""SSv2, Kinetics, list and folder-per-class data sets read end to end, and the bad-data policy."""

import logging
import re
from pathlib import Path

import pytest
import torch

from dist_video.data import (
    DataConfig,
    DecodeError,
    build_dataset,
    build_loader,
    read_annotations,
    read_class_names,
)
from dist_video.errors import DataError

from video_factory import (  # noqa: F401
    frame_index,
    one_torch_thread,
    write_kinetics_dataset,
    write_ssv2_dataset,
    write_video,
)

SSV2_CLASSES = [
    "Pulling something from left to right",
    "Pulling something from right to left",
    "Moving something up",
    "Holding something next to something",
]
T = 8
SMALL = dict(num_frames=T, train_crop_size=32, test_scale=32, test_crop_size=32, num_workers=0)


@pytest.fixture(scope="module")
def ssv2(tmp_path_factory):
    root = write_ssv2_dataset(
        tmp_path_factory.mktemp("ssv2"),
        SSV2_CLASSES,
        {
            "train": [("11", 0, 20), ("12", 1, 24), ("13", 2, 5), ("14", 3, 30), ("15", 2, 0)],  # 15: missing
            "validation": [("21", 1, 20), ("22", 3, 16)],
        },
    )
    (root / "videos" / "99.webm").write_bytes(b"\x1a\x45\xdf\xa3 not really a webm")
    return root


def ssv2_config(root, **changes):
    files = {
        "train": str(root / "something-something-v2-train.json"),
        "val": str(root / "something-something-v2-validation.json"),
    }
    return DataConfig(
        **{
            "format": "ssv2",
            "root": str(root / "videos"),
            "labels": str(root / "something-something-v2-labels.json"),
            "annotations": files,
            **SMALL,
            **changes,
        }
    )


def test_ssv2_end_to_end(ssv2, tmp_path, caplog):
    report = tmp_path / "missing-{split}.txt"
    with caplog.at_level(logging.WARNING):
        train = build_dataset(ssv2_config(ssv2, missing_report=str(report)), "train", train=True)
    assert train.class_names == SSV2_CLASSES
    assert [r.label for r in train.records] == [0, 1, 2, 3]
    assert [r.path.rsplit("/", 1)[1] for r in train.records] == ["11.webm", "12.webm", "13.webm", "14.webm"]
    # the missing video is reported once, with a file listing it
    assert (tmp_path / "missing-train.txt").read_text().strip().endswith("15.webm")
    assert "1 of 5 videos" in caplog.text
    item = train[(1, 123)]
    assert item["video"].shape == (3, T, 32, 32) and item["video"].dtype == torch.float32
    assert item["label"].dtype == torch.int64 and item["index"] == 1 and item["view"] == -1
    assert item["failures"] == 0
    # the flip swaps the two "Pulling" classes, as their names say
    labels = {train[(0, seed)]["label"].item() for seed in range(12)}
    assert labels == {0, 1}
    assert {train[(2, seed)]["label"].item() for seed in range(6)} == {2}


def test_ssv2_eval_views(ssv2):
    val = build_dataset(ssv2_config(ssv2, num_temporal_views=3, num_spatial_crops=3), "val", train=False)
    assert len(val) == 2 * 3 * 3 and val.num_videos == 2
    items = [val[i] for i in range(len(val))]
    assert [int(x["index"]) for x in items] == [0] * 9 + [1] * 9
    assert [int(x["view"]) for x in items[:9]] == list(range(9))
    assert all(int(x["label"]) == [1, 3][int(x["index"])] for x in items)
    assert all(x["video"].shape == (3, T, 32, 32) for x in items)
    # views 0-2 share the temporal view 0, views 3-5 take a later one
    assert not torch.equal(items[0]["video"], items[3]["video"])


def test_ssv2_frames_are_the_sampled_ones(ssv2):
    dataset = build_dataset(ssv2_config(ssv2, num_temporal_views=1), "val", train=False)
    frames = dataset.decode_clip(0, view=0)  # 20 frames, 8 segments of 2.5: centres 1.25 + 2.5 i
    assert [frame_index(f.numpy()) for f in frames] == [1, 4, 6, 9, 11, 14, 16, 19]


def test_short_video_is_sampled_with_repeats(ssv2):
    train = build_dataset(ssv2_config(ssv2, num_frames=16), "train", train=True)
    frames = train.decode_clip(2, rng=__import__("random").Random(0))  # video 13 has 5 frames
    indices = [frame_index(f.numpy()) for f in frames]
    assert len(indices) == 16 and set(indices) <= set(range(5)) and indices == sorted(indices)


def test_ssv2_unknown_class_and_empty_files(ssv2, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": "11", "template": "Levitating [something]"}]')
    with pytest.raises(ValueError, match="Levitating something"):
        build_dataset(ssv2_config(ssv2, annotations={"train": str(bad)}), "train", train=True)
    for text in ("", "[]"):
        bad.write_text(text)
        with pytest.raises(ValueError, match="empty|no videos"):
            build_dataset(ssv2_config(ssv2, annotations={"train": str(bad)}), "train", train=True)
    bad.write_text('[{"id": "404", "template": "Moving [something] up"}]')
    with pytest.raises(ValueError, match="none of the 1 videos"):
        build_dataset(ssv2_config(ssv2, annotations={"train": str(bad)}), "train", train=True)
    with pytest.raises(ValueError, match="no entry for split 'test'"):
        build_dataset(ssv2_config(ssv2), "test", train=False)


def test_training_skips_unreadable_videos(ssv2, tmp_path, caplog):
    listing = tmp_path / "with-bad.json"
    listing.write_text(
        '[{"id": "99", "template": "Moving [something] up"},'
        ' {"id": "11", "template": "Moving [something] up"},'
        ' {"id": "14", "template": "Moving [something] up"}]'
    )
    cfg = ssv2_config(ssv2, annotations={"train": str(listing), "val": str(listing)})
    train = build_dataset(cfg, "train", train=True)
    with caplog.at_level(logging.WARNING):
        first = train[(0, 7)]
        again = train[(0, 7)]
        train[(0, 8)]
    assert first["failures"] == 1 and first["index"] in (1, 2)
    assert torch.equal(first["video"], again["video"]) and first["index"] == again["index"]  # deterministic
    assert train.decode_failures == 3
    assert caplog.text.count("99.webm") == 1  # logged once per path
    assert train[(1, 7)]["failures"] == 0
    # evaluation raises by default, and marks the item when told to skip
    with pytest.raises(DecodeError, match="99.webm"):
        build_dataset(cfg, "val", train=False)[0]
    skipping = build_dataset(DataConfig(**{**cfg.__dict__, "on_decode_error_eval": "skip"}), "val", train=False)
    item = skipping[0]
    assert item["failures"] == 1 and item["index"] == 0 and not item["video"].any()
    assert skipping[3]["failures"] == 0
    raising = build_dataset(DataConfig(**{**cfg.__dict__, "on_decode_error_train": "raise"}), "train", train=True)
    with pytest.raises(DecodeError):
        raising[(0, 7)]


KINETICS_ROWS = {
    "train": [
        ("air drumming", "aaa", 20, True),
        ("abseiling", "bbb", 20, False),
        ("zumba", "ccc", 12, True),
        ("abseiling", "ddd", 0, True),
    ],  # ddd: missing
    "val": [("zumba", "eee", 20, True), ("air drumming", "fff", 0, False)],
}


@pytest.fixture(scope="module")
def kinetics(tmp_path_factory):
    return write_kinetics_dataset(tmp_path_factory.mktemp("k400"), KINETICS_ROWS)


def test_kinetics_end_to_end(kinetics, caplog):
    cfg = DataConfig(
        format="kinetics",
        root=str(kinetics / "videos"),
        annotations={"train": str(kinetics / "train.csv"), "val": str(kinetics / "val.csv")},
        **SMALL,
    )
    with caplog.at_level(logging.WARNING):
        train = build_dataset(cfg, "train", train=True)
        val = build_dataset(cfg, "val", train=False)
    assert train.class_names == ["abseiling", "air drumming", "zumba"] == val.class_names
    assert [(r.path.rsplit("/", 1)[1], r.label) for r in train.records] == [
        ("aaa_000000_000010.mp4", 1),
        ("bbb_000010_000020.mp4", 0),
        ("ccc_000020_000030.mp4", 2),
    ]
    assert "/train/air drumming/" in train.records[0].path and "/videos/bbb" in train.records[1].path
    assert [r.path.rsplit("/", 1)[1] for r in train.missing] == ["ddd_000030_000040.mp4"]
    assert "1 of 4 videos of split 'train'" in caplog.text and "1 of 2 videos of split 'val'" in caplog.text
    assert len(val) == 3 and val[2]["label"] == 2
    assert train[(2, 0)]["video"].shape == (3, T, 32, 32)


def test_list_format_and_ucf101_split_files(tmp_path):
    for name in ("ApplyEyeMakeup/v_a.avi", "Archery/v_b.avi", "Archery/v_c.avi"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        write_video((tmp_path / name).with_suffix(".mp4"), 10, width=64, height=48)
        (tmp_path / name).write_bytes((tmp_path / name).with_suffix(".mp4").read_bytes())
    (tmp_path / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n")
    (tmp_path / "trainlist01.txt").write_text("ApplyEyeMakeup/v_a.avi 1\nArchery/v_b.avi 2\n")
    (tmp_path / "testlist01.txt").write_text("Archery/v_c.avi\nArchery/v_gone.avi\n")
    cfg = DataConfig(
        format="list",
        root=str(tmp_path),
        labels=str(tmp_path / "classInd.txt"),
        annotations={"train": str(tmp_path / "trainlist01.txt"), "val": str(tmp_path / "testlist01.txt")},
    )
    train, val = read_annotations(cfg, "train"), read_annotations(cfg, "val")
    assert train.class_names == ["ApplyEyeMakeup", "Archery"]
    assert [r.label for r in train.records] == [0, 1]
    assert [r.label for r in val.records] == [1] and val.missing[0].path.endswith("v_gone.avi")
    # a CSV with class names and no class-names file: the sorted names of the training list
    (tmp_path / "train.csv").write_text("path,label\nArchery/v_b.avi,shooting\nApplyEyeMakeup/v_a.avi,make up\n")
    csv_cfg = DataConfig(format="list", root=str(tmp_path), annotations={"train": str(tmp_path / "train.csv")}, **SMALL)
    dataset = build_dataset(csv_cfg, "train", train=True)
    assert dataset.class_names == ["make up", "shooting"] and [r.label for r in dataset.records] == [1, 0]
    assert dataset[(0, 1)]["video"].shape == (3, T, 32, 32)
    (tmp_path / "bad.txt").write_text("Archery/v_b.avi 7\n")
    with pytest.raises(ValueError, match="class number 7"):
        read_annotations(DataConfig(**{**cfg.__dict__, "annotations": {"train": str(tmp_path / "bad.txt")}}), "train")


def copy_video(video, root, names):
    """Copies of one video file at ``root / name`` for each name (any video extension)."""
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(video.read_bytes())


def test_path_only_list_takes_the_class_from_the_folder_without_a_labels_file(tmp_path):
    video = write_video(tmp_path / "source.mp4", 10, width=64, height=48)
    copy_video(video, tmp_path / "videos", ["run/b.mp4", "jump/a.mp4", "run/c.mp4", "swim/d.mp4"])
    (tmp_path / "train.txt").write_text("run/b.mp4\n\njump/a.mp4\n")
    (tmp_path / "val.txt").write_text("run/c.mp4\n")
    files = {"train": str(tmp_path / "train.txt"), "val": str(tmp_path / "val.txt")}
    cfg = DataConfig(format="list", root=str(tmp_path / "videos"), annotations=files, **SMALL)
    train, val = build_dataset(cfg, "train", train=True), build_dataset(cfg, "val", train=False)
    assert train.class_names == ["jump", "run"] == val.class_names
    assert [(r.path.rsplit("/", 2)[1], r.label) for r in train.records] == [("run", 1), ("jump", 0)]
    assert [r.label for r in val.records] == [1]
    assert train[(0, 3)]["video"].shape == (3, T, 32, 32)
    # a folder that is not a training class, and a line with neither label nor folder, name the line
    (tmp_path / "swim.txt").write_text("run/c.mp4\nswim/d.mp4\n")
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'swim.txt'}:2: unknown class 'swim'")):
        read_annotations(
            DataConfig(**{**cfg.__dict__, "annotations": {**files, "val": str(tmp_path / "swim.txt")}}), "val"
        )
    (tmp_path / "flat.txt").write_text("run/b.mp4\n\nb.mp4\n")
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'flat.txt'}:3: b.mp4 has no label and no folder")):
        read_annotations(DataConfig(**{**cfg.__dict__, "annotations": {"train": str(tmp_path / "flat.txt")}}), "train")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """``root/{train,val}/<class>/<video>``: an empty class folder, a nested video, and hidden
    and non-video files that are not videos of the data set."""
    root = tmp_path_factory.mktemp("folders")
    video = write_video(root / "source.mp4", 10, width=64, height=48)
    copy_video(
        video, root / "videos", ["train/run/b.mp4", "train/jump/a.avi", "train/jump/day2/c.mkv", "val/run/d.mp4"]
    )
    copy_video(video, root / "videos", ["train/run/.e.mp4", "train/.cache/run/f.mp4", "val/jump/.DS_Store"])
    (root / "videos" / "train" / "swim").mkdir()
    (root / "videos" / "train" / "run" / "notes.txt").write_text("not a video")
    return root / "videos"


def test_folder_per_class_end_to_end(folders):
    cfg = DataConfig(format="folders", root=str(folders), **SMALL)
    assert cfg.annotations == {"train": "train", "val": "val"}
    train, val = build_dataset(cfg, "train", train=True), build_dataset(cfg, "val", train=False)
    # classes: the sorted training folders, the empty one included; hidden and non-video files left out
    assert train.class_names == ["jump", "run", "swim"] == val.class_names
    assert [(str(Path(r.path).relative_to(folders)), r.label) for r in train.records] == [
        ("train/jump/a.avi", 0),
        ("train/jump/day2/c.mkv", 0),
        ("train/run/b.mp4", 1),
    ]
    assert [(Path(r.path).name, r.label) for r in val.records] == [("d.mp4", 1)]
    assert train[(2, 0)]["video"].shape == (3, T, 32, 32) and len(val) == 3
    batch = next(iter(build_loader(train, batch_size=3, train=True, seed=0)))
    assert sorted(batch["label"].tolist()) == [0, 0, 1]
    # a labels file fixes the order; a folder it does not name is an error naming the folder
    labels = folders.parent / "labels.txt"
    labels.write_text("swim\nrun\njump\n")
    fixed = read_annotations(DataConfig(format="folders", root=str(folders), labels=str(labels)), "train")
    assert fixed.class_names == ["swim", "run", "jump"] and [r.label for r in fixed.records] == [2, 2, 1]
    labels.write_text("run\njump\n")
    with pytest.raises(DataError, match=re.escape(f"{folders / 'train'}: class folders ['swim'] are not classes of")):
        read_annotations(DataConfig(format="folders", root=str(folders), labels=str(labels)), "train")
    # root/<class>/<video>: the split's folder is the root itself
    flat = read_annotations(
        DataConfig(format="folders", root=str(folders / "val"), annotations={"train": "."}), "train"
    )
    assert flat.class_names == ["jump", "run"] and [r.label for r in flat.records] == [1]


def test_folder_layout_mistakes_are_errors_naming_the_folder(tmp_path):
    video = write_video(tmp_path / "source.mp4", 4, width=32, height=32)
    root = tmp_path / "videos"
    root.mkdir()

    def error(**changes) -> str:
        with pytest.raises(DataError) as raised:
            read_annotations(DataConfig(**{"format": "folders", "root": str(root), **changes}), "train")
        return str(raised.value)

    assert error() == f"data.root {root} is empty"
    assert error(root=str(tmp_path / "absent")) == f"data.root {tmp_path / 'absent'} is not a folder"
    copy_video(video, root, ["val/run/a.mp4", "train/loose.mp4"])
    assert error() == f"{root / 'train'} has no class folders (expected {root / 'train'}/<class>/<video>)"
    (root / "train" / "run").mkdir()
    assert error().startswith(f"{root / 'train'}: videos must be in class folders, e.g. {root / 'train' / 'loose.mp4'}")
    (root / "train" / "loose.mp4").unlink()
    assert error().startswith(f"{root / 'train'}: its class folders hold no videos")
    assert error(annotations={"train": "training"}).startswith(f"{root / 'training'}: no such folder for split 'train'")
    assert error(annotations={"val": "val"}).startswith(f"{root / 'train'}: its class folders hold no videos")
    copy_video(video, root, ["train/run/b.mp4", "val/swim/c.mp4"])
    with pytest.raises(DataError, match=re.escape("class folders ['swim'] are not classes of the training split's")):
        read_annotations(DataConfig(format="folders", root=str(root)), "val")


def test_read_class_names_formats(tmp_path):
    (tmp_path / "a.json").write_text('{"b": "1", "a": "0"}')
    assert read_class_names(tmp_path / "a.json") == (["a", "b"], {0: 0, 1: 1})
    (tmp_path / "b.txt").write_text("jumping\n\nrunning fast\n")
    assert read_class_names(tmp_path / "b.txt") == (["jumping", "running fast"], {0: 0, 1: 1})
    (tmp_path / "c.txt").write_text("x\nx\n")
    with pytest.raises(ValueError, match="duplicate"):
        read_class_names(tmp_path / "c.txt")


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '{"left to right": "0", "right to left": "1", "left to right": "2"}',
            "'left to right' is given more than once",
        ),
        ('{"left to right": "0", "right to left": "0"}', "'left to right': 0, 'right to left': 0"),
        ('{"a": "0", "b": "2"}', "out of range: 'b': 2"),
        ('{"a": "zero"}', "'a' has index 'zero'"),
    ],
)
def test_inconsistent_labels_json_is_an_error_naming_the_entries(tmp_path, text, message):
    path = tmp_path / "something-something-v2-labels.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        read_class_names(path)
    assert str(path) in str(error.value)


def test_class_numbers_given_twice_in_a_text_file_are_an_error(tmp_path):
    (tmp_path / "classInd.txt").write_text("1 Archery\n2 Bowling\n2 Boxing\n")
    with pytest.raises(ValueError, match="'Bowling': 2, 'Boxing': 2"):
        read_class_names(tmp_path / "classInd.txt")
    (tmp_path / "gaps.txt").write_text("1 Archery\n3 Boxing\n")  # numbered as written: gaps are fine here
    assert read_class_names(tmp_path / "gaps.txt") == (["Archery", "Boxing"], {1: 0, 3: 1})
