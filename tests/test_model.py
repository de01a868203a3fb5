"""DiST model behaviour: freezing, gradients, checkpoints, shapes, zoo."""

import dataclasses
import json

import pytest
import torch

from dist_video import (
    CheckpointError,
    ConfigError,
    create_model,
    from_official_checkpoint,
    list_models,
    load_model,
    load_pretrained,
    save_pretrained,
)
from dist_video.cli import main
from dist_video.models.clip import create_clip, infer_clip_arch, tokenize_prompts
from dist_video.models.complexity import count_gflops
from dist_video.models.zoo import model_config, model_config_data

from tiny import TINY_ARCH, tiny_model


def _video(model, batch=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, model.num_frames, model.image_size, model.image_size, generator=g)


def test_only_branch_is_trained():
    model = tiny_model().train()
    assert not model.visual.training and not model.transformer.training
    assert model.dist_net.training
    frozen = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("dist_net.")}
    branch_before = {k: v.clone() for k, v in model.dist_net.state_dict().items()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    loss = torch.nn.functional.cross_entropy(model(_video(model)), torch.tensor([0, 2]))
    loss.backward()
    unused = "dist_net.integration2temporal_nets.1."  # the last layer's, unused as in the release
    for name, param in model.named_parameters():
        if name.startswith(unused):
            assert param.grad is None and not param.requires_grad
        elif name.startswith("dist_net."):
            assert param.grad is not None, name
        else:
            assert param.grad is None and not param.requires_grad, name
    optimizer.step()
    for key, value in model.state_dict().items():
        if key in frozen:
            assert torch.equal(value, frozen[key]), key
    changed = [k for k, v in model.dist_net.state_dict().items() if not torch.equal(v, branch_before[k])]
    assert len(changed) > 0.9 * len(branch_before)


def test_vit_features_carry_no_graph():
    model = tiny_model().train()
    features = model.vit_features(_video(model))
    assert all(not f.requires_grad for f in features)
    assert features[0].shape == (2 * 2, 1 + 16, TINY_ARCH.vision_width)  # B*T', L, W


def test_logits_are_scaled_cosines():
    model = tiny_model().eval()
    video = _video(model)
    with torch.no_grad():
        logits = model(video)
        emb = torch.nn.functional.normalize(model.encode_video(video), dim=-1)
    text = torch.nn.functional.normalize(model.text_features(), dim=-1)
    torch.testing.assert_close(logits, model.logit_scale.exp() * emb @ text.T)
    assert logits.shape == (2, 3)


def test_class_names_change_recomputes_text_features():
    model = tiny_model().eval()
    before = model.text_features().clone()
    model.set_class_names(["jumping", "b", "c", "d"])
    after = model.text_features()
    assert after.shape[0] == 4
    assert not torch.allclose(after[0], before[0])
    torch.testing.assert_close(after[1:3], before[1:3])


def test_too_long_prompt_names_the_class():
    with pytest.raises(ValueError, match="word word"):
        tokenize_prompts(["word " * 100])
    assert tokenize_prompts(["word " * 100], truncate=True)[0, -1] == 49407


def test_wrong_input_shape_is_explained():
    model = tiny_model()
    with pytest.raises(ValueError, match="expected video of shape"):
        model(torch.zeros(1, 3, model.num_frames + 1, 32, 32))


def _release_state(model):
    return {"model_state": {f"module.backbone.base_encoder.{k}": v for k, v in model.state_dict().items()}}


@pytest.mark.parametrize("wrap", ["plain", "prefixed", "file"])
def test_official_round_trip(tmp_path, wrap):
    model = tiny_model(num_frames=8, alpha=4).eval()
    video = _video(model)
    state = {"plain": model.state_dict(), "prefixed": _release_state(model)}.get(wrap)
    if wrap == "file":
        state = tmp_path / "model.pyth"
        torch.save(_release_state(model), state)
    loaded = from_official_checkpoint(state, model.class_names)
    assert loaded.branch_config == model.branch_config
    assert not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(video), model(video), rtol=0, atol=0)
    save_pretrained(loaded, tmp_path / "own")
    again = load_pretrained(tmp_path / "own")
    with torch.no_grad():
        torch.testing.assert_close(again(video), model(video), rtol=0, atol=0)
    assert again.class_names == model.class_names
    assert load_model(tmp_path / "own", ["x", "y"]).class_names == ["x", "y"]


