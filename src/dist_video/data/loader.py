"""DataLoaders for training and evaluation, single process or distributed."""

from __future__ import annotations

import ctypes
import hashlib
import random
from collections.abc import Iterator, Sized

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

__all__ = ["SeededSampler", "ShardSampler", "build_loader", "item_seed", "keep_freed_memory"]


def item_seed(seed: int, epoch: int, index: int) -> int:
    """The 63-bit seed of item ``index`` in ``epoch`` of a run seeded with ``seed``."""
    digest = hashlib.blake2b(f"{seed}:{epoch}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class SeededSampler(Sampler):
    """Yields ``(index, item_seed(seed, epoch, index))`` for the indices of ``sampler``.

    The seed travels with the index to whichever worker loads the item, so an epoch's
    clips and augmentations depend on ``seed`` and ``epoch`` only, not on the number of
    workers, persistent worker state, or what ran before (resuming at an epoch gives
    that epoch's data). :meth:`set_epoch` also sets the wrapped sampler's epoch.
    """

    def __init__(self, sampler: Sampler[int], seed: int, epoch: int = 0):
        self.sampler, self.seed = sampler, seed
        self.set_epoch(epoch)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Set the epoch; the next pass starts at its item ``start`` (resuming mid-epoch
        without loading the items already trained on)."""
        self.epoch, self.start = epoch, start
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for position, index in enumerate(self.sampler):
            if position >= self.start:
                yield index, item_seed(self.seed, self.epoch, index)

    def __len__(self) -> int:
        return len(self.sampler)


class ShardSampler(Sampler[int]):
    """Evaluation items of process ``rank``: ``rank, rank + world_size, ...``, in order.

    Together the ranks cover every item exactly once (no padding, no drops); shard sizes
    differ by at most one, so results must be gathered by item, not by position.
    """

    def __init__(self, data: Sized | int, rank: int = 0, world_size: int = 1):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} out of range for world size {world_size}")
        self.size = data if isinstance(data, int) else len(data)
        self.rank, self.world_size = rank, world_size

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.size, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.size, self.world_size))


def keep_freed_memory() -> None:
    """Make glibc's malloc keep freed buffers of up to 32 MiB for reuse (no effect elsewhere).

    Why: by default a freed clip-sized buffer (a 16-frame clip is about 10 MB in float32)
    goes back to the OS and the next clip's buffer is page-faulted in afresh, which on
    virtual machines costs as much as the transforms themselves. Called in every loader
    worker; it changes the process's allocator, so it is not applied to the main process.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)  # the largest value glibc accepts
    libc.mallopt(m_trim_threshold, 1 << 30)


def _init_worker(worker_id: int) -> None:
    keep_freed_memory()
    # torch seeds each worker (base seed + worker id); give Python's and NumPy's global
    # generators the same seed so that any code using them in a worker is reproducible.
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def build_loader(
    dataset: Dataset,
    batch_size: int,
    train: bool,
    seed: int = 0,
    epoch: int = 0,
    num_workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool | None = None,
    persistent_workers: bool = True,
    drop_last: bool | None = None,
) -> DataLoader:
    """A DataLoader over ``dataset`` for one of ``world_size`` processes.

    Training: a :class:`~torch.utils.data.DistributedSampler` (shuffled with ``seed``,
    padded to equal shards) wrapped in :class:`SeededSampler`; call
    ``loader.sampler.set_epoch(epoch)`` before each epoch. The same ``seed`` and ``epoch``
    give the same batches, clips and augmentations. The last incomplete batch is dropped
    unless ``drop_last=False``.
    Evaluation: :class:`ShardSampler`, every item once across ranks, in order.
    Workers persist across epochs when ``num_workers > 0`` (unless ``persistent_workers``
    is False); memory is pinned when CUDA is available (unless ``pin_memory`` says).
    """
    drop_last = train if drop_last is None else drop_last
    if train:
        base = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        sampler: Sampler = SeededSampler(base, seed, epoch)
        if drop_last and len(sampler) < batch_size:
            raise ValueError(f"{len(sampler)} training items per process make no full batch of {batch_size}")
    else:
        sampler = ShardSampler(dataset, rank, world_size)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        drop_last=drop_last,
        persistent_workers=persistent_workers and num_workers > 0,
        worker_init_fn=_init_worker,
        generator=torch.Generator().manual_seed(seed + rank),
    )
