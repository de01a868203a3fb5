"""CLIP towers from open_clip: building them from OpenAI-format weights, per-block visual
tokens for the frozen spatial encoder, and class-name prompts for the text classifier."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import open_clip
import torch
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
from open_clip.tokenizer import SimpleTokenizer
from torch import nn

from ..errors import CheckpointError, ConfigError
from ..io import read_safetensors, read_torch_file

__all__ = [
    "CLIPArch",
    "infer_clip_arch",
    "build_clip",
    "load_clip_weights",
    "create_clip",
    "sparse_frames",
    "visual_block_outputs",
    "class_prompts",
    "tokenize_prompts",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CLIPArch:
    """The shape of an OpenAI-architecture CLIP (ViT image tower, causal text tower)."""

    embed_dim: int = 512
    vision_width: int = 768
    vision_layers: int = 12
    patch_size: int = 16
    image_size: int = 224
    text_width: int = 512
    text_layers: int = 12
    context_length: int = 77
    vocab_size: int = 49408

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size


def infer_clip_arch(state_dict: Mapping[str, torch.Tensor]) -> CLIPArch:
    """Read the CLIP architecture off an OpenAI-format state dict (keys ``visual.*`` ...)."""
    if "visual.conv1.weight" not in state_dict:
        raise CheckpointError("not an OpenAI-format ViT CLIP state dict: 'visual.conv1.weight' is missing")
    conv = state_dict["visual.conv1.weight"]
    grid = round((state_dict["visual.positional_embedding"].shape[0] - 1) ** 0.5)

    def count_blocks(prefix: str) -> int:
        return len({k[len(prefix) :].split(".")[0] for k in state_dict if k.startswith(prefix)})

    return CLIPArch(
        embed_dim=state_dict["text_projection"].shape[1],
        vision_width=conv.shape[0],
        vision_layers=count_blocks("visual.transformer.resblocks."),
        patch_size=conv.shape[-1],
        image_size=conv.shape[-1] * grid,
        text_width=state_dict["ln_final.weight"].shape[0],
        text_layers=count_blocks("transformer.resblocks."),
        context_length=state_dict["positional_embedding"].shape[0],
        vocab_size=state_dict["token_embedding.weight"].shape[0],
    )


def build_clip(arch: CLIPArch) -> CLIP:
    """A randomly initialised fp32 open_clip CLIP of the given OpenAI architecture
    (QuickGELU, heads = width / 64, argmax text pooling)."""
    vision = CLIPVisionCfg(
        layers=arch.vision_layers,
        width=arch.vision_width,
        head_width=64,
        patch_size=arch.patch_size,
        image_size=arch.image_size,
    )
    text = CLIPTextCfg(
        context_length=arch.context_length,
        vocab_size=arch.vocab_size,
        width=arch.text_width,
        heads=max(1, arch.text_width // 64),
        layers=arch.text_layers,
    )
    return CLIP(arch.embed_dim, vision_cfg=vision, text_cfg=text, quick_gelu=True)


def load_clip_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read an OpenAI-format CLIP state dict from a file, as fp32 tensors.

    Accepts OpenAI's released ``.pt`` files (TorchScript archives), plain state-dict files
    and ``.safetensors``. Plain pickles are read with ``weights_only=True``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CLIP weights not found: {path}")
    if path.suffix == ".safetensors":
        state = read_safetensors(path)
    else:
        try:  # OpenAI's files are TorchScript archives; their state dict is plain tensors
            state = torch.jit.load(str(path), map_location="cpu").state_dict()
        except RuntimeError:
            state = read_torch_file(path)
            state = state.get("state_dict", state)
    for key in ("input_resolution", "context_length", "vocab_size"):
        state.pop(key, None)
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def create_clip(source: str | Path | Mapping[str, torch.Tensor] | CLIPArch | None = None) -> CLIP:
    """Build a CLIP from ``source``: an OpenAI-format state dict, a weights file, an
    open_clip ``"MODEL:PRETRAINED_TAG"`` (e.g. ``"ViT-B-16:openai"``, needs the network
    the first time), a :class:`CLIPArch` or ``None`` (random ViT-B/16)."""
    if source is None or isinstance(source, CLIPArch):
        return build_clip(source or CLIPArch())
    if isinstance(source, Mapping):
        state = {k: v.float() if v.is_floating_point() else v for k, v in source.items()}
    elif isinstance(source, str) and not Path(source).exists() and ":" in source:
        name, tag = source.split(":", 1)
        model = open_clip.create_model(name, pretrained=tag, precision="fp32")
        if not hasattr(model, "visual") or not hasattr(model.visual, "conv1"):
            raise CheckpointError(f"{source}: DiST needs a ViT CLIP with a separate text tower")
        return model
    else:
        state = load_clip_weights(source)
    model = build_clip(infer_clip_arch(state))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"CLIP weights do not match the inferred architecture: missing {missing}, unexpected {unexpected}"
        )
    return model


def sparse_frames(video: torch.Tensor, alpha: int) -> torch.Tensor:
    """Every ``alpha``-th frame of ``video (B, 3, T, H, W)`` as a batch of images for the
    image tower, ``(B * T / alpha, 3, H, W)``, clip-major (a view where possible; the
    caller casts to the tower's dtype)."""
    return video[:, :, ::alpha].transpose(1, 2).flatten(0, 1)


def visual_block_outputs(visual: nn.Module, frames: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
    """Run the ViT on ``frames (N, 3, H, W)`` and return the raw output of each block in
    ``layers`` (all tokens, class token first, before ``ln_post``), each ``(N, L, W)``.

    Blocks after the last requested one are not run. Written out here (rather than
    open_clip's ``forward_intermediates``) so the class token stays in place and no work
    is spent on ``ln_post``/``proj``.
    """
    x = visual.conv1(frames)  # (N, W, h, w)
    x = x.flatten(2).transpose(1, 2)  # row-major patch order
    cls = visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], dim=1) + visual.positional_embedding.to(x.dtype)
    x = visual.ln_pre(x)
    wanted = {layer: i for i, layer in enumerate(layers)}
    outputs: list[torch.Tensor | None] = [None] * len(layers)
    for index, block in enumerate(visual.transformer.resblocks[: max(layers) + 1]):
        x = block(x)
        if index in wanted:
            outputs[wanted[index]] = x
    return outputs  # type: ignore[return-value]


