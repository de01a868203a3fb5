"""Frame-exact video decoding with decord, or PyAV as a fallback.

Frames are numbered 0, 1, ... in presentation order, and ``num_frames`` is the number of
frames the decoder actually delivers, not the container's estimate (WebM files carry no
frame count, and a duration times a rate is only an estimate). Every failure to read a
file (missing, empty, not a video, truncated, undecodable) raises :class:`DecodeError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np
import torch

from ..errors import UserError

try:
    import decord
except ImportError:  # decord has wheels for x86-64 only
    decord = None
else:
    decord.logging.set_level(decord.logging.QUIET)

__all__ = ["BACKENDS", "DecodeError", "Video", "VideoInfo", "num_frames", "open_video", "read_frames", "video_info"]

BACKENDS = ("auto", "decord", "pyav")

# A file is called truncated when it holds fewer frames than its header's duration
# announces, by more than this many frames or this fraction of them.
_TRUNCATION_FRAMES = 2
_TRUNCATION_FRACTION = 0.05


class DecodeError(UserError, RuntimeError):
    """A video file could not be read; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class VideoInfo:
    """What a decoder reports about a video: exact frame count, mean frame rate, size."""

    num_frames: int
    fps: float
    width: int
    height: int


def _threads() -> int:
    # Decode with as many threads as torch may use: DataLoader workers are set to one,
    # so that they do not oversubscribe the cores.
    return torch.get_num_threads()


def _message(error: Exception) -> str:
    """An FFmpeg error's own text, without the file name PyAV appends."""
    return getattr(error, "strerror", None) or str(error)


