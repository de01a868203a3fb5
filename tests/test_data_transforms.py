"""Clip transforms, the flip label swap, and Mixup / CutMix."""

import random

import pytest
import torch
import torchvision.transforms.v2.functional as F

from dist_video.constants import CLIP_MEAN, CLIP_STD
from dist_video.data import (
    EvalTransform,
    MixupCutmix,
    TrainTransform,
    flip_label_map,
    smooth_one_hot,
)
from dist_video.data.transforms import (
    color_matrix,
    hue_rotation,
    normalize_clip,
    random_resized_crop_box,
    to_float,
)

from video_factory import one_torch_thread  # noqa: F401 (autouse fixture)

NO_COLOR = dict(brightness=0, contrast=0, saturation=0, hue=0, grayscale_prob=0)


def gradient_clip(frames=4, height=120, width=160):
    """uint8 (T, H, W, 3): red = column, green = row, blue = frame number."""
    x = torch.arange(width).view(1, 1, width).expand(frames, height, width)
    y = torch.arange(height).view(1, height, 1).expand(frames, height, width)
    t = torch.arange(frames).view(frames, 1, 1).expand(frames, height, width) * 40
    return torch.stack([x, y, t], dim=-1).to(torch.uint8)


def denormalize(video):
    mean, std = torch.tensor(CLIP_MEAN).view(3, 1, 1, 1), torch.tensor(CLIP_STD).view(3, 1, 1, 1)
    return (video * std + mean) * 255


def test_train_transform_output_and_one_draw_per_clip():
    frames = gradient_clip()
    video, _ = TrainTransform(crop_size=64)(frames, random.Random(0))
    assert video.shape == (3, 4, 64, 64) and video.dtype == torch.float32 and video.is_contiguous()
    # the same crop, flip and colours for every frame: frames differ only where their input did
    for seed in range(10):
        video, _ = TrainTransform(crop_size=64, **NO_COLOR)(frames, random.Random(seed))
        pixels = denormalize(video)
        assert torch.allclose(pixels[0, 0], pixels[0, 3], atol=0.5)  # red: same columns in every frame
        assert (pixels[2, 3] - pixels[2, 0]).mean() > 100  # blue still tells the frames apart
        colored, _ = TrainTransform(crop_size=64)(frames, random.Random(seed))
        difference = denormalize(colored)[:, 1:] - denormalize(colored)[:, :1]
        assert difference[:2].abs().max() < 60  # R and G move together frame to frame


def test_train_transform_is_a_function_of_the_rng():
    frames = gradient_clip()
    a, flip_a = TrainTransform(crop_size=32)(frames, random.Random(3))
    b, flip_b = TrainTransform(crop_size=32)(frames, random.Random(3))
    c, _ = TrainTransform(crop_size=32)(frames, random.Random(4))
    assert torch.equal(a, b) and flip_a == flip_b and not torch.equal(a, c)


def test_flip_mirrors_the_clip():
    frames = gradient_clip()
    flips = []
    for seed in range(20):
        video, flipped = TrainTransform(crop_size=32, scale=(1.0, 1.0), ratio=(4 / 3, 4 / 3), **NO_COLOR)(
            frames, random.Random(seed)
        )
        red = denormalize(video)[0, 0, 16]
        assert (red[-1] < red[0]) == flipped  # columns run right to left after a flip
        flips.append(flipped)
    assert 0 < sum(flips) < 20
    _, flipped = TrainTransform(crop_size=32, flip_prob=0.0)(frames, random.Random(0))
    assert not flipped


def test_random_resized_crop_box_bounds():
    rng = random.Random(0)
    for _ in range(200):
        top, left, h, w = random_resized_crop_box(120, 160, (0.4, 1.0), (3 / 4, 4 / 3), rng)
        assert 0 <= top and top + h <= 120 and 0 <= left and left + w <= 160
        assert 0.4 * 0.95 <= h * w / (120 * 160) <= 1.0
        assert 3 / 4 * 0.95 <= w / h <= 4 / 3 * 1.05


@pytest.mark.parametrize("name", ["brightness", "contrast", "saturation", "grayscale"])
def test_color_matrix_matches_torchvision(name):
    frames = torch.randint(0, 256, (1, 3, 24, 32), dtype=torch.uint8)
    mean_rgb = frames.float().mean(dim=(0, 2, 3)) / 255
    options = dict(NO_COLOR, **({"grayscale_prob": 1.0} if name == "grayscale" else {name: 0.4}))
    matrix, offset = color_matrix(mean_rgb, random.Random(0), **options)
    rng = random.Random(0)
    rng.random(), rng.random()  # the grayscale and jitter-probability draws
    factor = rng.uniform(0.6, 1.4)
    image = frames.float() / 255
    expected = {
        "brightness": lambda: F.adjust_brightness(image, factor),
        "contrast": lambda: F.adjust_contrast(image, factor),
        "saturation": lambda: F.adjust_saturation(image, factor),
        "grayscale": lambda: F.rgb_to_grayscale(image, num_output_channels=3),
    }[name]()
    mine = normalize_clip(to_float(frames), (0, 0, 0), (1, 1, 1), matrix, offset)
    assert torch.allclose(mine, expected.permute(1, 0, 2, 3), atol=1e-5)


def test_hue_rotation_approximates_hsv_hue_shift():
    colours = torch.rand(3, 500, 1, generator=torch.Generator().manual_seed(0))
    for shift in (0.1, -0.1, 1 / 3):
        mine = (hue_rotation(shift) @ colours.view(3, -1)).clamp(0, 1)
        hsv = F.adjust_hue(colours, shift).view(3, -1)
        unchanged = (colours.view(3, -1) - hsv).abs().mean()
        assert (mine - hsv).abs().mean() < 0.7 * unchanged  # closer to HSV's result than no shift
    assert torch.allclose(hue_rotation(1 / 3) @ torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)
    grey = torch.full((3,), 0.4)
    assert torch.allclose(hue_rotation(0.07) @ grey, grey, atol=1e-6)


