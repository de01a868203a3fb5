"""Pre-train a small CLIP on rendered still images and their captions (the demo's
stand-in for OpenAI's CLIP: it learns what shapes, colours, places and backgrounds look
like, and never sees a video)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss
from safetensors.torch import save_file
from tqdm import tqdm

from ..constants import CLIP_MEAN, CLIP_STD
from ..engine.optim import parameter_groups
from ..io import atomic_path, read_safetensors
from ..models.clip import CLIPArch, build_clip, tokenize_prompts
from ..synthetic import render_captioned_images

__all__ = ["PretrainConfig", "pretrain_clip", "load_or_pretrain_clip"]

# No weight decay on biases, norms (1-D) and embeddings, as open_clip trains.
NO_WEIGHT_DECAY = ("*embedding*",)


@dataclass
class PretrainConfig:
    """Contrastive pre-training of a small CLIP on captioned synthetic stills."""

    arch: CLIPArch
    num_images: int = 16384
    steps: int = 400
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 40
    seed: int = 0


def _normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, H, W, 3)`` -> CLIP-normalised float ``(N, 3, H, W)``."""
    x = images.permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def pretrain_clip(config: PretrainConfig, show_progress: bool = True) -> tuple[torch.nn.Module, dict]:
    """Train a randomly initialised CLIP of ``config.arch`` with the CLIP objective on
    ``num_images`` rendered stills; returns the model and a short report (final loss,
    retrieval accuracy on held-out images, seconds)."""
    torch.manual_seed(config.seed)
    arch = config.arch
    started = time.perf_counter()
    images, captions = render_captioned_images(config.num_images + 512, arch.image_size, seed=config.seed)
    tokens = tokenize_prompts(captions, arch.context_length)
    train_x, train_t = images[:-512], tokens[:-512]
    model = build_clip(arch)
    groups = parameter_groups(model, config.weight_decay, no_weight_decay=NO_WEIGHT_DECAY)
    optimizer = torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.98), eps=1e-6)
    loss_fn = ClipLoss()
    generator = torch.Generator().manual_seed(config.seed)
    losses = []
    model.train()
    for step in tqdm(
        range(config.steps), desc="pre-training the small CLIP", disable=not show_progress, dynamic_ncols=True
    ):
        # Kept by hand, not timm's CosineLRScheduler: this schedule (warm-up counted from
        # step 1, the cosine over all steps) made the demo's measured CLIP, and timm's
        # would change its weights and every demo number (docs/demo.md).
        lr = config.lr * min(1.0, (step + 1) / config.warmup_steps)
        lr *= 0.5 * (1 + math.cos(math.pi * step / config.steps)) if step >= config.warmup_steps else 1.0
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = torch.randint(len(train_x), (config.batch_size,), generator=generator)
        image_features = F.normalize(model.encode_image(_normalise(train_x[batch])), dim=-1)
        text_features = F.normalize(model.encode_text(train_t[batch]), dim=-1)
        loss = loss_fn(image_features, text_features, model.logit_scale.exp())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(loss.item())
    model.eval()
    report = {
        "final_loss": sum(losses[-20:]) / len(losses[-20:]),
        "heldout_retrieval_top1": retrieval_accuracy(model, images[-512:], tokens[-512:]),
        "seconds": time.perf_counter() - started,
    }
    return model, report


@torch.no_grad()
def retrieval_accuracy(model: torch.nn.Module, images: torch.Tensor, tokens: torch.Tensor) -> float:
    """Image-to-caption top-1 among the given pairs (an exact duplicate caption counts)."""
    image_features = F.normalize(model.encode_image(_normalise(images)), dim=-1)
    text_features = F.normalize(model.encode_text(tokens), dim=-1)
    best = (image_features @ text_features.T).argmax(dim=1)
    return (tokens[best] == tokens).all(dim=1).float().mean().item()


def load_or_pretrain_clip(config: PretrainConfig, path: str | Path, show_progress: bool = True) -> tuple[Path, dict]:
    """The cached CLIP weights at ``path`` (a safetensors file in OpenAI's key layout),
    pre-training them first when absent. Returns the path and the report (empty when
    cached)."""
    path = Path(path)
    if path.is_file():
        read_safetensors(path)  # fails loudly on a damaged cache
        return path, {}
    model, report = pretrain_clip(config, show_progress)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))
    return path, report
