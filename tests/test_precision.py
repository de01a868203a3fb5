"""Precision chosen by the hardware: bf16 only where it is native, never silently ignored."""

import logging

import pytest
import torch

from dist_video.config import ConfigError
from dist_video.engine import precision as precision_module
from dist_video.engine.precision import Precision, resolve_precision

CPU, CUDA = torch.device("cpu"), torch.device("cuda", 0)


@pytest.fixture
def native_cpu(monkeypatch):
    def set_native(value: bool):
        monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: value)

    return set_native


def test_auto_on_cpu_follows_native_bf16(native_cpu):
    native_cpu(True)
    assert resolve_precision("auto", "auto", CPU) == Precision("bf16", "fp32", False)
    native_cpu(False)
    assert resolve_precision("auto", "auto", CPU) == Precision("fp32", "fp32", False)


def test_auto_on_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("auto", "auto", CUDA) == Precision("bf16", "bf16", False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision("auto", "auto", CUDA) == Precision("fp16", "fp16", True)  # fp16 needs the scaler


def test_forced_bf16_without_native_support_warns_once(native_cpu, caplog):
    native_cpu(False)
    precision_module._warn_once.cache_clear()
    with caplog.at_level(logging.WARNING):
        assert resolve_precision("fp32", "bf16", CPU).frozen == "bf16"  # kept, as asked
        resolve_precision("fp32", "bf16", CPU)
    warnings = [r for r in caplog.records if "without native bf16" in r.message]
    assert len(warnings) == 1 and "slower than fp32" in warnings[0].message


@pytest.mark.parametrize(
    "precision, frozen, key",
    [("bf16", "auto", "train.precision"), ("fp16", "fp32", "train.precision"), ("auto", "fp16", "train.frozen_dtype")],
)
def test_what_cpus_cannot_do_is_refused(native_cpu, precision, frozen, key):
    native_cpu(True)
    with pytest.raises(ConfigError, match=key):
        resolve_precision(precision, frozen, CPU)


def test_native_bf16_is_read_off_the_cpu_flags():
    precision_module.cpu_has_native_bf16.cache_clear()
    assert isinstance(precision_module.cpu_has_native_bf16(), bool)
