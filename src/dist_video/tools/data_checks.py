"""Data-set checks: find the unusable videos of a data set (``check-data``), and measure
the training loader's speed (``bench-data``)."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from tqdm import tqdm

from ..data.config import DataConfig
from ..data.datasets import build_dataset, read_annotations
from ..data.decode import DecodeError, open_video
from ..data.loader import build_loader, keep_freed_memory
from ..errors import DataError

__all__ = ["bench_data", "check_data", "probe_video"]


def probe_video(path: str, min_frames: int = 1, backend: str = "auto") -> str | None:
    """Why ``path`` is unusable (unreadable, or shorter than ``min_frames``), or None.

    Opens the video (exact frame count) and decodes its first, middle and last frames.
    """
    try:
        with open_video(path, backend) as video:
            count = video.info.num_frames
            video.read(sorted({0, count // 2, count - 1}))
    except DecodeError as error:
        return f"unreadable: {error.reason}"
    if count < min_frames:
        return f"too short: {count} frames, fewer than {min_frames}"
    return None


def _probe(args: tuple[str, int, str]) -> str | None:
    return probe_video(*args)


def check_data(
    cfg: DataConfig,
    splits: Sequence[str],
    out: str | Path,
    workers: int = 1,
    progress: bool = True,
) -> dict[str, int]:
    """Probe every video of ``splits`` once, in ``workers`` processes, and write the
    unusable ones (missing, unreadable, fewer than ``cfg.num_frames`` frames) to the TSV
    file ``out`` (columns ``path``, ``reason``, ``splits``), each video once even when
    several splits list it. Returns the counts per kind, over distinct videos."""
    splits_of: dict[str, list[str]] = {}
    missing: set[str] = set()
    for split in splits:
        annotations = read_annotations(cfg, split)
        for record in [*annotations.records, *annotations.missing]:
            splits_of.setdefault(record.path, []).append(split)
        missing.update(record.path for record in annotations.missing)
    paths = [path for path in splits_of if path not in missing]
    jobs = [(path, cfg.num_frames, cfg.decoder) for path in paths]
    with ProcessPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        reasons = pool.map(_probe, jobs, chunksize=16) if pool else map(_probe, jobs)
        reasons = list(tqdm(reasons, total=len(jobs), desc=f"check {', '.join(splits)}", disable=not progress))
    bad = [(path, "missing") for path in splits_of if path in missing]
    bad += [(path, reason) for path, reason in zip(paths, reasons) if reason is not None]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "path\treason\tsplits\n"
        + "".join(f"{path}\t{reason}\t{','.join(dict.fromkeys(splits_of[path]))}\n" for path, reason in bad)
    )
    kinds = [reason.split(":")[0] for _, reason in bad]
    return {
        "videos": len(splits_of),
        "ok": len(splits_of) - len(bad),
        "missing": kinds.count("missing"),
        "unreadable": kinds.count("unreadable"),
        "too_short": kinds.count("too short"),
    }


def bench_data(
    cfg: DataConfig,
    split: str | None = None,
    clips: int = 64,
    workers: int = 0,
    batch_size: int = 8,
    seed: int = 0,
    threads: int | None = 1,
) -> dict:
    """Speed of the training pipeline of ``split``: decoding and transform time per clip,
    measured in this process, and clips/s through :func:`build_loader` with ``workers``
    (timed from the first batch, so worker start-up is left out).

    The in-process timing runs as a loader worker does: ``threads`` torch (and decoder)
    threads, by default one (None keeps torch's setting), and malloc keeping freed
    buffers (:func:`~dist_video.data.loader.keep_freed_memory`).
    """
    split = split or cfg.train_split
    if threads is not None:
        torch.set_num_threads(threads)
    keep_freed_memory()
    dataset = build_dataset(cfg, split, train=True)
    decode_s = transform_s = 0.0
    measured = 0
    for i in range(clips):
        rng = random.Random(seed + i)
        start = time.perf_counter()
        try:
            frames = dataset.decode_clip(i % dataset.num_videos, rng=rng)
        except DecodeError:
            dataset.decode_failures += 1
            continue
        decoded = time.perf_counter()
        dataset.transform(frames, rng)
        decode_s += decoded - start
        transform_s += time.perf_counter() - decoded
        measured += 1
    if measured == 0:
        raise DataError(f"none of the first {clips} clips of split {split!r} could be decoded")

    batch_size = min(batch_size, dataset.num_videos, clips)
    loader = build_loader(dataset, batch_size, train=True, seed=seed, num_workers=workers, persistent_workers=False)
    loaded, epoch, first, start = 0, 0, None, time.perf_counter()
    while loaded < clips:
        loader.sampler.set_epoch(epoch)
        epoch += 1
        for batch in loader:
            loaded += len(batch["label"])
            if first is None:
                first = (time.perf_counter(), loaded)
            if loaded >= clips:
                break
    end = time.perf_counter()
    # rate after the first batch, which also carries the workers' start-up
    clips_per_s = (loaded - first[1]) / (end - first[0]) if loaded > first[1] else loaded / (end - start)
    decode_per_clip, transform_per_clip = decode_s / measured, transform_s / measured
    return {
        "clips_per_s": round(clips_per_s, 2),
        "decode_s_per_clip": round(decode_per_clip, 5),
        "transform_s_per_clip": round(transform_per_clip, 5),
        "decode_share": round(decode_per_clip / (decode_per_clip + transform_per_clip), 3),
        "backend": ",".join(sorted(dataset.backends)) or cfg.decoder,
        "num_frames": cfg.num_frames,
        "crop_size": cfg.train_crop_size,
        "sampling": cfg.sampling,
        "split": split,
        "clips": clips,
        "workers": workers,
        "batch_size": batch_size,
        "torch_threads": torch.get_num_threads(),
        "decode_failures": dataset.decode_failures,
    }
