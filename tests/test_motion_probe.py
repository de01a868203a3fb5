"""The motion-learning probe (benchmarks/motion_probe.py) builds the variants it names and runs."""

import importlib.util
from pathlib import Path

import pytest
from torch import nn

PROBE = Path(__file__).resolve().parents[1] / "benchmarks" / "motion_probe.py"


@pytest.fixture(scope="module")
def probe():
    spec = importlib.util.spec_from_file_location("motion_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _has_layernorm(net: nn.Module) -> bool:
    return any(isinstance(m, nn.LayerNorm) for m in net.modules())


def test_variants_differ_where_their_names_say(probe):
    assert _has_layernorm(probe.ProbeNet("conv+block"))
    assert not _has_layernorm(probe.ProbeNet("conv+block-noln"))
    assert probe.ProbeNet("conv").block is None
    patch_stem = probe.ProbeNet("patch").stem[0]
    assert patch_stem.kernel_size == (5, 8, 8) and patch_stem.stride == (1, 8, 8)  # DiST's temporal stem
    assert probe.ProbeNet("conv").stem[0].stride == (1, 2, 2)


def test_probe_trains_and_reports(probe, capsys):
    results = probe.main(["--variants", "conv+block", "--steps", "3", "--batch", "2", "--val-clips", "8"])
    (result,) = results
    assert result["variant"] == "conv+block" and list(result["val_top1"]) == [3]
    assert 0 <= result["val_top1"][3] <= 100
    assert "| conv+block | 0 |" in capsys.readouterr().out
