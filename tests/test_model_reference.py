"""The model against outputs of the authors' release (shared/reference)."""

import pytest
import torch

from dist_video import from_official_checkpoint
from dist_video.models.clip import class_prompts, tokenize_prompts

LAYER_MODULES = (
    "temporal_nets",
    "input_linears",
    "integration2temporal_nets",
    "temporal2integration_nets",
    "integration_nets",
)


@pytest.fixture(scope="module")
def ref_model(reference):
    return from_official_checkpoint(reference["state_dict"], reference["meta"]["class_names"])


def test_tokens_match(reference):
    prompts = class_prompts(reference["meta"]["class_names"])
    assert prompts == reference["meta"]["prompts"]
    assert torch.equal(tokenize_prompts(prompts), reference["inputs"]["text_tokens"].long())


def test_outputs_match(reference, ref_model):
    video = reference["inputs"]["video"]
    out = reference["outputs"]
    with torch.no_grad():
        logits = ref_model(video)
        embedding = ref_model.encode_video(video)
    torch.testing.assert_close(ref_model.text_features(), out["text_features"], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(embedding, out["dist_cls"], rtol=1e-4, atol=1e-5)
    assert (logits - out["logits_per_image"][:, 0]).abs().max() < 1e-3
    torch.testing.assert_close(logits.softmax(-1), out["probs"], rtol=1e-4, atol=1e-5)


def _rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def test_intermediates_match(reference, ref_model):
    inter = reference["intermediates"]
    video = reference["inputs"]["video"]
    seen = {}
    hooks = [
        module.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o))
        for name, module in ref_model.dist_net.named_modules()
        if name.count(".") == 1 and name.split(".")[0] in LAYER_MODULES
    ]
    hooks.append(
        ref_model.dist_net.temporal_stem.register_forward_hook(lambda m, i, o: seen.__setitem__("temporal_stem", o))
    )
    with torch.no_grad():
        vit = ref_model.vit_features(video)
        ref_model.dist_net(video, vit)
    for h in hooks:
        h.remove()
    # Frozen ViT, block by block (reference layout (L, B*T', W)).
    for i, tokens in enumerate(vit):
        assert _rel_err(tokens.transpose(0, 1), inter["vis_layer_out"][i]) < 1e-4, f"ViT block {i}"
    compared = 0
    for key, expected in inter.items():
        name = key.removeprefix("dist.")
        if name not in seen:
            continue
        got = seen[name]
        if got.ndim == 3:  # tokens: ours batch-first, the reference's sequence-first
            got = got.transpose(0, 1)
        assert _rel_err(got, expected) < 1e-4, key
        compared += 1
    # temporal_stem + 5 modules x 4 layers, less the last layer's unused integration2temporal
    assert compared == 1 + 5 * 4 - 1


def test_pooling_and_head_match(reference, ref_model):
    inter = reference["intermediates"]
    video = reference["inputs"]["video"]
    pooled = []
    hooks = [
        block.register_forward_hook(lambda m, i, o: pooled.append(o)) for block in ref_model.dist_net.adapooling_nets
    ]
    ln_post = []
    hooks.append(ref_model.dist_net.ln_post.register_forward_hook(lambda m, i, o: ln_post.append(o)))
    with torch.no_grad():
        ref_model.encode_video(video)
    for h in hooks:
        h.remove()
    for j, (s, g) in enumerate(pooled):
        assert _rel_err(g.transpose(0, 1), inter[f"dist.adapooling_nets.{j}.top_cls"]) < 1e-4
        assert _rel_err(s.transpose(0, 1), inter[f"dist.adapooling_nets.{j}.spatial_cls"]) < 1e-4
    assert _rel_err(ln_post[0], inter["dist.ln_post"]) < 1e-4
