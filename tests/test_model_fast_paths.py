"""The training step's fast paths (channels-last temporal features, convs over time as
conv1d, checkpointing, a bf16 frozen encoder, autocast) against the plain computation."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dist_video import from_official_checkpoint
from dist_video.models.dist_branch import (
    IntegrationBlock,
    TemporalBlock,
    conv_over_time,
)

from tiny import tiny_model

# Stated tolerance of a bf16 frozen encoder on logits (100 x cosine) of the reference
# model: bf16 keeps 8 bits of mantissa. Measured on 512 clips (logits over -27..23): at
# most 0.21 with an fp32 branch, 0.38 with the branch under bf16 autocast (docs/efficiency.md).
BF16_LOGIT_ATOL = 0.5


def _video(model, batch=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, model.num_frames, model.image_size, model.image_size, generator=g)


@pytest.fixture()
def ref_model(reference):
    return from_official_checkpoint(reference["state_dict"], reference["meta"]["class_names"])


@pytest.mark.parametrize("kernel", [3, 5])
def test_conv_over_time_is_the_conv3d(kernel):
    conv = nn.Conv3d(6, 5, (kernel, 1, 1), padding=(kernel // 2, 0, 0))
    x = torch.randn(2, 7, 3, 4, 6, requires_grad=True)  # (B, T, h, w, C) channels-last tokens
    expected = conv(x.permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1)
    got = conv_over_time(conv, x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    grads = torch.autograd.grad(got.square().sum(), (x, conv.weight, conv.bias))
    expected_grads = torch.autograd.grad(expected.square().sum(), (x, conv.weight, conv.bias))
    for g, e in zip(grads, expected_grads):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def _quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def _randomise(module):
    torch.manual_seed(0)
    for param in module.parameters():  # LayerNorm affines included: folding them must be exact
        nn.init.normal_(param, std=0.3)
    return module.double()


def _outputs_and_grads(module, fn, x):
    x = x.clone().requires_grad_()
    out = fn(x)
    grads = torch.autograd.grad(out.square().sum(), [x, *module.parameters()])
    return out, grads


def test_integration_block_matches_plain_autograd():
    block = _randomise(IntegrationBlock(dim=64, mlp_ratio=1.0, temporal_ratio=0.25, kernel=3))
    x = torch.randn(2 * 4, 5, 64, dtype=torch.float64)  # (B*T', L, C), B = 2

    def plain(x):  # the release's formulation: LayerNorms, QuickGELU modules, Conv3d on (B, C, T', L, 1)
        ffn = block.ffn
        y = ffn.c_proj(_quick_gelu(ffn.c_fc(F.layer_norm(x, (64,), block.ln.weight, block.ln.bias))))
        t = F.layer_norm(x, (64,), block.ln_temporal.weight, block.ln_temporal.bias)
        t = t.reshape(2, 4, 5, 64).permute(0, 3, 1, 2).unsqueeze(-1)
        tf = block.temporal_ffn
        t = tf.c_proj(_quick_gelu(tf.c_fc2(tf.c_fc1(t)))).squeeze(-1).permute(0, 2, 3, 1).reshape(8, 5, 64)
        return y + t

    out, grads = _outputs_and_grads(block, lambda x: block(x, 2), x)
    expected, expected_grads = _outputs_and_grads(block, plain, x)
    torch.testing.assert_close(out, expected)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want)


def test_temporal_block_matches_plain_autograd():
    block = _randomise(TemporalBlock(dim=16, mlp_ratio=1.0, kernel=3))
    x = torch.randn(2, 16, 6, 3, 4, dtype=torch.float64)  # (B, Ct, T, h, w)

    def plain(x):
        y = F.layer_norm(x.movedim(1, -1), (16,), block.ln.weight, block.ln.bias).movedim(-1, 1)
        net = block.temporal_net
        return _quick_gelu(x + net.c_fc2(_quick_gelu(net.c_fc1(y))))

    out, grads = _outputs_and_grads(block, lambda x: block(x.contiguous(memory_format=torch.channels_last_3d)), x)
    expected, expected_grads = _outputs_and_grads(block, plain, x)
    torch.testing.assert_close(out, expected)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want)


def test_checkpointing_matches_the_reference(reference, ref_model):
    ref_model.train().dist_net.grad_checkpointing = True
    video = reference["inputs"]["video"]
    logits = ref_model(video)  # autograd on: the checkpointed path is taken
    assert logits.requires_grad
    assert (logits.detach() - reference["outputs"]["logits_per_image"][:, 0]).abs().max() < 1e-3


def _saved_bytes_and_grads(model, video, labels):
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    model.zero_grad(set_to_none=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = F.cross_entropy(model(video), labels)
    loss.backward()
    return sum(saved), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_checkpointing_gives_the_same_gradients_for_less_memory():
    model = tiny_model(num_frames=8).train()
    video, labels = _video(model), torch.tensor([0, 2])
    plain_bytes, plain = _saved_bytes_and_grads(model, video, labels)
    model.dist_net.grad_checkpointing = True
    ckpt_bytes, ckpt = _saved_bytes_and_grads(model, video, labels)
    assert ckpt.keys() == plain.keys() and len(plain) > 100
    for name, grad in plain.items():
        torch.testing.assert_close(ckpt[name], grad, rtol=1e-4, atol=1e-6, msg=name)
    assert ckpt_bytes < 0.7 * plain_bytes  # the layers' activations are not kept (pooling's are)


def test_cast_frozen_bf16_keeps_the_branch_and_text_in_fp32(reference, ref_model):
    video = reference["inputs"]["video"]
    text = ref_model.text_features().clone()
    ref_model.cast_frozen(torch.bfloat16)
    assert ref_model.visual.conv1.weight.dtype == torch.bfloat16
    assert ref_model.transformer.resblocks[0].attn.in_proj_weight.dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in ref_model.dist_net.parameters())
    assert ref_model.logit_scale.dtype == torch.float32
    torch.testing.assert_close(ref_model.text_features(), text, rtol=0, atol=0)  # computed before the cast
    features = ref_model.vit_features(video)
    assert all(f.dtype == torch.float32 and not f.requires_grad for f in features)
    with torch.no_grad():
        logits = ref_model(video)
    expected = reference["outputs"]["logits_per_image"][:, 0]
    error = (logits - expected).abs().max().item()
    assert 1e-4 < error < BF16_LOGIT_ATOL  # really bf16, and within the stated tolerance


def test_frozen_towers_start_in_eval_mode():
    model = tiny_model()  # eval mode gives the ViT's attention torch's fused inference path
    assert model.dist_net.training and not model.visual.training and not model.transformer.training


def test_bf16_frozen_encoder_trains_the_fp32_branch():
    model = tiny_model().cast_frozen(torch.bfloat16).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    before = model.dist_net.input_linears[0].weight.clone()
    F.cross_entropy(model(_video(model)), torch.tensor([0, 1])).backward()
    optimizer.step()
    assert model.dist_net.input_linears[0].weight.grad.dtype == torch.float32
    assert not torch.equal(model.dist_net.input_linears[0].weight, before)
    assert all(p.grad is None for n, p in model.named_parameters() if not n.startswith("dist_net."))


def test_frozen_encoder_ignores_autocast_and_branch_follows_it():
    model = tiny_model().eval()
    video = _video(model)
    with torch.no_grad():
        plain_features = model.vit_features(video)
        plain = model(video)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            features = model.vit_features(video)
            mixed = model(video)
    for f, p in zip(features, plain_features):
        assert torch.equal(f, p)  # the ViT computes in its own dtype, unaffected
    error = (mixed.float() - plain).abs().max().item()
    assert 0 < error < BF16_LOGIT_ATOL  # the branch did run in bf16
