"""The command line: starts without torch, every option explained, one module per group."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from dist_video.cli import bench as cli_bench
from dist_video.cli import build_parser, main


def test_help_and_parsing_do_not_import_torch():
    code = (
        "import sys; from dist_video.cli import build_parser; "
        "build_parser().parse_args(['predict', 'a.mp4', '--checkpoint', 'm']); "
        "print(sorted(m for m in ('torch', 'open_clip', 'timm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_and_option_has_help():
    commands = _subparsers(build_parser())
    assert {
        "info",
        "models",
        "check-data",
        "bench-data",
        "make-synthetic",
        "train",
        "eval",
        "predict",
        "demo",
        "bench",
    } <= set(commands)
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in commands.items()
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert not missing, missing


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("dist-video 0.")


def test_bench_cases_match_the_tool():
    from dist_video.tools.bench import CASES

    assert cli_bench.CASES == CASES


def test_lazy_package_attributes():
    import dist_video

    assert dist_video.create_model.__module__ == "dist_video.models.zoo"
    assert "load_model" in dir(dist_video)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        dist_video.nope  # noqa: B018


def test_models_lists_the_zoo_and_the_recipes_train_accepts(capsys):
    from dist_video.engine.experiment import list_recipes, load_experiment

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    recipes = list_recipes()
    assert "ssv2/vit-b16-8+16f" in recipes and "k400/vit-l14-32+64f" in recipes
    assert all(name in out for name in recipes) and "ssv2-b16-8+16f" in out
    for name in recipes:  # every listed recipe is a valid experiment config
        assert load_experiment(name).model.clip.pretrained, name


def test_info_prints_a_table_or_json(capsys):
    assert main(["info", "test-tiny", "--set", "branch.num_frames=8"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("test-tiny: tiny random model")
    assert table[1].split() == ["frames", "8", "dense,", "4", "sparse", "(through", "CLIP)"]
    assert main(["info", "test-tiny", "--set", "branch.num_frames=8", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["num_frames"], info["sparse_frames"], info["num_classes"]) == (8, 4, 3)
    assert f"  parameters, trainable  {info['params_trainable'] / 1e6:.2f} M" in table
    assert f"  GFLOPs per view        {info['gflops_per_view']:.2f}" in table


def test_a_reader_that_leaves_early_ends_the_command_quietly():
    # `dist-video models | head -1`: the pipe closes before the output is written
    proc = subprocess.Popen(
        [sys.executable, "-m", "dist_video.cli", "models"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1 and "Traceback" not in err, err
