"""`dist-video bench` on a tiny model: every case measured, one well-formed JSON line."""

import json

import pytest
import torch

from dist_video.cli import main
from dist_video.models.complexity import count_gflops
from dist_video.models.zoo import create_model
from dist_video.tools.bench import CASES, BenchSettings, count_case_gflops

from tiny import TINY


def test_bench_prints_a_table_and_json(capsys):
    assert main(["bench", TINY, "--batch-size", "2", "--repeats", "2", "--warmup", "1", "--threads", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:3] == ["case", "seconds", "peak"]
    result = json.loads(lines[-1])
    model = create_model(TINY)
    trainable = {
        "floor": 0,
        "dist_infer": 0,
        "dist_train": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "full_finetune": sum(p.numel() for p in model.visual.parameters()),
    }
    for case in CASES:
        r = result[case]
        assert r["seconds"] > 0 and len(r["seconds_all"]) == 2
        assert r["peak_mb"] >= 0
        assert r["params_trainable"] == trainable[case], case
        assert r["gflops_step_per_view"] >= r["gflops_per_view"] > 0
    with torch.device("meta"):  # as `dist-video info` counts
        split = count_gflops(create_model(TINY), batch_size=2)
    assert result["floor"]["gflops_per_view"] == pytest.approx(split["gflops_frozen"])
    assert result["dist_train"]["gflops_per_view"] == pytest.approx(split["gflops_per_view"])
    machine = result["machine"]
    assert machine["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert isinstance(machine["cpu_native_bf16"], bool) and machine["cpu"]
    assert result["settings"]["dtype_asked"] == "auto"  # the default: what training picks here
    assert result["settings"]["dtype"] == ("bf16" if machine["cpu_native_bf16"] else "fp32")
    assert f"CPU capability {machine['cpu_capability']}" in lines[-2]
    ratios = result["ratios"]
    assert ratios["dist_train_over_floor"] == pytest.approx(
        result["dist_train"]["seconds"] / result["floor"]["seconds"], rel=1e-2
    )
    assert ratios["dist_train_peak_over_full_finetune_peak"] >= 0
    settings = result["settings"]
    assert (settings["batch_size"], settings["threads"], settings["device"]) == (2, 1, "cpu")
    assert settings["torch"] == torch.__version__


def test_step_flops_count_the_backward():
    flops = count_case_gflops(BenchSettings(TINY))
    # backward costs about twice the forward for the trained layers, nothing for frozen ones
    assert flops["full_finetune"]["gflops_step_per_view"] > 2.5 * flops["full_finetune"]["gflops_per_view"]
    branch = flops["dist_train"]["gflops_per_view"] - flops["floor"]["gflops_per_view"]
    extra = flops["dist_train"]["gflops_step_per_view"] - flops["dist_train"]["gflops_per_view"]
    assert 1.0 * branch < extra < 2.0 * branch  # no backward through the frozen ViT


def test_bench_refuses_a_bad_device(capsys):
    assert main(["bench", TINY, "--device", "no-such-device"]) == 2
    assert "no-such-device" in capsys.readouterr().err


def test_bench_settings_are_checked():
    with pytest.raises(ValueError, match="unknown bench cases"):
        BenchSettings(TINY, cases=("floor", "bogus"))
    with pytest.raises(ValueError, match="dtype"):
        BenchSettings(TINY, dtype="int8")


def test_precision_bench_compares_fp32_and_auto(capsys):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "precision_bench.py"
    spec = importlib.util.spec_from_file_location("precision_bench", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    summary = module.main([TINY, "--rounds", "1", "--repeats", "1", "--threads", "1"])
    assert summary["auto_picks"] == ("bf16" if summary["machine"]["cpu_native_bf16"] else "fp32")
    assert set(summary["auto_over_fp32"]) == {"floor", "dist_train"}
    assert all(ratio > 0 for ratio in summary["auto_over_fp32"].values())
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["auto_picks"] == summary["auto_picks"]
