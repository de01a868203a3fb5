"""Library code in place of hand-written code (timm, open_clip): each replacement gives
what the code it replaced gave. The replaced code is kept here, as the reference."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dist_video.constants import CLIP_MEAN, CLIP_STD
from dist_video.demo import pretrain_clip
from dist_video.engine.evaluate import classification_metrics
from dist_video.engine.optim import WarmupCosine, parameter_groups
from dist_video.engine.train import soft_target_cross_entropy
from dist_video.models.clip import build_clip

from tiny import TINY_ARCH, tiny_model


def old_lr_at(step, base, total, warmup, start, minimum):
    """engine/optim.py's schedule before timm (commit 5a8e84d)."""
    total = max(1, total)
    if step < warmup:
        return start + (base - start) * step / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return minimum + (base - minimum) * 0.5 * (1 + math.cos(math.pi * progress))


@pytest.mark.parametrize(
    "base,total,warmup,start,minimum",
    [
        (5e-4, 600, 46, 8e-8, 8e-8),  # the demo's DiST
        (1.6e-4, 3600, 600, 8e-8, 8e-8),  # a zoo recipe: 36 epochs, 6 of warm-up
        (1e-3, 10, 0, 1e-6, 0.0),  # no warm-up
        (1e-3, 10, 10, 1e-6, 0.0),  # warm-up all the way
    ],
)
def test_timm_schedule_gives_the_old_learning_rates(base, total, warmup, start, minimum):
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=base)
    schedule = WarmupCosine(optimizer, base, total, warmup, start, minimum)
    for step in range(total + 3):  # past the end it stays at the minimum
        # the same to 1e-13: timm multiplies in another order (no bit of an fp32 weight moves)
        assert schedule.lr == pytest.approx(old_lr_at(step, base, total, warmup, start, minimum), rel=1e-13, abs=0)
        schedule.step()


def test_schedule_resumes_from_its_step_count():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    schedule = WarmupCosine(optimizer, 1e-3, 100, 10, 0.0, 0.0)
    for _ in range(37):
        schedule.step()
    other = WarmupCosine(torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3), 1e-3, 100, 10, 0.0, 0.0)
    other.load_state_dict(schedule.state_dict())
    assert other.state_dict() == {"step_count": 37} and other.lr == schedule.lr
    schedule.step(), other.step()
    assert other.lr == schedule.lr


def test_timm_parameter_groups_are_the_old_groups():
    model = tiny_model()
    decay, no_decay = [], []  # the old rule: 1-D, learned tokens and positional embeddings undecayed
    for name, param in model.named_parameters():
        if param.requires_grad:
            undecayed = param.ndim <= 1 or name.endswith(("cls_token", "positional_embedding"))
            (no_decay if undecayed else decay).append(param)
    groups = parameter_groups(model, 0.05)
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0]
    assert [id(p) for p in groups[0]["params"]] == [id(p) for p in decay]
    assert [id(p) for p in groups[1]["params"]] == [id(p) for p in no_decay]
    assert any(p.ndim >= 2 for p in no_decay)  # the positional embeddings: the list matters


def test_timm_soft_target_cross_entropy_is_the_old_loss():
    torch.manual_seed(0)
    logits, targets = torch.randn(6, 5), torch.rand(6, 5).softmax(dim=-1)
    old = torch.sum(-targets * F.log_softmax(logits.float(), dim=-1), dim=-1).mean()
    assert torch.equal(soft_target_cross_entropy(logits, targets), old)


@pytest.mark.parametrize("num_classes", [3, 10])
def test_timm_accuracy_is_the_old_top_k(num_classes):
    torch.manual_seed(num_classes)
    scores, labels = torch.randn(400, num_classes), torch.randint(num_classes, (400,))
    topk = scores.topk(min(5, num_classes), dim=1).indices
    correct = topk == labels[:, None]
    metrics = classification_metrics(scores, labels, num_classes)
    assert metrics["top1"] == pytest.approx(100.0 * correct[:, 0].float().mean().item(), abs=1e-4)
    assert metrics["top5"] == pytest.approx(100.0 * correct.any(dim=1).float().mean().item(), abs=1e-4)
    assert metrics["top1"] == 100.0 * (scores.argmax(1) == labels).sum().item() / 400  # exact counts now


def test_pretrain_groups_are_the_old_groups():
    model = build_clip(TINY_ARCH)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]  # the old rule
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    groups = parameter_groups(model, 0.1, no_weight_decay=pretrain_clip.NO_WEIGHT_DECAY)
    assert [id(p) for p in groups[0]["params"]] == [id(p) for p in decay]
    assert [id(p) for p in groups[1]["params"]] == [id(p) for p in no_decay]


def test_normalisation_is_openai_clips():
    assert CLIP_MEAN == (0.48145466, 0.4578275, 0.40821073)
    assert CLIP_STD == (0.26862954, 0.26130258, 0.27577711)