def _probe(path: str) -> tuple[int | None, float, int, int]:
    """Header facts from PyAV: (frames the duration announces or None, fps, width, height)."""
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise DecodeError(path, "no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / av.time_base
            else:
                seconds = None
            announced = round(seconds * fps) if seconds and fps else None
            return announced, fps, stream.codec_context.width, stream.codec_context.height
    except (av.FFmpegError, OSError) as err:
        raise DecodeError(path, f"not a readable video ({_message(err)})") from err


def _check_complete(path: str, counted: int, announced: int | None) -> None:
    if counted == 0:
        raise DecodeError(path, "no video frames")
    if announced is not None:
        missing = announced - counted
        if missing > max(_TRUNCATION_FRAMES, _TRUNCATION_FRACTION * announced):
            raise DecodeError(path, f"truncated: the header announces {announced} frames, {counted} are present")


def _unique_sorted(indices: Sequence[int], count: int, path: str) -> tuple[list[int], list[int]]:
    """Sorted distinct indices, and for each requested index its position among them."""
    wanted = [int(i) for i in indices]
    bad = [i for i in wanted if not 0 <= i < count]
    if bad:
        raise IndexError(f"{path}: frame indices {bad[:5]} out of range for a video of {count} frames")
    unique = sorted(set(wanted))
    position = {index: k for k, index in enumerate(unique)}
    return unique, [position[i] for i in wanted]


class Video:
    """An open video file: ``info`` (exact frame count, fps, size) and :meth:`read`.

    Use :func:`open_video` to make one; it is a context manager.
    """

    backend: str
    info: VideoInfo

    def __init__(self, path: str):
        self.path = path

    def read(self, indices: Sequence[int]) -> torch.Tensor:
        """Frames ``indices`` (0-based, any order, repeats allowed) as uint8 ``(N, H, W, 3)``."""
        if len(indices) == 0:
            return torch.empty((0, self.info.height, self.info.width, 3), dtype=torch.uint8)
        unique, order = _unique_sorted(indices, self.info.num_frames, self.path)
        frames = self._read_sorted(unique)
        return torch.from_numpy(frames[order] if order != list(range(len(unique))) else frames)

    def _read_sorted(self, indices: list[int]) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Video:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _DecordVideo(Video):
    backend = "decord"

    def __init__(self, path: str):
        super().__init__(path)
        announced, _, width, height = _probe(path)
        try:
            self._reader = decord.VideoReader(path, num_threads=_threads())
            count, fps = len(self._reader), float(self._reader.get_avg_fps())
        except decord.DECORDError as err:
            raise DecodeError(path, f"decord cannot open it ({str(err).splitlines()[0][:200]})") from err
        _check_complete(path, count, announced)
        self.info = VideoInfo(count, fps, width, height)

    def _read_sorted(self, indices: list[int]) -> np.ndarray:
        try:
            return self._reader.get_batch(indices).asnumpy()
        except decord.DECORDError as err:
            raise DecodeError(
                self.path, f"decord failed on frames {indices[0]}..{indices[-1]} ({str(err).splitlines()[0][:200]})"
            ) from err

    def close(self) -> None:
        self._reader = None


class _PyAVVideo(Video):
    """PyAV backend: counts packets for the frame count, decodes sequentially to read.

    Sequential decoding from the start is slower than seeking for frames late in long
    videos, but it is exact whatever the container's timestamps look like.
    """

    backend = "pyav"

    def __init__(self, path: str):
        super().__init__(path)
        announced, fps, width, height = _probe(path)
        try:
            with av.open(path) as container:
                stream = container.streams.video[0]
                # one packet per frame for H.264, VP8/9 (hidden frames ride in superframes)
                count = sum(1 for packet in container.demux(stream) if packet.size > 0)
        except (av.FFmpegError, OSError) as err:
            raise DecodeError(path, f"cannot demux it ({_message(err)})") from err
        _check_complete(path, count, announced)
        self.info = VideoInfo(count, fps, width, height)

    def _read_sorted(self, indices: list[int]) -> np.ndarray:
        wanted, frames, last, position = set(indices), [], indices[-1], -1
        try:
            with av.open(self.path) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                stream.thread_count = _threads()
                for position, frame in enumerate(container.decode(stream)):
                    if position in wanted:
                        frames.append(frame.to_ndarray(format="rgb24"))
                    if position == last:
                        break
        except (av.FFmpegError, OSError) as err:
            raise DecodeError(self.path, f"decoding failed ({_message(err)})") from err
        if len(frames) != len(indices):
            raise DecodeError(self.path, f"only {position + 1} frames decodable, frame {last} requested")
        return np.stack(frames)


class _FallbackVideo(Video):
    """decord, retried with PyAV when decord fails to read frames (``backend="auto"``)."""

    def __init__(self, video: _DecordVideo):
        super().__init__(video.path)
        self._video, self.info, self.backend = video, video.info, video.backend

    def _read_sorted(self, indices: list[int]) -> np.ndarray:
        try:
            return self._video._read_sorted(indices)
        except DecodeError as first:
            self._video.close()
            self._video = _PyAVVideo(self.path)
            self.backend = "pyav"
            try:
                return self._video._read_sorted(indices)
            except DecodeError as second:
                raise _both_failed(first, second) from second

    def close(self) -> None:
        self._video.close()


def _both_failed(first: DecodeError, second: DecodeError) -> DecodeError:
    if first.reason == second.reason:
        return second
    return DecodeError(second.path, f"{first.reason}; PyAV: {second.reason}")


def open_video(path: str | os.PathLike, backend: str = "auto") -> Video:
    """Open ``path`` for frame-exact reading.

    ``backend``: ``"decord"``, ``"pyav"``, or ``"auto"`` (decord when installed, PyAV when
    decord cannot open or read the file). Raises :class:`DecodeError` for a missing, empty,
    truncated or undecodable file.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DecodeError(path, "a folder, not a video file" if os.path.isdir(path) else "no such file")
    if os.path.getsize(path) == 0:
        raise DecodeError(path, "empty file")
    if backend == "decord" and decord is None:
        raise DecodeError(path, "decord is not installed")
    if backend == "pyav" or decord is None:
        return _PyAVVideo(path)
    if backend == "decord":
        return _DecordVideo(path)
    try:
        return _FallbackVideo(_DecordVideo(path))
    except DecodeError as first:
        try:
            return _PyAVVideo(path)
        except DecodeError as second:
            raise _both_failed(first, second) from second


def read_frames(path: str | os.PathLike, indices: Sequence[int], backend: str = "auto") -> torch.Tensor:
    """Frames ``indices`` of a video (0-based, presentation order, any order, repeats
    allowed) as a uint8 tensor ``(len(indices), H, W, 3)``.

    Raises :class:`DecodeError` when the file cannot be read and ``IndexError`` for an
    index outside ``[0, num_frames)``.
    """
    with open_video(path, backend) as video:
        return video.read(indices)


def video_info(path: str | os.PathLike, backend: str = "auto") -> VideoInfo:
    """Exact frame count, mean fps and size of a video."""
    with open_video(path, backend) as video:
        return video.info


def num_frames(path: str | os.PathLike, backend: str = "auto") -> int:
    """Exact number of decodable frames of a video."""
    return video_info(path, backend).num_frames
