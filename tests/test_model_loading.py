"""One loader for every saved form of a model, with the preprocessing it was trained with."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from dist_video import CheckpointError, load_model, save_pretrained
from dist_video.config import to_dict
from dist_video.engine.predict import clip_pipeline
from dist_video.models.preprocessing import Preprocessing
from dist_video.models.zoo import model_config

from tiny import TINY_CLIP, tiny_model

TRAINED = Preprocessing(num_frames=4, crop_size=32, resize=40, sampling="interval", sampling_interval=2,
                        target_fps=12.0, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))  # fmt: skip


def _video(model, n=2):
    return torch.randn(
        n, 3, model.num_frames, model.image_size, model.image_size, generator=torch.Generator().manual_seed(1)
    )


def test_default_preprocessing_follows_the_model():
    model = tiny_model()
    assert model.preprocessing == Preprocessing(num_frames=4, crop_size=32)
    with pytest.raises(ValueError, match="8 frames"):
        model.preprocessing = Preprocessing(num_frames=8, crop_size=32)


def test_model_folder_keeps_weights_and_preprocessing(tmp_path):
    model = tiny_model().eval()
    model.preprocessing = TRAINED
    save_pretrained(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.preprocessing == TRAINED and not loaded.training
    torch.testing.assert_close(loaded(_video(model)), model(_video(model)), rtol=0, atol=0)


def test_training_checkpoint_loads_with_its_clip_and_data_settings(tmp_path):
    model = tiny_model(seed=3).eval()
    clip_state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("dist_net.")}
    save_file(clip_state, str(tmp_path / "clip.safetensors"))
    config = to_dict(model_config("test-tiny"))
    config["clip"] = {"arch": TINY_CLIP, "pretrained": str(tmp_path / "clip.safetensors")}
    data = {"sampling": "interval", "sampling_interval": 2, "target_fps": 12.0, "test_scale": 40, "test_crop_size": 32,
            "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}  # fmt: skip
    torch.save({"trainable": model.trainable.state_dict(), "config": {"model": config, "data": data},
                "class_names": model.class_names}, tmp_path / "best.pt")  # fmt: skip
    loaded = load_model(tmp_path / "best.pt")
    assert loaded.preprocessing == TRAINED and loaded.class_names == model.class_names
    torch.testing.assert_close(loaded(_video(model)), model(_video(model)), rtol=0, atol=0)
    assert load_model(tmp_path / "best.pt", ["x", "y"]).class_names == ["x", "y"]  # open vocabulary


def test_files_that_are_not_models_are_named(tmp_path):
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other.pt: not a dist-video training checkpoint \(missing trainable"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "release.pyth").write_bytes(b"")
    with pytest.raises(CheckpointError, match="no class names"):
        load_model(tmp_path / "release.pyth")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_model(tmp_path / "missing.pt")


def test_clip_pipeline_follows_the_preprocessing():
    sampler, transform = clip_pipeline(TRAINED)
    assert (sampler.mode, sampler.num_frames, sampler.interval, sampler.target_fps) == ("interval", 4, 2, 12.0)
    assert (transform.scale, transform.crop_size, transform.mean, transform.std) == (40, 32, TRAINED.mean, TRAINED.std)
    sampler, transform = clip_pipeline(Preprocessing(num_frames=4, crop_size=32))
    assert (sampler.mode, transform.scale) == ("segment", 32)