def test_checkpoint_errors_name_the_keys(tmp_path):
    model = tiny_model()
    state = dict(model.state_dict())
    state["dist_net.input_linears.1.weight"] = torch.zeros(64, 65)
    del state["dist_net.ln_post.bias"]
    state["dist_net.extra"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as err:
        from_official_checkpoint(state, ["a"])
    message = str(err.value)
    assert "dist_net.ln_post.bias" in message and "dist_net.extra" in message
    assert "dist_net.input_linears.1.weight: checkpoint (64, 65) vs model (64, 64)" in message
    with pytest.raises(CheckpointError, match="not a DiST checkpoint"):
        from_official_checkpoint({k: v for k, v in state.items() if not k.startswith("dist_net.")}, ["a"])
    with pytest.raises(FileNotFoundError):
        from_official_checkpoint(tmp_path / "missing.pyth", ["a"])
    (tmp_path / "junk.pyth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pyth"):
        from_official_checkpoint(tmp_path / "junk.pyth", ["a"])


@pytest.mark.parametrize(
    "arch",
    [
        dataclasses.replace(TINY_ARCH, patch_size=14, image_size=28),
        dataclasses.replace(TINY_ARCH, vision_layers=3, patch_size=32, image_size=64),
    ],
    ids=["L14-shaped", "B32-shaped"],
)
def test_other_vit_shapes_run_end_to_end(arch, tmp_path):
    model = tiny_model(arch=arch)
    assert model.dist_net.temporal_stem.weight.shape[-1] == arch.patch_size
    logits = model(_video(model))
    logits.sum().backward()
    assert logits.shape == (2, 3)
    loaded = from_official_checkpoint(_release_state(model), model.class_names)
    assert infer_clip_arch(loaded.state_dict()) == arch


def test_clip_weights_from_file(tmp_path):
    clip = create_clip(TINY_ARCH)
    torch.save(clip.state_dict(), tmp_path / "clip.pt")
    again = create_clip(tmp_path / "clip.pt")
    for key, value in clip.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    scripted = tmp_path / "clip_jit.pt"
    torch.jit.save(torch.jit.script(torch.nn.Module()), scripted)  # a TorchScript archive without CLIP keys
    with pytest.raises(CheckpointError, match="visual.conv1.weight"):
        create_clip(scripted)


@pytest.mark.parametrize("name", list_models())
def test_every_zoo_entry_builds(name):
    config = model_config(name)
    branch = config.branch_config(config.clip.arch)
    with torch.device("meta"):  # no memory, no arithmetic
        model = create_model(name, clip="random")
    assert len(model.class_names) == config.num_classes
    assert (model.num_frames, model.branch_config.sparse_frames) == (
        branch.num_frames,
        branch.num_frames // branch.alpha,
    )
    assert model.image_size == config.clip.arch.image_size
    assert all(not p.requires_grad for p in model.visual.parameters())  # the frozen spatial encoder
    gflops = count_gflops(model)["gflops_per_view"]
    if "gflops_per_view" in config.published:  # the paper's count, within 2 %
        assert abs(gflops / config.published["gflops_per_view"] - 1) < 0.02
    if name != "test-tiny":  # the release's recipes: sparse frames 8, 16 or 32, published results
        assert branch.num_frames // branch.alpha in (8, 16, 32) and "top1" in config.published


def test_zoo_lists_the_release_entries_and_the_tiny_one():
    names = list_models()
    assert len(names) == 10 and "test-tiny" in names
    assert sum(name.startswith("ssv2-") for name in names) == 4 and sum(name.startswith("k400-") for name in names) == 5


def test_zoo_entries_have_release_sizes():
    with torch.device("meta"):
        b16 = create_model("ssv2-b16-8+16f", clip="random")
        k400 = create_model("k400-b16-8+16f", clip="random")
        l14 = create_model("ssv2-l14-32+64f", clip="random")
    trainable = lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad) / 1e6  # noqa: E731
    # Spec: B/16 branch 19.0 M with P=2, 26.1 M with P=4; L/14 32+64f about 32.8 M; whole B/16 168.6 M.
    assert round(trainable(b16), 1) == 19.0
    assert round(trainable(k400), 1) == 26.1
    assert abs(trainable(l14) - 32.8) < 0.1
    assert round(sum(p.numel() for p in b16.parameters()) / 1e6, 1) == 168.6
    assert l14.dist_net.temporal_stem.weight.shape[-1] == 14
    assert (b16.num_frames, b16.branch_config.sparse_frames, len(b16.class_names)) == (16, 8, 174)


