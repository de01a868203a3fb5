"""The data loaders of a run, and the check that the model and the data agree on frames."""

from __future__ import annotations

import torch

from ..data import build_loader
from ..errors import ConfigError
from .distributed import DistEnv
from .experiment import ExperimentConfig

__all__ = ["make_loader", "check_num_frames"]


def make_loader(config: ExperimentConfig, dataset, train: bool, env: DistEnv) -> torch.utils.data.DataLoader:
    """The run's loader for ``dataset``: training batches shuffled per epoch, or every
    evaluation item once across the processes."""
    dc = config.data
    batch_size = config.train.batch_size if train else (config.train.eval_batch_size or config.train.batch_size)
    return build_loader(
        dataset,
        batch_size,
        train=train,
        seed=config.train.seed,
        num_workers=dc.num_workers,
        rank=env.rank,
        world_size=env.world_size,
        pin_memory=dc.pin_memory,
        persistent_workers=dc.persistent_workers,
    )


def check_num_frames(model: torch.nn.Module, config: ExperimentConfig) -> None:
    """The model's dense frames must be the number the data pipeline samples."""
    if model.num_frames != config.data.num_frames:
        raise ConfigError(
            f"the model takes {model.num_frames} dense frames but data.num_frames is "
            f"{config.data.num_frames}: make model.branch.num_frames and data.num_frames agree "
            f"(e.g. --set data.num_frames={model.num_frames})"
        )
