"""Small test videos whose frames encode their own index, written with PyAV.

Each frame is split into ``BITS`` vertical stripes; stripe ``b`` is white when bit ``b``
of the frame index is set and black otherwise. Black/white stripes many pixels wide
survive lossy H.264 / VP9 compression, so :func:`frame_index` reads the index back from
a decoded frame exactly.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

BITS = 8  # up to 256 frames

# codec name, container options, codec options per extension; fast settings keep tests quick
CODECS = {
    ".mp4": ("libx264", {"preset": "ultrafast", "bf": "2", "crf": "23"}),  # B-frames: pts != dts order
    ".webm": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "crf": "30", "b": "0"}),
}


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
