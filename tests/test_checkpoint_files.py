"""Unreadable or unsafe checkpoint files end in one clear error naming the file, and never
in a suggestion to load them unsafely."""

import pickle

import pytest
import torch
import yaml

from dist_video import CheckpointError, load_pretrained, save_pretrained
from dist_video.cli import main
from dist_video.engine.state import load_checkpoint, save_checkpoint

from tiny import tiny_model


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def _bad_files(tmp_path):
    save_checkpoint({"trainable": {"w": torch.ones(3)}}, tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "text.pt").write_text("hello")
    torch.save({"x": Payload()}, tmp_path / "payload.pt")
    (tmp_path / "pickle.pt").write_bytes(pickle.dumps({"x": Payload()}))
    return {
        "truncated.pt": "not a valid checkpoint",
        "empty.pt": "not a valid checkpoint",
        "text.pt": "not a valid checkpoint",
        "payload.pt": "not a safe checkpoint",
        "pickle.pt": "not a safe checkpoint",
    }


def test_bad_training_checkpoints_are_named(tmp_path, capsys):
    for name, message in _bad_files(tmp_path).items():
        with pytest.raises(CheckpointError, match=message) as error:
            load_checkpoint(tmp_path / name)
        text = str(error.value)
        assert str(tmp_path / name) in text and "weights_only" not in text and "\n" not in text
    assert "this must never run" not in capsys.readouterr().out


def test_predict_on_a_payload_file_is_one_line(tmp_path, capsys):
    _bad_files(tmp_path)
    assert main(["predict", "clip.mp4", "--checkpoint", str(tmp_path / "payload.pt")]) == 2
    out, err = capsys.readouterr()
    assert "this must never run" not in out
    assert err.count("\n") == 1 and "not a safe checkpoint" in err and "weights_only" not in err


def test_truncated_safetensors_is_named(tmp_path):
    save_pretrained(tiny_model(), tmp_path / "model")
    weights = tmp_path / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_pretrained(tmp_path / "model")


def test_damaged_model_config_is_named(tmp_path):
    save_pretrained(tiny_model(), tmp_path / "model")
    config = tmp_path / "model" / "config.yaml"
    text = config.read_text()
    config.write_text("format: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ValueError, match=f"{config}: not valid YAML") as err:
        load_pretrained(tmp_path / "model")
    assert "\n" not in str(err.value) and "(line 1, column 9)" in str(err.value)  # one line, where it is
    saved = yaml.safe_load(text)
    del saved["branch"]
    config.write_text(yaml.safe_dump(saved))
    with pytest.raises(CheckpointError, match=r"missing key\(s\) \['branch'\]"):
        load_pretrained(tmp_path / "model")


def test_a_full_disk_is_named_and_the_previous_checkpoint_kept(tmp_path, monkeypatch, capsys):
    import shutil
    from collections import namedtuple

    from dist_video.errors import StorageError

    path = tmp_path / "last.pt"
    save_checkpoint({"step": torch.tensor(1)}, path)

    def full_disk(*args, **kwargs):  # what torch's writer raises when the disk fills up
        raise RuntimeError(
            "[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
            "data/0: file write failed"
        )

    monkeypatch.setattr(torch, "save", full_disk)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(10 << 30, 10 << 30, 4096))
    with pytest.raises(
        StorageError, match=f"no space left on the device holding {path}; the previous last.pt is intact"
    ):
        save_checkpoint({"step": torch.tensor(2)}, path)
    assert int(load_checkpoint(path)["step"]) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    # with space left, the same error is a bug of its own and keeps its message
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(10 << 30, 0, 10 << 30))
    with pytest.raises(RuntimeError, match="inline_container"):
        save_checkpoint({"step": torch.tensor(2)}, path)
