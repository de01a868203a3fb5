"""Every numeric key of the train and optim sections is checked up front, and the error
names the key and the file."""

import re

import pytest

from dist_video.config import ConfigError
from dist_video.engine.experiment import load_experiment

RECIPE = "ssv2/vit-b16-8+16f"


@pytest.mark.parametrize(
    "override, key",
    [
        ("train.log_every=0", "log_every"),
        ("train.checkpoint_every_steps=-1", "checkpoint_every_steps"),
        ("train.eval_batch_size=-4", "eval_batch_size"),
        ("train.eval_every=-1", "eval_every"),
        ("train.batch_size=0", "batch_size"),
        ("train.max_steps_per_epoch=0", "max_steps_per_epoch"),
        ("train.threads=0", "threads"),
        ("train.device=tpu", "device"),
        ("optim.lr=-0.001", "lr"),
        ("optim.weight_decay=-1", "weight_decay"),
        ("optim.epochs=0", "epochs"),
        ("optim.warmup_epochs=99", "warmup_epochs"),
        ("optim.min_lr=-1", "min_lr"),
        ("optim.grad_accumulation=0", "grad_accumulation"),
        ("optim.clip_grad_norm=0", "clip_grad_norm"),
        ("optim.betas=[0.9, 1.5]", "betas"),
        ("optim.reference_batch=0", "reference_batch"),
    ],
)
def test_bad_numbers_are_refused_naming_the_key(override, key):
    section = override.split(".")[0]
    with pytest.raises(ConfigError, match=rf"vit-b16-8\+16f\.yaml\.{section}: {key}: must") as error:
        load_experiment(RECIPE, [override])
    assert re.search(r"got ", str(error.value))


def test_good_values_pass():
    config = load_experiment(RECIPE, ["train.log_every=1", "train.checkpoint_every_steps=0", "optim.clip_grad_norm=1"])
    assert config.train.log_every == 1 and config.optim.clip_grad_norm == 1.0


def test_a_missing_config_file_is_named(tmp_path):
    missing = tmp_path / "nowhere" / "recipe.yaml"
    with pytest.raises(ConfigError, match=f"config file {re.escape(str(missing))} does not exist"):
        load_experiment(missing)
    with pytest.raises(ConfigError, match="neither a file nor a packaged config"):
        load_experiment("ssv2/no-such-recipe")


@pytest.mark.parametrize(
    "command, flag",
    [
        (["predict", "clip.mp4", "--checkpoint", "model"], ["--views", "0"]),
        (["predict", "clip.mp4", "--checkpoint", "model"], ["--top-k", "-1"]),
        (["predict", "clip.mp4", "--checkpoint", "model"], ["--top-k", "two"]),
        (["bench-data", "config.yaml"], ["--clips", "0"]),
        (["bench-data", "config.yaml"], ["--batch-size", "0"]),
    ],
)
def test_counts_below_one_are_refused(command, flag, capsys):
    from dist_video.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([*command, *flag])
    assert exit_.value.code == 2
    assert f"argument {flag[0]}: expected an integer >= 1" in capsys.readouterr().err
