"""Samplers across ranks and reproducible, seeded loading."""

import pytest
import torch

from dist_video.data import (
    DataConfig,
    SeededSampler,
    ShardSampler,
    build_dataset,
    build_loader,
    item_seed,
)

from video_factory import one_torch_thread, write_ssv2_dataset  # noqa: F401

CLASSES = ["Pushing something from left to right", "Pushing something from right to left", "Moving something up"]


@pytest.fixture(scope="module")
def dataset_config(tmp_path_factory):
    videos = [(str(10 + i), i % 3, 12 + i) for i in range(10)]
    root = write_ssv2_dataset(tmp_path_factory.mktemp("ssv2"), CLASSES, {"train": videos, "validation": videos[:7]})
    return DataConfig(
        format="ssv2",
        root=str(root / "videos"),
        labels=str(root / "something-something-v2-labels.json"),
        annotations={
            "train": str(root / "something-something-v2-train.json"),
            "val": str(root / "something-something-v2-validation.json"),
        },
        num_frames=4,
        train_crop_size=24,
        test_scale=24,
        test_crop_size=24,
        num_temporal_views=2,
    )


def test_shard_sampler_covers_every_item_once_across_ranks():
    for size in (0, 1, 9, 10, 11):
        shards = [list(ShardSampler(size, rank, 2)) for rank in range(2)]
        assert sorted(shards[0] + shards[1]) == list(range(size))  # no duplicates, no drops
        assert [len(ShardSampler(size, rank, 2)) for rank in range(2)] == [len(s) for s in shards]
        assert abs(len(shards[0]) - len(shards[1])) <= 1
    with pytest.raises(ValueError):
        ShardSampler(5, rank=2, world_size=2)


def test_eval_loaders_of_two_ranks_cover_all_views(dataset_config):
    val = build_dataset(dataset_config, "val", train=False)
    assert len(val) == 7 * 2  # 7 videos x 2 temporal views x 1 crop
    seen = []
    for rank in range(2):
        for batch in build_loader(val, batch_size=4, train=False, rank=rank, world_size=2):
            seen += list(zip(batch["index"].tolist(), batch["view"].tolist()))
    assert sorted(seen) == [(video, view) for video in range(7) for view in range(2)]


def test_training_sampler_splits_an_epoch_across_ranks(dataset_config):
    train = build_dataset(dataset_config, "train", train=True)
    keys = [list(build_loader(train, 1, train=True, seed=3, rank=rank, world_size=2).sampler) for rank in range(2)]
    indices = [index for shard in keys for index, _ in shard]
    assert sorted(indices) == list(range(10))
    assert all(seed == item_seed(3, 0, index) for shard in keys for index, seed in shard)


def batches(loader, epoch):
    loader.sampler.set_epoch(epoch)
    return [{key: value.clone() for key, value in batch.items()} for batch in loader]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x[k], y[k]) for x, y in zip(a, b) for k in x)


def test_loader_is_reproducible_given_seed_and_epoch(dataset_config):
    train = build_dataset(dataset_config, "train", train=True)
    loader = build_loader(train, batch_size=4, train=True, seed=7)
    assert not loader.pin_memory or torch.cuda.is_available()
    epoch0, epoch1, epoch0_again = batches(loader, 0), batches(loader, 1), batches(loader, 0)
    assert len(epoch0) == 2 and epoch0[0]["video"].shape == (4, 3, 4, 24, 24)  # last partial batch dropped
    assert same(epoch0, epoch0_again)
    assert not same(epoch0, epoch1)
    fresh = build_loader(train, batch_size=4, train=True, seed=7, epoch=1)
    assert same(batches(fresh, 1), epoch1)  # resuming at an epoch gives that epoch's data
    assert not same(batches(build_loader(train, batch_size=4, train=True, seed=8), 0), epoch0)


def test_worker_processes_load_the_same_batches(dataset_config):
    train = build_dataset(dataset_config, "train", train=True)
    reference = batches(build_loader(train, batch_size=4, train=True, seed=5), 2)
    loader = build_loader(train, batch_size=4, train=True, seed=5, num_workers=2)
    assert loader.persistent_workers
    assert same(batches(loader, 2), reference)
    assert not same(batches(loader, 3), reference)


def test_seeded_sampler_forwards_the_epoch():
    class Recorder(list):
        def set_epoch(self, epoch):
            self.epoch = epoch

    inner = Recorder([4, 2])
    sampler = SeededSampler(inner, seed=1)
    sampler.set_epoch(6)
    assert inner.epoch == 6 and list(sampler) == [(4, item_seed(1, 6, 4)), (2, item_seed(1, 6, 2))]
    assert item_seed(1, 6, 4) != item_seed(1, 7, 4) and 0 <= item_seed(1, 6, 4) < 2**63


def test_too_small_for_a_batch(dataset_config):
    train = build_dataset(dataset_config, "train", train=True)
    with pytest.raises(ValueError, match="no full batch"):
        build_loader(train, batch_size=6, train=True, world_size=2)
