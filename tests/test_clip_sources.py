"""CLIP towers that round-trip: every source (weights file, open_clip MODEL:TAG) gives towers
that a saved model rebuilds exactly, GELU ones included."""

from __future__ import annotations

import dataclasses

import open_clip
import pytest
import torch
import yaml
from open_clip.transformer import QuickGELU
from safetensors.torch import save_file

from dist_video import CheckpointError, load_model, save_pretrained
from dist_video.models.clip import CLIPArch, clip_arch, create_clip

from tiny import TINY_ARCH, tiny_model

GELU_ARCH = dataclasses.replace(TINY_ARCH, activation="gelu")
HALF = (0.5, 0.5, 0.5)
# open_clip's config of a tiny GELU CLIP with non-default heads and norm epsilon
TINY_OPEN_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8,
                   "norm_kwargs": {"eps": 1e-6}},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 1,
                 "norm_kwargs": {"eps": 1e-6}},
}  # fmt: skip


def _video(model):
    shape = (2, 3, model.num_frames, model.image_size, model.image_size)
    return torch.randn(*shape, generator=torch.Generator().manual_seed(1))


def _rewrite_config(folder, change):
    config = yaml.safe_load((folder / "config.yaml").read_text())
    change(config)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))


def test_a_gelu_tower_reloads_as_gelu(tmp_path):
    model = tiny_model(arch=GELU_ARCH).eval()
    folder = save_pretrained(model, tmp_path / "model")
    assert yaml.safe_load((folder / "config.yaml").read_text())["clip_arch"]["activation"] == "gelu"
    video = _video(model)
    torch.testing.assert_close(load_model(folder)(video), model(video), rtol=0, atol=0)
    # without the activation (as saved before it was recorded) the towers reload as QuickGELU: other logits
    _rewrite_config(folder, lambda config: config["clip_arch"].pop("activation"))
    quick = load_model(folder)
    assert isinstance(quick.visual.transformer.resblocks[0].mlp.gelu, QuickGELU)
    assert (quick(video) - model(video)).abs().max() > 1e-3


def test_configs_saved_before_the_full_arch_load_as_openai_towers(tmp_path):
    model = tiny_model().eval()
    folder = save_pretrained(model, tmp_path / "model")
    recorded = [f.name for f in dataclasses.fields(CLIPArch)][9:]  # the fields after vocab_size
    _rewrite_config(folder, lambda config: [config["clip_arch"].pop(name) for name in recorded])
    video = _video(model)
    torch.testing.assert_close(load_model(folder)(video), model(video), rtol=0, atol=0)


def test_a_weights_file_takes_what_its_tensors_do_not_show_from_like(tmp_path):
    towers = create_clip(GELU_ARCH)
    save_file({k: v.contiguous() for k, v in towers.state_dict().items()}, str(tmp_path / "clip.safetensors"))
    assert clip_arch(create_clip(tmp_path / "clip.safetensors")).activation == "quick_gelu"  # OpenAI's by default
    again = create_clip(tmp_path / "clip.safetensors", like=GELU_ARCH)
    assert clip_arch(again) == GELU_ARCH
    tokens = torch.randint(0, 49408, (2, 77), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(again.encode_text(tokens), towers.encode_text(tokens), rtol=0, atol=0)


@pytest.fixture
def tiny_open_clip(tmp_path, monkeypatch):
    """open_clip knows a model "tiny-vit" with the tags "openai-like" (QuickGELU, as OpenAI's
    tags are) and "half" (GELU, mean and std 0.5), both reading one weights file."""
    torch.manual_seed(0)
    weights = tmp_path / "tiny.safetensors"
    save_file(open_clip.model.CLIP(**TINY_OPEN_CLIP).state_dict(), str(weights))
    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, "tiny-vit", TINY_OPEN_CLIP)
    tags = {"openai_like": {"file": str(weights), "quick_gelu": True}, "half": {"file": str(weights), "mean": HALF,
                                                                                "std": HALF}}  # fmt: skip
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "tiny-vit", tags)
    return weights


def test_open_clip_model_and_tag(tiny_open_clip):
    half = create_clip("tiny-vit:half")
    arch = clip_arch(half)
    assert (arch.activation, arch.vision_head_width, arch.text_head_width, arch.norm_eps) == ("gelu", 32, 16, 1e-6)
    assert (arch.mean, arch.std, arch.open_clip_model) == (HALF, HALF, "tiny-vit:half")
    # open_clip's own default for this tag would be GELU (it only warns): QuickGELU, as the tag was trained
    assert clip_arch(create_clip("tiny-vit:openai-like")).activation == "quick_gelu"
    from_file = create_clip(f"tiny-vit:{tiny_open_clip}")  # split at the first colon: the tag is a file
    for key, value in half.state_dict().items():
        assert torch.equal(from_file.state_dict()[key], value), key


def test_a_model_on_open_clip_towers_round_trips(tiny_open_clip, tmp_path):
    from dist_video import create_model

    model = create_model("test-tiny", clip="tiny-vit:half").eval()
    assert (model.preprocessing.mean, model.preprocessing.std) == (HALF, HALF)  # the towers' normalisation
    loaded = load_model(save_pretrained(model, tmp_path / "model"))
    assert clip_arch(loaded) == clip_arch(model) and loaded.preprocessing == model.preprocessing
    video = _video(model)
    torch.testing.assert_close(loaded(video), model(video), rtol=0, atol=0)


def test_towers_it_cannot_rebuild_are_refused(tiny_open_clip, monkeypatch, tmp_path):
    layer_scale = {**TINY_OPEN_CLIP, "vision_cfg": {**TINY_OPEN_CLIP["vision_cfg"], "ls_init_value": 1e-4}}
    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, "tiny-vit", layer_scale)
    save_file(open_clip.model.CLIP(**layer_scale).state_dict(), str(tmp_path / "scaled.safetensors"))
    with pytest.raises(CheckpointError, match=r"^tiny-vit:/.*: these CLIP towers differ from the OpenAI layout"):
        create_clip(f"tiny-vit:{tmp_path / 'scaled.safetensors'}")
    with pytest.raises(CheckpointError, match=r"^no-such-vit:openai: open_clip cannot create this CLIP"):
        create_clip("no-such-vit:openai")