def test_info_command(capsys):
    assert main(["info", "ssv2-b16-8+16f", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    # The branch's 19,001,184 parameters, less the last layer's unused Linear(384 -> 96).
    assert info["params_trainable"] == 19_001_184 - (384 * 96 + 96)
    assert abs(info["gflops_branch"] - 21.4) < 0.1  # the spec's count of the release's branch
    assert 155 < info["gflops_per_view"] < 165  # paper: 163
    assert main(["info", "ssv2-b16-8+16f", "--set", "branch.bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_baseline_casts_its_frozen_towers_only():
    config = {
        "kind": "frame_average",
        "clip": {"arch": TINY_ARCH.__dict__, "pretrained": "random"},
        "branch": {"num_frames": 4, "alpha": 2},
        "num_classes": 3,
    }
    model = create_model(config)
    fp32 = model(_video(model))
    model.cast_frozen(torch.bfloat16)
    assert model.visual.conv1.weight.dtype == torch.bfloat16
    assert model.head.weight.dtype == torch.float32 and model.logit_scale.dtype == torch.float32
    bf16 = model(_video(model))
    assert bf16.dtype == torch.float32
    torch.testing.assert_close(bf16, fp32, rtol=0, atol=0.5)


def test_prompt_ensembles_average_normalised_text_features():
    model = tiny_model()
    single = torch.nn.functional.normalize(model.text_features(), dim=-1).clone()
    model.set_class_prompts(["a", "b", "c"], [["a"], ["b"], ["c"]])
    torch.testing.assert_close(model.text_features(), single)
    model.set_class_names(["a", "b", "x", "c"])
    parts = torch.nn.functional.normalize(model.text_features(), dim=-1)
    model.set_class_prompts(["a", "bx", "c"], [["a"], ["b", "x"], ["c"]])
    ensemble = model.text_features()
    assert model.class_names == ["a", "bx", "c"] and ensemble.shape == (3, TINY_ARCH.embed_dim)
    torch.testing.assert_close(ensemble[1], torch.nn.functional.normalize(parts[1] + parts[2], dim=0))
    with pytest.raises(ValueError, match="prompts"):
        model.set_class_prompts(["a", "b"], [["a"], []])


def test_random_towers_are_asked_for_explicitly():
    data = model_config_data("test-tiny")
    unset = {**data, "clip": {"arch": data["clip"]["arch"]}}
    with pytest.raises(ConfigError, match=r"clip\.pretrained is not set.*MODEL:TAG.*'random'"):
        create_model(unset)
    assert create_model(unset, clip="random").class_names == ["class 0", "class 1", "class 2"]
    assert model_config("ssv2-b16-8+16f").clip.pretrained == "ViT-B-16:openai"  # the zoo names real weights
