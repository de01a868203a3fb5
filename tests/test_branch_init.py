"""The branch's initialisations: the release's stays the default; ``motion`` changes
values only, and starts the stem direction-selective and the pooling as a mean."""

import pytest
import torch
import torch.nn.functional as F

from dist_video.models.dist_branch import DiSTBranchConfig
from dist_video.models.zoo import list_models, model_config

from tiny import tiny_model


def test_release_init_is_the_default_everywhere():
    assert DiSTBranchConfig().init == "release"
    for name in list_models():
        arch = model_config(name).clip.arch
        assert model_config(name).branch_config(arch).init == "release", name


def test_unknown_init_is_refused():
    with pytest.raises(ValueError, match="init"):
        DiSTBranchConfig(init="xavier")


def test_motion_init_keeps_the_state_dict_layout():
    release = tiny_model(init="release").state_dict()
    motion = tiny_model(init="motion").state_dict()
    assert list(release) == list(motion)
    assert all(release[k].shape == motion[k].shape and release[k].dtype == motion[k].dtype for k in release)
    assert not torch.equal(release["dist_net.temporal_stem.weight"], motion["dist_net.temporal_stem.weight"])
    # the rest of the branch is drawn as the release draws it
    assert torch.equal(release["dist_net.input_linears.0.weight"], motion["dist_net.input_linears.0.weight"])


def _moving_bar(frames: int, size: int, step: int) -> torch.Tensor:
    video = torch.zeros(1, 3, frames, size, size)
    for t in range(frames):
        left = 2 + step * t
        video[0, :, t, size // 4 : size // 2, left : left + size // 4] = 2.0
    return video


def test_motion_stem_is_blind_to_stills_and_tells_direction():
    stem = tiny_model(init="motion").dist_net.temporal_stem
    weight = stem.weight
    assert weight.sum(dim=2).abs().max() < 1e-6  # every filter sums to zero over time
    assert weight.std().item() == pytest.approx(0.02, rel=0.05)  # the release's scale
    still = torch.randn(1, 3, 1, 32, 32).expand(-1, -1, 8, -1, -1)
    inner = stem(still)[:, :, 2:6].detach()  # where the 5-frame window lies inside the clip (no zero padding)
    torch.testing.assert_close(inner, stem.bias.detach().view(1, -1, 1, 1, 1).expand_as(inner), atol=1e-5, rtol=0)
    right = _moving_bar(4, 32, step=3)
    energy = lambda video: F.gelu(stem(video)).mean(dim=(2, 3, 4))[0].detach()  # noqa: E731
    difference = energy(right) - energy(right.flip(2))  # the same frames, played backwards
    assert difference.abs().max() > 0.2 * energy(right).abs().max()
    # the filters tuned to opposite directions answer with opposite signs
    assert difference[0] == pytest.approx(-difference[4], abs=1e-5)


def test_release_stem_is_not_blind_to_stills():
    weight = tiny_model(init="release").dist_net.temporal_stem.weight
    assert weight.sum(dim=2).abs().max() > 1e-3


def test_motion_pooling_starts_as_a_mean():
    model = tiny_model(init="motion").eval()
    branch = model.dist_net
    feat = torch.randn(2 * 2, 17, 64)  # (B*T', L, Ci)
    s = branch.aggregated_spatial_cls_token.expand(4, -1, -1)
    g = branch.aggregated_cls_token.expand(2, -1, -1)
    block = branch.adapooling_nets[0]
    with torch.no_grad():
        s_out, g_out = block(s, g, feat)
        ln_s, ln_g = block.spatial_transformer.ln_1, block.temporal_transformer.ln_1
        expected_s = ln_s(feat).mean(dim=1, keepdim=True)
        frames = expected_s.reshape(2, 2, 64) + block.positional_embedding
        expected_g = ln_g(frames).mean(dim=1, keepdim=True)
    torch.testing.assert_close(s_out, expected_s, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g_out, expected_g, atol=1e-5, rtol=1e-5)


def test_motion_init_is_saved_and_the_weights_win_on_load(tmp_path):
    from dist_video import load_pretrained, save_pretrained

    model = tiny_model(init="motion").eval()
    with torch.no_grad():
        model.dist_net.temporal_stem.weight.mul_(3)  # "trained": no longer the initial filters
    save_pretrained(model, tmp_path / "model")
    loaded = load_pretrained(tmp_path / "model").eval()
    assert loaded.branch_config.init == "motion"
    video = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(video), model(video))