def test_eval_transform_crops():
    frames = gradient_clip(height=120, width=240)  # landscape: short side 120
    centre = denormalize(EvalTransform(scale=60, crop_size=60)(frames))
    assert centre.shape == (3, 4, 60, 60)
    three = EvalTransform(scale=60, crop_size=60, num_crops=3)
    left, middle, right = (denormalize(three(frames, crop))[0, 0, 30] for crop in range(3))
    # resized to 60x120: crops start at columns 0, 30, 60 (of 120), i.e. 0, 60, 120 of the original
    assert left[0] < 4 and abs(middle[0] - 60) < 4 and abs(right[0] - 120) < 4
    assert torch.allclose(middle, denormalize(EvalTransform(scale=60, crop_size=60)(frames))[0, 0, 30], atol=1e-3)
    portrait = denormalize(three(gradient_clip(height=240, width=120), 2))
    assert abs(portrait[1, 0, 0, 30] - 120) < 4  # crops move down the long side
    # normalisation: (x / 255 - mean) / std
    flat = torch.full((2, 8, 8, 3), 255, dtype=torch.uint8)
    out = EvalTransform(scale=8, crop_size=8)(flat)
    assert torch.allclose(out[:, 0, 0, 0], (1 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD), atol=1e-5)


SSV2_SOME_NAMES = {
    86: "Pulling something from left to right",
    87: "Pulling something from right to left",
    93: "Pushing something from left to right",
    94: "Pushing something from right to left",
    166: "Turning the camera left while filming something",
    167: "Turning the camera right while filming something",
    0: "Approaching something with your camera",
    40: "Moving something down",
    41: "Moving something up",
    95: "Pushing something off of something",
    168: "Turning the camera upwards while filming something",
    165: "Turning the camera downwards while filming something",
    100: "Putting something on the edge of something so it is not supported and falls down",
}


def test_flip_label_map_on_ssv2_names():
    names = [SSV2_SOME_NAMES.get(i, f"filler class {i}") for i in range(174)]
    assert flip_label_map(names) == {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
    assert flip_label_map(["Moving something from left to right", "Moving something up"]) == {}
    assert flip_label_map(["brightly lit", "turning left", "turning right"]) == {1: 2, 2: 1}
    rotations = ["Turning something clockwise", "Turning something counterclockwise", "Left behind", "Right behind"]
    assert flip_label_map(rotations) == {0: 1, 1: 0, 2: 3, 3: 2}


def test_smooth_one_hot():
    targets = smooth_one_hot(torch.tensor([2, 0]), 4, 0.1)
    assert torch.allclose(targets.sum(1), torch.ones(2))
    assert targets[0, 2] == pytest.approx(0.925) and targets[0, 0] == pytest.approx(0.025)
    assert torch.equal(smooth_one_hot(torch.tensor([1]), 3), torch.tensor([[0.0, 1.0, 0.0]]))


def test_mixup_mixes_clips_and_targets():
    video = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1, 1).expand(4, 3, 5, 8, 8).contiguous()
    labels = torch.tensor([0, 1, 2, 3])
    mixed, targets = MixupCutmix(4, mixup_alpha=0.8, cutmix_alpha=0.0, label_smoothing=0.1, seed=0)(video, labels)
    assert torch.allclose(targets.sum(1), torch.ones(4))
    own = targets[torch.arange(4), labels]
    mirrored = targets[torch.arange(4), labels.flip(0)]
    lam = (own - 0.025) / 0.9  # targets: lam * (smoothed own) + (1 - lam) * (smoothed mirror)
    assert torch.allclose(lam + (mirrored - 0.025) / 0.9, torch.ones(4), atol=1e-5)
    assert torch.allclose(mixed[:, 0, 0, 0, 0], lam * video[:, 0, 0, 0, 0] + (1 - lam) * video.flip(0)[:, 0, 0, 0, 0])


def test_cutmix_box_spans_all_frames():
    batch, frames, size = 4, 6, 16
    video = torch.arange(batch, dtype=torch.float32).view(batch, 1, 1, 1, 1).expand(batch, 3, frames, size, size)
    labels = torch.tensor([0, 1, 2, 3])
    mix = MixupCutmix(4, mixup_alpha=0.0, cutmix_alpha=1.0, label_smoothing=0.0, seed=1)
    for _ in range(10):
        mixed, targets = mix(video, labels)
        pasted = mixed != video  # where a clip shows its mirror partner
        assert torch.equal(pasted[:, :, :1].expand_as(pasted), pasted)  # the same box in every frame
        assert torch.equal(pasted[:, :1].expand_as(pasted), pasted)  # and every channel
        area = pasted[0, 0, 0].float().mean()
        assert 0 < area < 1
        assert torch.allclose(targets.sum(1), torch.ones(4))
        assert targets[0, 0] == pytest.approx(1 - area.item()) and targets[0, 3] == pytest.approx(area.item())
    assert torch.equal(video[:, 0, 0, 0, 0], torch.arange(4.0))  # the input is left as it was
    with pytest.raises(ValueError):
        mix(video[:, :, 0], labels)


def test_no_mixing_only_smooths():
    video = torch.randn(2, 3, 2, 4, 4)
    mixed, targets = MixupCutmix(5, 0.0, 0.0, label_smoothing=0.1)(video, torch.tensor([1, 4]))
    assert torch.equal(mixed, video)
    assert torch.allclose(targets, smooth_one_hot(torch.tensor([1, 4]), 5, 0.1))
