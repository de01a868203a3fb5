"""Clip transforms: uint8 frames ``(T, H, W, 3)`` in, normalised float ``(3, T, H, W)`` out.

Geometry (crop, resize, flip) runs on uint8 with torchvision's v2 functional ops, before
the conversion to float, where it is cheapest. Every random draw is made once per clip
(all frames get the same crop, flip and colours) from an explicit ``random.Random``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import torch
import torchvision.transforms.v2.functional as F

from ..constants import CLIP_MEAN, CLIP_STD

__all__ = [
    "EvalTransform",
    "TrainTransform",
    "color_matrix",
    "hue_rotation",
    "normalize_clip",
    "random_resized_crop_box",
    "to_float",
]


# ITU-R 601 luma weights, as torchvision's rgb_to_grayscale
_LUMA = torch.tensor([0.2989, 0.587, 0.114])
# cross-product matrix of the grey axis (1, 1, 1) / sqrt(3), times sqrt(3)
_GREY_CROSS = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])


def hue_rotation(shift: float) -> torch.Tensor:
    """3x3 rotation of RGB about the grey axis by ``shift`` turns: a linear stand-in for
    HSV's hue shift (the same direction; equal to it at multiples of 1/3 turn)."""
    angle = 2 * math.pi * shift
    return (
        math.cos(angle) * torch.eye(3)
        + (1 - math.cos(angle)) / 3 * torch.ones(3, 3)
        + math.sin(angle) / math.sqrt(3) * _GREY_CROSS
    )


def _as_tchw(frames: torch.Tensor) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 frames as a ``(T, 3, H, W)`` view (channels-last memory, which
    torchvision's uint8 resize kernels prefer)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
        raise ValueError(f"expected uint8 frames (T, H, W, 3), got {tuple(frames.shape)} {frames.dtype}")
    return frames.permute(0, 3, 1, 2)


def to_float(video: torch.Tensor) -> torch.Tensor:
    """uint8 ``(T, 3, H, W)`` to contiguous float32 ``(3, T, H, W)``, values still 0..255."""
    return video.permute(1, 0, 2, 3).to(torch.float32, memory_format=torch.contiguous_format)


def normalize_clip(
    video: torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    matrix: torch.Tensor | None = None,
    offset: torch.Tensor | None = None,
) -> torch.Tensor:
    """Float ``(3, T, H, W)`` with values 0..255 (from :func:`to_float`) to the model's
    input: ``x / 255``, then the optional colour map ``clamp(matrix @ x + offset, 0, 1)``,
    then ``(x - mean) / std`` per channel."""
    flat = video.view(3, -1)
    mean, std = torch.tensor(mean)[:, None], torch.tensor(std)[:, None]
    if matrix is None:
        return flat.mul_(1.0 / (255.0 * std)).sub_(mean / std).view(video.shape)
    flat = torch.addmm(offset[:, None], matrix / 255.0, flat).clamp_(0.0, 1.0)
    return flat.sub_(mean).div_(std).view(video.shape)


def random_resized_crop_box(
    height: int, width: int, scale: Sequence[float], ratio: Sequence[float], rng: random.Random
) -> tuple[int, int, int, int]:
    """``(top, left, h, w)`` of a random crop covering ``scale`` of the area with aspect
    ratio in ``ratio`` (log-uniform); the Inception-style rule of torchvision's
    RandomResizedCrop, drawn from ``rng`` instead of torch's global generator."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = round(math.sqrt(target_area * aspect))
        h = round(math.sqrt(target_area / aspect))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, height - h), rng.randint(0, width - w), h, w
    # fallback: the largest centred crop with an allowed aspect ratio
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        w, h = round(height * max(ratio)), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def color_matrix(
    mean_rgb: torch.Tensor,
    rng: random.Random,
    brightness: float,
    contrast: float,
    saturation: float,
    hue: float,
    grayscale_prob: float,
    jitter_prob: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random colour jitter as one affine map ``x -> matrix @ x + offset`` on RGB in [0, 1].

    Brightness, contrast, saturation and hue are drawn once per clip and applied in a
    random order, after an optional grayscale conversion (the release's order: grayscale
    first, then the shuffled jitters). ``mean_rgb`` is the clip's mean colour, which the
    contrast blend needs.

    Why by hand: composing the four adjustments into one 3x3 map costs one pass over the
    clip instead of one pass each, and the hue shift is a rotation about the grey axis
    (:func:`hue_rotation`) instead of torchvision's HSV round trip, which takes longer
    than decoding an SSv2 clip (about 20 ms for 16 frames of 224 px on 2 cores, 80 ms on
    one). Brightness, contrast, saturation and grayscale equal torchvision's; the hue
    shift approximates HSV's; the map is clamped once at the end, where torchvision
    clamps after every step.
    """
    matrix, offset = torch.eye(3), torch.zeros(3)

    def apply(m: torch.Tensor, b: torch.Tensor | float = 0.0) -> None:
        nonlocal matrix, offset
        matrix, offset = m @ matrix, m @ offset + b

    gray = torch.ones(3, 1) * _LUMA[None, :]
    if rng.random() < grayscale_prob:
        apply(gray)
    if rng.random() < jitter_prob:
        steps = []
        if brightness > 0:
            f = rng.uniform(max(0.0, 1 - brightness), 1 + brightness)
            steps.append(lambda f=f: apply(f * torch.eye(3)))
        if contrast > 0:
            f = rng.uniform(max(0.0, 1 - contrast), 1 + contrast)
            # blend with the clip's mean grey level, computed through the map so far
            steps.append(lambda f=f: apply(f * torch.eye(3), (1 - f) * float(_LUMA @ (matrix @ mean_rgb + offset))))
        if saturation > 0:
            f = rng.uniform(max(0.0, 1 - saturation), 1 + saturation)
            steps.append(lambda f=f: apply(f * torch.eye(3) + (1 - f) * gray))
        if hue > 0:
            rotation = hue_rotation(rng.uniform(-hue, hue))
            steps.append(lambda r=rotation: apply(r))
        rng.shuffle(steps)
        for step in steps:
            step()
    return matrix, offset


class TrainTransform:
    """Training augmentation of one clip: random resized crop, horizontal flip, colour
    jitter and random grayscale (one draw per clip), then normalisation.

    ``__call__(frames, rng)`` returns ``(video (3, T, S, S) float32, flipped: bool)``; the
    dataset swaps the label of a flipped clip where the classes say left or right.
    """

    def __init__(
        self,
        crop_size: int = 224,
        scale: Sequence[float] = (0.4, 1.0),
        ratio: Sequence[float] = (3 / 4, 4 / 3),
        flip_prob: float = 0.5,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.2,
        hue: float = 0.1,
        grayscale_prob: float = 0.2,
        jitter_prob: float = 1.0,
        mean: Sequence[float] = CLIP_MEAN,
        std: Sequence[float] = CLIP_STD,
    ):
        self.crop_size = crop_size
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.flip_prob = flip_prob
        self.color = dict(
            brightness=brightness,
            contrast=contrast,
            saturation=saturation,
            hue=hue,
            grayscale_prob=grayscale_prob,
            jitter_prob=jitter_prob,
        )
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, frames: torch.Tensor, rng: random.Random) -> tuple[torch.Tensor, bool]:
        video = _as_tchw(frames)
        top, left, h, w = random_resized_crop_box(video.shape[-2], video.shape[-1], self.scale, self.ratio, rng)
        video = F.resized_crop(video, top, left, h, w, [self.crop_size, self.crop_size], antialias=True)
        flipped = rng.random() < self.flip_prob
        if flipped:
            video = F.horizontal_flip(video)
        video = to_float(video)
        mean_rgb = video.view(3, -1).mean(dim=1) / 255.0
        matrix, offset = color_matrix(mean_rgb, rng, **self.color)
        return normalize_clip(video, self.mean, self.std, matrix, offset), flipped


