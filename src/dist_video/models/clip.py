"""CLIP towers from open_clip: building them from OpenAI-format weights, per-block visual
tokens for the frozen spatial encoder, and class-name prompts for the text classifier."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import open_clip
import torch
from open_clip.factory import HF_HUB_PREFIX
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg, set_model_preprocess_cfg
from open_clip.tokenizer import SimpleTokenizer
from open_clip.transformer import QuickGELU
from torch import nn

from ..constants import CLIP_MEAN, CLIP_STD
from ..errors import CheckpointError, ConfigError
from ..io import read_safetensors, read_torch_file

__all__ = [
    "CLIPArch",
    "infer_clip_arch",
    "clip_arch",
    "build_clip",
    "load_clip_weights",
    "create_clip",
    "sparse_frames",
    "compile_vit_mlps",
    "visual_block_outputs",
    "class_prompts",
    "tokenize_prompts",
]

log = logging.getLogger(__name__)

_OPEN_CLIP_MODEL = "open_clip_model"  # the image tower's attribute naming the open_clip model it came from


@dataclass(frozen=True)
class CLIPArch:
    """Everything needed to rebuild an OpenAI-layout open_clip CLIP (ViT image tower, causal
    text tower) with the same outputs: the sizes (readable off the weights), what the weights
    do not show (activation, attention head widths, LayerNorm epsilon), the pixel
    normalisation the towers were trained with, and the open_clip model they came from (a
    record; building ignores it). The defaults are OpenAI's ViT-B/16, whose saved configs
    predate the fields after ``vocab_size``."""

    embed_dim: int = 512
    vision_width: int = 768
    vision_layers: int = 12
    patch_size: int = 16
    image_size: int = 224
    text_width: int = 512
    text_layers: int = 12
    context_length: int = 77
    vocab_size: int = 49408
    activation: Literal["quick_gelu", "gelu"] = "quick_gelu"  # OpenAI's towers: QuickGELU; open_clip's own: GELU
    vision_head_width: int = 64
    text_head_width: int = 64
    vision_mlp_ratio: float = 4.0
    norm_eps: float = 1e-5
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    open_clip_model: str = ""  # e.g. "ViT-B-16:laion2b_s34b_b88k" or "hf-hub:org/repo"; "" when not from open_clip

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size


def infer_clip_arch(state_dict: Mapping[str, torch.Tensor], like: CLIPArch = CLIPArch()) -> CLIPArch:
    """Read the sizes of a CLIP off an OpenAI-format state dict (keys ``visual.*`` ...); the
    fields the tensors do not show (activation, head widths, norm, normalisation) are
    ``like``'s, by default OpenAI's."""
    if "visual.conv1.weight" not in state_dict:
        raise CheckpointError("not an OpenAI-format ViT CLIP state dict: 'visual.conv1.weight' is missing")
    conv = state_dict["visual.conv1.weight"]
    grid = round((state_dict["visual.positional_embedding"].shape[0] - 1) ** 0.5)

    def count_blocks(prefix: str) -> int:
        return len({k[len(prefix) :].split(".")[0] for k in state_dict if k.startswith(prefix)})

    return dataclasses.replace(
        like,
        embed_dim=state_dict["text_projection"].shape[1],
        vision_width=conv.shape[0],
        vision_layers=count_blocks("visual.transformer.resblocks."),
        patch_size=conv.shape[-1],
        image_size=conv.shape[-1] * grid,
        text_width=state_dict["ln_final.weight"].shape[0],
        text_layers=count_blocks("transformer.resblocks."),
        context_length=state_dict["positional_embedding"].shape[0],
        vocab_size=state_dict["token_embedding.weight"].shape[0],
        vision_mlp_ratio=state_dict["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0] / conv.shape[0],
    )


def clip_arch(clip: nn.Module) -> CLIPArch:
    """The :class:`CLIPArch` of built towers: an open_clip CLIP, or a video classifier that
    holds them. Sizes come from the weights, activation, heads and norm from the modules, the
    normalisation and source from what open_clip (or :func:`build_clip`) recorded on the
    image tower."""
    vision_block, text_block = clip.visual.transformer.resblocks[0], clip.transformer.resblocks[0]
    recorded = getattr(clip.visual, "preprocess_cfg", {})
    return infer_clip_arch(
        clip.state_dict(),
        CLIPArch(
            activation=_activation_name(vision_block.mlp.gelu),
            vision_head_width=vision_block.attn.embed_dim // vision_block.attn.num_heads,
            text_head_width=text_block.attn.embed_dim // text_block.attn.num_heads,
            norm_eps=clip.ln_final.eps,
            mean=tuple(recorded.get("mean", CLIP_MEAN)),
            std=tuple(recorded.get("std", CLIP_STD)),
            open_clip_model=getattr(clip.visual, _OPEN_CLIP_MODEL, ""),
        ),
    )


def _activation_name(module: nn.Module) -> str:
    if isinstance(module, QuickGELU):
        return "quick_gelu"
    if isinstance(module, nn.GELU) and module.approximate == "none":
        return "gelu"
    raise CheckpointError(f"CLIP towers with the activation {module!r} are not supported (QuickGELU or GELU)")


def build_clip(arch: CLIPArch) -> CLIP:
    """A randomly initialised fp32 open_clip CLIP of the given architecture (argmax text
    pooling, class-token image pooling), with its normalisation and source recorded on the
    image tower as open_clip records them."""
    norm = {"eps": arch.norm_eps}
    vision = CLIPVisionCfg(
        layers=arch.vision_layers,
        width=arch.vision_width,
        head_width=arch.vision_head_width,
        mlp_ratio=arch.vision_mlp_ratio,
        patch_size=arch.patch_size,
        image_size=arch.image_size,
        norm_kwargs=norm,
    )
    text = CLIPTextCfg(
        context_length=arch.context_length,
        vocab_size=arch.vocab_size,
        width=arch.text_width,
        heads=max(1, arch.text_width // arch.text_head_width),
        layers=arch.text_layers,
        norm_kwargs=norm,
    )
    model = CLIP(arch.embed_dim, vision_cfg=vision, text_cfg=text, quick_gelu=arch.activation == "quick_gelu")
    set_model_preprocess_cfg(model, {"size": arch.image_size, "mean": arch.mean, "std": arch.std})
    setattr(model.visual, _OPEN_CLIP_MODEL, arch.open_clip_model)
    return model


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


def create_clip(
    source: str | Path | Mapping[str, torch.Tensor] | CLIPArch | None = None, like: CLIPArch = CLIPArch()
) -> CLIP:
    """Build a CLIP from ``source``:

    - an open_clip model: ``"MODEL:TAG"`` (``"ViT-B-16:openai"``, ``"ViT-B-16:laion2b_s34b_b88k"``;
      the tag may be a weights file) or ``"hf-hub:org/repo"`` (a repository holding an
      ``open_clip_config.json``), downloaded the first time; activation, heads and
      normalisation are open_clip's;
    - an OpenAI-format state dict or weights file: the sizes are read off the tensors, the
      rest (activation, head widths, norm, normalisation) is ``like``'s, by default OpenAI's;
    - a :class:`CLIPArch` (random towers), or ``None`` (a random ViT-B/16).
    """
    if source is None or isinstance(source, CLIPArch):
        return build_clip(source or CLIPArch())
    if isinstance(source, Mapping):
        state = {k: v.float() if v.is_floating_point() else v for k, v in source.items()}
    elif isinstance(source, str) and (
        source.startswith(HF_HUB_PREFIX) or (":" in source and not Path(source).exists())
    ):
        return _open_clip_model(source)
    else:
        state = load_clip_weights(source)
    model = build_clip(infer_clip_arch(state, like))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"CLIP weights do not match the inferred architecture: missing {missing}, unexpected {unexpected}"
        )
    return model


def _open_clip_model(source: str) -> CLIP:
    """open_clip's model ``source`` (``hf-hub:org/repo``, or ``MODEL:TAG`` split at the first
    colon), checked to be towers that :func:`build_clip` rebuilds exactly from their
    :class:`CLIPArch`, so that a saved model reloads with the same outputs. A tag trained
    with QuickGELU (``openai``) gets QuickGELU towers, which open_clip only warns about."""
    name, tag = (source, None) if source.startswith(HF_HUB_PREFIX) else source.split(":", 1)
    quick_gelu = bool(tag and open_clip.get_pretrained_cfg(name, tag).get("quick_gelu"))
    try:
        model = open_clip.create_model(name, pretrained=tag, precision="fp32", force_quick_gelu=quick_gelu)
    except (RuntimeError, OSError, ValueError) as err:
        reason = " ".join(str(err).split())[:300]
        raise CheckpointError(f"{source}: open_clip cannot create this CLIP ({reason})") from None
    if not isinstance(model, CLIP) or not hasattr(model.visual, "conv1"):
        raise CheckpointError(f"{source}: DiST needs a ViT CLIP with a separate text tower")
    setattr(model.visual, _OPEN_CLIP_MODEL, source)
    arch = clip_arch(model)
    with torch.device("meta"):
        rebuilt = build_clip(arch)
    for facet, read in _TOWER_FACETS.items():
        if read(model) != read(rebuilt):
            raise CheckpointError(
                f"{source}: these CLIP towers differ from the OpenAI layout DiST rebuilds ({facet}); not supported"
            )
    return model


# What must agree between open_clip's towers and those build_clip makes from their CLIPArch.
_TOWER_FACETS: dict[str, Callable[[CLIP], object]] = {
    "modules": repr,
    "weight shapes": lambda m: [(k, tuple(v.shape)) for k, v in m.state_dict().items()],
    "attention heads": lambda m: [
        b.attn.num_heads for b in (*m.visual.transformer.resblocks, *m.transformer.resblocks)
    ],
    "pooling": lambda m: (m.visual.pool_type, m.visual.final_ln_after_pool, m.text_pool_type, m.attn_mask is None),
}


def compile_vit_mlps(visual: nn.Module) -> None:
    """``torch.compile`` the MLP of each block of an image tower: its activation then runs
    fused with the linear's bias instead of as three passes over the (frames, tokens, 4W)
    hidden state. The blocks' attention is left alone: compiling whole blocks loses torch's
    fused attention fast path and was slower (ViT-B/16 DiST training step, fp32, 2 threads:
    whole blocks 2.38 s, MLPs only 1.72 s, eager 1.82-1.90 s; the outputs are identical)."""
    for block in visual.transformer.resblocks:
        block.mlp.compile()


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
