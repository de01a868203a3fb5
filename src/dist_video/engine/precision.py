"""The number formats a run computes in: chosen by the hardware (``auto``) or by hand.

Two settings: the dtype the frozen CLIP towers' weights are held in (their forward is most
of a DiST step), and the autocast dtype of the trainable branch. ``auto`` takes bf16 where
the hardware runs it natively (CUDA devices with bf16; CPUs with AVX-512-BF16 or AMX),
fp16 with a gradient scaler on CUDA devices without bf16, and fp32 elsewhere.

Measured (docs/efficiency.md, env notes): on an AMD EPYC with AVX2 only, a 1024x1024 bf16
matmul took ~100x longer than fp32 and a B/16 training step with the encoder in bf16 9x
longer (19.9 s vs 3.9 s); on an AVX-512-BF16 CPU the same setting was 1.96x faster. CPU
autocast cast per operation and was slower than fp32 (B/16 forward 5.8 s vs 2.0 s), so
the branch is never autocast on CPU.
"""

from __future__ import annotations

import functools
import logging
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ConfigError

__all__ = ["Precision", "cpu_has_native_bf16", "resolve_precision"]

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512-BF16 or AMX), read off the kernel's
    CPU flags (Linux); False where they cannot be read, which keeps fp32."""
    if platform.system() != "Linux":
        return False
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


@dataclass(frozen=True)
class Precision:
    """What a run computes in: ``frozen`` the frozen towers' weights, ``autocast`` the
    trainable branch under autocast (``fp32``: none), ``scaler`` a GradScaler (fp16)."""

    frozen: str
    autocast: str
    scaler: bool

    def describe(self) -> str:
        return f"frozen encoder {self.frozen}, branch {self.autocast}" + (
            " with a gradient scaler" if self.scaler else ""
        )


def resolve_precision(precision: str, frozen_dtype: str, device: torch.device) -> Precision:
    """``train.precision`` and ``train.frozen_dtype`` (each ``auto`` or a dtype name) for
    ``device``. bf16 forced on a CPU without native bf16 is kept but warned about; branch
    autocast on CPU, and fp16 on CPU, are refused (measured slower, or not supported)."""
    cuda = device.type == "cuda"
    native = torch.cuda.is_bf16_supported() if cuda else cpu_has_native_bf16()
    best = "bf16" if native else ("fp16" if cuda else "fp32")
    autocast = precision if precision != "auto" else (best if cuda else "fp32")
    frozen = frozen_dtype if frozen_dtype != "auto" else best
    if not cuda and autocast != "fp32":
        raise ConfigError(
            f"train.precision: {precision} autocasts the branch, which runs on CUDA only (on CPU it was "
            "measured slower than fp32); use auto or fp32, and train.frozen_dtype for the encoder"
        )
    if not cuda and frozen == "fp16":
        raise ConfigError("train.frozen_dtype: fp16 is for CUDA; on CPU use bf16 (with native bf16) or fp32")
    if frozen == "bf16" and not native:
        _warn_once(
            f"train.frozen_dtype bf16 on a {'GPU' if cuda else 'CPU'} without native bf16: expect it to be "
            "slower than fp32 (measured 9x slower training steps on an AVX2-only CPU); auto picks fp32 here"
        )
    return Precision(frozen, autocast, scaler=cuda and autocast == "fp16")


@functools.cache
def _warn_once(message: str) -> None:
    log.warning(message)