class EvalTransform:
    """Test-time transform: resize the short side to ``scale``, take crop ``crop`` of
    ``num_crops`` (1: centre; 3: start, centre, end along the long side), normalise.

    Crop geometry follows the release's ``KineticsResizedCrop`` (long side scaled and
    truncated to an integer; crops centred across the short side); the resize is
    antialiased, where the release's plain bilinear interpolation is not.
    """

    def __init__(
        self,
        scale: int = 224,
        crop_size: int = 224,
        num_crops: int = 1,
        mean: Sequence[float] = CLIP_MEAN,
        std: Sequence[float] = CLIP_STD,
    ):
        if num_crops not in (1, 3):
            raise ValueError(f"num_crops must be 1 or 3, got {num_crops}")
        self.scale, self.crop_size, self.num_crops = scale, crop_size, num_crops
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, frames: torch.Tensor, crop: int = 0) -> torch.Tensor:
        video = _as_tchw(frames)
        height, width = video.shape[-2:]
        if height < width:
            size = [self.scale, int(width / height * self.scale)]
        else:
            size = [int(height / width * self.scale), self.scale]
        video = F.resize(video, size, antialias=True)
        y_max, x_max = size[0] - self.crop_size, size[1] - self.crop_size
        y, x = y_max // 2, x_max // 2
        if self.num_crops == 3 and crop != 1:
            end = crop == 2
            if height < width:
                x = x_max if end else 0
            else:
                y = y_max if end else 0
        video = video[..., y : y + self.crop_size, x : x + self.crop_size]
        return normalize_clip(to_float(video), self.mean, self.std)
