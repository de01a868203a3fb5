"""Segment- and interval-based frame sampling, against the release's index arithmetic."""

import random

import pytest

from dist_video.data import FrameSampler, interval_indices, segment_indices

from video_factory import one_torch_thread  # noqa: F401 (autouse fixture)


def test_segment_training_takes_one_frame_per_segment():
    rng = random.Random(0)
    draws = [segment_indices(80, 8, rng=rng) for _ in range(200)]
    for indices in draws:
        # segment i spans [10 i, 10 i + 10]; rounding may land on its upper bound
        assert all(10 * i <= index <= 10 * i + 10 for i, index in enumerate(indices))
    # every position of a segment is drawn sometime
    assert {indices[3] for indices in draws} == set(range(30, 41))


def test_segment_training_is_a_function_of_the_rng():
    assert segment_indices(57, 16, rng=random.Random(5)) == segment_indices(57, 16, rng=random.Random(5))
    assert segment_indices(57, 16, rng=random.Random(5)) != segment_indices(57, 16, rng=random.Random(6))


def test_segment_test_views_as_the_release():
    # 48 frames, 16 segments of 3: view v of 3 sits at start + 3 (v + 1) / 3
    assert segment_indices(48, 16, view=0, num_views=3) == [3 * i + 1 for i in range(16)]
    assert segment_indices(48, 16, view=1, num_views=3) == [3 * i + 2 for i in range(16)]
    assert segment_indices(48, 16, view=2, num_views=3) == [3 * i + 3 for i in range(15)] + [47]
    # one view: segment centres (3 i + 1.5), rounded half to even as torch.round does
    assert segment_indices(48, 16, view=0, num_views=1) == [round(3 * i + 1.5) for i in range(16)]
    assert segment_indices(16, 16, view=0, num_views=1) == [0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14, 15]


def test_segment_short_video_repeats_frames():
    indices = segment_indices(5, 16, view=1, num_views=3)
    assert len(indices) == 16 and indices == sorted(indices)
    assert set(indices) <= set(range(5)) and max(indices) == 4
    train = segment_indices(5, 16, rng=random.Random(1))
    assert len(train) == 16 and set(train) <= set(range(5))
    assert segment_indices(1, 8, rng=random.Random(0)) == [0] * 8


def test_interval_test_views_as_the_release():
    # window 8 x 4 = 32 frames of 100; views start at (100 - 32) v / 3
    assert interval_indices(100, 8, 4, view=0, num_views=3) == [0, 4, 8, 13, 17, 22, 26, 31]
    assert interval_indices(100, 8, 4, view=1, num_views=3)[0] == 22  # 68 / 3 = 22.67, truncated
    assert interval_indices(100, 8, 4, view=0, num_views=1)[0] == 34  # middle window
    # the window is read at linspace(start, start + 31, 8): steps of 31 / 7, truncated
    assert interval_indices(32, 8, 4, view=0, num_views=1) == [int(k * 31 / 7) for k in range(8)]


def test_interval_target_fps_scales_the_window():
    # 8 frames every 2nd at 15 fps from a 30 fps video: a window of 32 video frames
    # (84 to 115, read every 31 / 7 frames) instead of 16
    assert interval_indices(200, 8, 2, video_fps=30, target_fps=15, view=0, num_views=1)[:3] == [84, 88, 92]
    assert interval_indices(200, 8, 2, view=0, num_views=1)[:3] == [92, 94, 96]


def test_interval_training_random_start_and_short_videos():
    rng = random.Random(0)
    starts = {interval_indices(100, 8, 4, rng=rng)[0] for _ in range(300)}
    assert min(starts) <= 3 and max(starts) >= 64 and max(starts) <= 68
    # a video shorter than the window: start 0, the tail clamped to the last frame
    assert interval_indices(10, 8, 4, rng=random.Random(0)) == [0, 4, 8, 9, 9, 9, 9, 9]


def test_frame_sampler_dispatch():
    assert FrameSampler("segment", 8)(80, 25.0, view=0, num_views=1) == segment_indices(80, 8, 0, 1)
    assert FrameSampler("interval", 8, 4)(80, 25.0, view=0, num_views=1) == interval_indices(80, 8, 4, 25.0, None, 0, 1)
    with pytest.raises(ValueError):
        segment_indices(0, 8, view=0)