def class_prompts(class_names: Sequence[str], prefix: str = "") -> list[str]:
    """The release's prompts: each class name without double quotes, stripped, after an
    optional prefix joined by one space."""
    prompts = []
    for name in class_names:
        text = name.replace('"', "").strip()
        prompts.append(f"{prefix.strip()} {text}" if prefix.strip() else text)
    return prompts


@functools.lru_cache(maxsize=1)
def _tokenizer() -> SimpleTokenizer:
    """CLIP's standard BPE tokenizer (its vocabulary ships inside open_clip)."""
    return SimpleTokenizer()


def tokenize_prompts(prompts: Sequence[str], context_length: int = 77, truncate: bool = False) -> torch.Tensor:
    """CLIP BPE tokens ``(K, context_length)`` (start 49406, end 49407, zero padding).

    A prompt longer than the context raises an error naming it, unless ``truncate`` is set
    (then it is cut, keeping the end token).
    """
    tokenizer = _tokenizer()
    if not truncate:
        for prompt in prompts:
            n = len(tokenizer.encode(prompt)) + 2
            if n > context_length:
                raise ConfigError(
                    f"class prompt {prompt!r} is {n} tokens, longer than the text context of {context_length}; "
                    "shorten it or allow truncation"
                )
    return tokenizer(list(prompts), context_length=context_length).long()
