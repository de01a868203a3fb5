"""The Hugging Face Hub, offline: repositories are folders in a Hub-layout cache (what
``snapshot_download`` leaves), the Hub runs with ``HF_HUB_OFFLINE``, uploads go to a
stand-in ``HfApi``. No test touches the network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import huggingface_hub
import huggingface_hub.constants
import open_clip
import pytest
import torch
import yaml
from huggingface_hub.errors import OfflineModeIsEnabled
from safetensors.torch import save_file

from dist_video import CheckpointError, create_model, load_model, push_to_hub, save_pretrained
from dist_video.cli import main
from dist_video.models.clip import clip_arch, create_clip
from dist_video.models.model_card import CITATION

from tiny import tiny_model

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An offline Hub whose cache is ``tmp_path/hub``."""
    cache = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache


def put_in_cache(cache: Path, repo_id: str, folder: Path) -> None:
    """Lay ``folder``'s files out in ``cache`` as a download of ``repo_id`` at ``main`` would."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(folder, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)


def _video(model):
    shape = (2, 3, model.num_frames, model.image_size, model.image_size)
    return torch.randn(*shape, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def uploads(monkeypatch, tmp_path) -> dict:
    """A stand-in for the Hub's API: records the repository made and copies what is uploaded."""
    record: dict = {"folder": tmp_path / "uploaded"}

    def create_repo(self, repo_id, private=False, exist_ok=False, **kwargs):
        record["created"] = (repo_id, private, exist_ok)

    def upload_folder(self, repo_id, folder_path, commit_message=None, **kwargs):
        shutil.copytree(folder_path, record["folder"])
        record["message"] = commit_message
        return huggingface_hub.CommitInfo(
            commit_url=f"https://huggingface.co/{repo_id}/commit/{COMMIT}", commit_message=commit_message,
            commit_description="", oid=COMMIT,
        )  # fmt: skip

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    return record


def test_push_to_hub_uploads_the_model_folder_and_a_card_that_load_model_reads_back(uploads, hub_cache):
    model = tiny_model(class_names=("pushing", "pulling")).eval()
    metrics = {"top1": 61.5, "top5": 88.25}
    url = push_to_hub(model, "org/tiny-dist", recipe="ssv2/vit-b16-8+16f", dataset="something-something-v2",
                      metrics=metrics, private=True)  # fmt: skip
    assert url == f"https://huggingface.co/org/tiny-dist/commit/{COMMIT}"
    assert uploads["created"] == ("org/tiny-dist", True, True)
    folder = uploads["folder"]
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.yaml", "model.safetensors"]
    assert yaml.safe_load((folder / "config.yaml").read_text())["input"]["crop_size"] == 32  # the preprocessing

    card = huggingface_hub.ModelCard.load(folder / "README.md")
    assert card.data.library_name == "dist-video" and card.data.datasets == ["something-something-v2"]
    assert card.data.metrics == ["top1", "top5"] and card.data.pipeline_tag == "video-classification"
    for text in ("`ssv2/vit-b16-8+16f`", "| top1 | 61.5 |", "| top5 | 88.25 |", 'load_model("hf-hub:org/tiny-dist")',
                 "2: pushing, pulling", CITATION):  # fmt: skip
        assert text in card.text, text

    put_in_cache(hub_cache, "org/tiny-dist", folder)
    loaded = load_model("hf-hub:org/tiny-dist")
    assert loaded.class_names == ["pushing", "pulling"] and loaded.preprocessing == model.preprocessing
    torch.testing.assert_close(loaded(_video(model)), model(_video(model)), rtol=0, atol=0)


def test_hub_failures_are_one_line_naming_the_repository(hub_cache, tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match=r"^hf-hub:org/missing: the Hugging Face Hub cannot be reached"):
        load_model("hf-hub:org/missing")
    (tmp_path / "clip").mkdir()
    (tmp_path / "clip" / "open_clip_config.json").write_text("{}")
    put_in_cache(hub_cache, "org/a-clip", tmp_path / "clip")
    with pytest.raises(CheckpointError, match=r"^hf-hub:org/a-clip: not a dist-video model \(the repository has no"):
        load_model("hf-hub:org/a-clip")

    def offline(self, *args, **kwargs):
        raise OfflineModeIsEnabled("Cannot reach https://huggingface.co/api/repos/create: offline mode is enabled.")

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", offline)
    with pytest.raises(CheckpointError, match=r"^hf-hub:org/tiny: upload failed \(OfflineModeIsEnabled: Cannot"):
        push_to_hub(tiny_model(), "org/tiny")


def test_open_clip_towers_from_a_hub_repository(hub_cache, tmp_path):
    """``clip="hf-hub:org/repo"``: open_clip's own Hub format (open_clip_config.json and
    weights), here a tiny GELU CLIP with its own normalisation."""
    model_cfg = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1},
    }
    torch.manual_seed(0)
    towers = open_clip.model.CLIP(**model_cfg)
    repo = tmp_path / "repo"
    repo.mkdir()
    save_file(towers.state_dict(), str(repo / "open_clip_model.safetensors"))
    half = [0.5, 0.5, 0.5]
    (repo / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": model_cfg, "preprocess_cfg": {"mean": half, "std": half}})
    )
    put_in_cache(hub_cache, "org/tiny-clip", repo)
    clip = create_clip("hf-hub:org/tiny-clip")
    arch = clip_arch(clip)
    assert (arch.activation, list(arch.mean), arch.open_clip_model) == ("gelu", half, "hf-hub:org/tiny-clip")
    for key, value in towers.state_dict().items():
        assert torch.equal(clip.state_dict()[key], value), key
    model = create_model("test-tiny", clip="hf-hub:org/tiny-clip").eval()
    loaded = load_model(save_pretrained(model, tmp_path / "model"))
    assert clip_arch(loaded) == arch and list(loaded.preprocessing.mean) == half
    torch.testing.assert_close(loaded(_video(model)), model(_video(model)), rtol=0, atol=0)
    with pytest.raises(CheckpointError, match=r"^hf-hub:org/no-clip: open_clip cannot create this CLIP"):
        create_clip("hf-hub:org/no-clip")


def test_push_command_uploads_a_saved_model_with_its_metrics(uploads, tmp_path, capsys):
    save_pretrained(tiny_model(class_names=("pushing", "pulling")), tmp_path / "model")
    (tmp_path / "metrics.json").write_text(json.dumps({"top1": 61.456, "top5": 88.25, "num_videos": 8}))
    args = ["push", str(tmp_path / "model"), "org/tiny", "--metrics", str(tmp_path / "metrics.json")]
    assert main([*args, "--dataset", "something-something-v2"]) == 0
    assert f"uploaded: https://huggingface.co/org/tiny/commit/{COMMIT}" in capsys.readouterr().out
    card = huggingface_hub.ModelCard.load(uploads["folder"] / "README.md")
    assert "| top1 | 61.46 |" in card.text and "| top5 | 88.25 |" in card.text and "num_videos" not in card.text
    assert card.data.datasets == ["something-something-v2"] and uploads["created"] == ("org/tiny", False, True)
    (tmp_path / "metrics.json").write_text("{}")
    assert main(args) == 2
    assert "none of top1, top5, mean_class_accuracy" in capsys.readouterr().err
