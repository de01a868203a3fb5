"""Small test videos whose frames encode their own index, written with PyAV.

Each frame is split into ``BITS`` vertical stripes; stripe ``b`` is white when bit ``b``
of the frame index is set and black otherwise. Black/white stripes many pixels wide
survive lossy H.264 / VP9 compression, so :func:`frame_index` reads the index back from
a decoded frame exactly.

Import this module (PyAV) before decord: with decord's bundled FFmpeg loaded first,
PyAV's libvpx encoder fails to open ("Invalid argument"); decoding is unaffected.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch

BITS = 8  # up to 256 frames

# codec name, container options, codec options per extension; fast settings keep tests quick
CODECS = {
    ".mp4": ("libx264", {"preset": "ultrafast", "bf": "2", "crf": "23"}),  # B-frames: pts != dts order
    ".webm": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "crf": "30", "b": "0"}),
}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run a test module with one torch thread: the tensors here are small, and OpenMP
    threads waiting on each other on a busy machine cost far more than they save."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def index_frame(index: int, width: int, height: int) -> np.ndarray:
    """An RGB ``(height, width, 3)`` uint8 frame encoding ``index`` in its stripes."""
    bits = (index >> np.arange(BITS)) & 1
    columns = np.repeat(bits, -(-width // BITS))[:width] * 255
    frame = np.broadcast_to(columns[None, :, None], (height, width, 3))
    return np.ascontiguousarray(frame, dtype=np.uint8)


def frame_index(frame: np.ndarray) -> int:
    """Read back the index painted by :func:`index_frame` from a decoded ``(H, W, 3)`` frame."""
    frame = np.asarray(frame, dtype=np.float32)
    height, width = frame.shape[:2]
    stripe = width / BITS
    index = 0
    for bit in range(BITS):
        # the centre half of the stripe, away from edges blurred by compression
        x0, x1 = int(stripe * (bit + 0.25)), int(stripe * (bit + 0.75))
        if frame[height // 4 : 3 * height // 4, x0:x1].mean() > 127:
            index |= 1 << bit
    return index


def write_video(
    path: str | Path,
    num_frames: int,
    width: int = 128,
    height: int = 96,
    fps: int = 12,
    gop: int = 10,
) -> Path:
    """Write ``num_frames`` index-encoded frames to ``path`` (.mp4: H.264, .webm: VP9)."""
    path = Path(path)
    if num_frames > 1 << BITS:
        raise ValueError(f"at most {1 << BITS} frames can be encoded")
    codec, options = CODECS[path.suffix]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(index_frame(i, width, height), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def write_ssv2_dataset(root: str | Path, classes: list[str], videos: dict[str, list[tuple[str, int, int]]]) -> Path:
    """A Something-Something V2 folder: ``videos/<id>.webm``, the labels JSON and one JSON
    per split. ``videos`` maps a split file name (``train``, ``validation``) to ``(id,
    class index, frames)``; a video with 0 frames is listed but not written (missing)."""
    import json

    root = Path(root)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "something-something-v2-labels.json").write_text(json.dumps({c: str(i) for i, c in enumerate(classes)}))
    for split, items in videos.items():
        entries = []
        for video_id, label, frames in items:
            # SSv2 templates put brackets around the objects
            template = classes[label].replace("something", "[something]")
            entries.append(
                {
                    "id": video_id,
                    "label": template.replace("[something]", "a thing"),
                    "template": template,
                    "placeholders": ["a thing"],
                }
            )
            if frames:
                write_video(root / "videos" / f"{video_id}.webm", frames, width=64, height=48)
        (root / f"something-something-v2-{split}.json").write_text(json.dumps(entries))
    return root


def write_kinetics_dataset(root: str | Path, rows: dict[str, list[tuple[str, str, int, bool]]]) -> Path:
    """A Kinetics folder: ``<split>.csv`` files and ``videos/<split>/<label>/<id>_<start>_<end>.mp4``.

    ``rows`` maps a split to ``(label, youtube_id, frames, nested)``: ``nested`` puts the video
    under ``<split>/<label>/``, else directly in ``videos/``; 0 frames: listed, not written.
    """
    root = Path(root)
    for split, items in rows.items():
        lines = ["label,youtube_id,time_start,time_end,split"]
        for k, (label, youtube_id, frames, nested) in enumerate(items):
            start, end = 10 * k, 10 * k + 10
            lines.append(f'"{label}",{youtube_id},{start},{end},{split}')
            if frames:
                folder = root / "videos" / (Path(split) / label if nested else "")
                folder.mkdir(parents=True, exist_ok=True)
                write_video(folder / f"{youtube_id}_{start:06d}_{end:06d}.mp4", frames, width=64, height=48)
        (root / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return root
