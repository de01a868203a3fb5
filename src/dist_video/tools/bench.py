"""``dist-video bench``: what a DiST training step costs next to its floor (the frozen CLIP
encoder's forward on the sparse frames) and next to fine-tuning the same ViT end to end.

Four cases run on the same inputs (fixed seed):

- ``floor``: ``model.vit_features(video)``, the frozen ViT alone, in inference mode;
- ``dist_train``: one DiST training step (forward, cross-entropy, backward, AdamW step);
- ``dist_infer``: DiST inference on one view, in inference mode;
- ``full_finetune``: one training step of the same ViT with every parameter trainable
  (AdamW), classifying the frame-averaged CLIP embedding of the sparse frames against
  fixed text features.

Each case runs in its own fresh process, so that its peak memory is its own; the
processes take turns for the timed steps, so that a change in the machine's load hits
every case alike. Seconds are the median of ``repeats`` timed steps after ``warmup``
untimed ones. Peak memory is counted above the loaded model, inputs and step set-up: on
CPU the peak resident set (``VmHWM``, reset after loading) less the resident set then;
on CUDA ``torch.cuda.max_memory_allocated`` less the memory allocated then. GFLOPs are
multiply-adds per view, counted on the meta device.

The processes are started by ``multiprocessing`` (forkserver): a script calling
:func:`run_bench` needs the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import multiprocessing
import platform
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..constants import DTYPES
from ..engine.precision import cpu_has_native_bf16, resolve_precision
from ..errors import ConfigError
from ..models.clip import compile_vit_mlps, sparse_frames
from ..models.complexity import count_gflops, count_gmacs
from ..models.dist import DiST
from ..models.zoo import create_model

__all__ = ["CASES", "BenchSettings", "FullFinetuneCLIP", "format_table", "run_bench"]

CASES = ("floor", "dist_train", "dist_infer", "full_finetune")


@dataclass
class BenchSettings:
    """What to measure and how."""

    model: str  # zoo name or model YAML
    batch_size: int = 1
    device: str = "cpu"
    dtype: str = "auto"  # the frozen encoder's dtype (see ``DiST.cast_frozen``); auto: as training picks it
    repeats: int = 3
    warmup: int = 1
    threads: int | None = None  # CPU threads; None keeps torch's default
    compile: bool = False  # torch.compile the DiST branch and the frozen ViT's MLPs
    checkpointing: bool = False  # activation checkpointing in the DiST branch
    amp: bool = False  # the trained parts under autocast to ``dtype`` (mixed precision)
    cases: tuple[str, ...] = CASES
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dtype not in ("auto", *DTYPES):
            raise ConfigError(f"dtype must be auto or one of {', '.join(DTYPES)}, got {self.dtype!r}")
        unknown = set(self.cases) - set(CASES)
        if unknown:
            raise ConfigError(f"unknown bench cases {sorted(unknown)}; known: {', '.join(CASES)}")
        try:
            device = torch.device(self.device)
        except RuntimeError as err:
            raise ConfigError(f"bad device {self.device!r}: {err}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device cuda asked for, but CUDA is not available")
        if self.batch_size < 1 or self.repeats < 1 or self.warmup < 0:
            raise ConfigError("batch_size and repeats must be positive and warmup not negative")


class FullFinetuneCLIP(nn.Module):
    """The full fine-tuning baseline: CLIP's ViT (with its own ``ln_post``/``proj``) on
    each sparse frame, the embeddings averaged over frames, scaled cosine against fixed
    text features."""

    def __init__(self, model: DiST):
        super().__init__()
        self.visual = model.visual
        self.alpha = model.branch_config.alpha
        self.register_buffer("text", F.normalize(model.text_features().detach(), dim=-1), persistent=False)
        self.register_buffer("scale", model.logit_scale.detach().float().exp(), persistent=False)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        frames = sparse_frames(video, self.alpha).to(self.visual.conv1.weight.dtype)
        features = self.visual(frames).float()
        embedding = features.reshape(video.shape[0], -1, features.shape[-1]).mean(dim=1)
        return self.scale * F.normalize(embedding, dim=-1) @ self.text.t()


def _adamw(params: list[nn.Parameter]) -> torch.optim.AdamW:
    # fused=True, as the engine's optimizer (engine/optim.py): one kernel over all parameters.
    return torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-4, fused=True)


def _train_step(module: nn.Module, video: torch.Tensor, labels: torch.Tensor, autocast) -> Callable[[], None]:
    optimizer = _adamw([p for p in module.parameters() if p.requires_grad])

    def step() -> None:
        with autocast:
            loss = F.cross_entropy(module(video), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def _inference(fn: Callable[[], object], autocast) -> Callable[[], None]:
    def step() -> None:
        with torch.inference_mode(), autocast:
            fn()

    return step


def _build_case(case: str, model: DiST, video: torch.Tensor, labels: torch.Tensor, settings: BenchSettings):
    """``(step, trainable parameter count)`` of one case, the model set up for it."""
    dtype = DTYPES[settings.dtype]
    autocast = torch.autocast(video.device.type, dtype=dtype, enabled=settings.amp)
    if case == "full_finetune":
        head = FullFinetuneCLIP(model)  # text features from the fp32 towers
        # --amp: fp32 weights under autocast; else the weights themselves in --dtype
        model.visual.to(torch.float32 if settings.amp else dtype).train().requires_grad_(True)
        trainable = sum(p.numel() for p in model.visual.parameters())
        return _train_step(head, video, labels, autocast), trainable
    if dtype != torch.float32:
        model.cast_frozen(dtype)
    model.text_features()  # cached, as in training and evaluation
    model.dist_net.grad_checkpointing = settings.checkpointing
    if settings.compile:
        model.dist_net.compile()
        compile_vit_mlps(model.visual)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if case == "dist_train":
        return _train_step(model.train(), video, labels, autocast), trainable
    forward = model.eval().vit_features if case == "floor" else model
    return _inference(lambda: forward(video), autocast), 0


# -- peak memory ---------------------------------------------------------------------------
def _proc_status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class _PeakMemory:
    """Peak memory above the moment of :meth:`start`, in MB."""

    def __init__(self, device: torch.device):
        self.device = device

    def start(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            return
        try:  # glibc keeps freed heap memory (model building leaves plenty): give it back,
            # or the step would reuse it unseen by the resident-set count
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
        try:  # Linux: "5" resets the peak resident set (VmHWM) to the current one
            Path("/proc/self/clear_refs").write_text("5")
            self.base = _proc_status_kb("VmRSS") * 1024
        except (OSError, TypeError):  # elsewhere: ru_maxrss, which cannot be reset
            self.base = self._maxrss()

    def _maxrss(self) -> int:
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

    def peak_mb(self) -> float:
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            hwm = _proc_status_kb("VmHWM")
            peak = hwm * 1024 if hwm is not None else self._maxrss()
        return (peak - self.base) / 2**20


# -- one case per process, timed in turns --------------------------------------------------
def _inputs(model: DiST, settings: BenchSettings, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(settings.seed)
    shape = (settings.batch_size, 3, model.num_frames, model.image_size, model.image_size)
    video = torch.randn(shape, generator=g).to(device)
    labels = torch.randint(len(model.class_names), (settings.batch_size,), generator=g).to(device)
    return video, labels


def _worker(case: str, settings: BenchSettings, conn: Connection) -> None:
    """One case in a fresh process: build, warm up, then one timed step per ``"step"``
    received, answering with its seconds; ``"done"`` answers with the peak memory."""
    sys.stdout = sys.stderr  # keep the parent's stdout for its table and JSON
    try:
        if settings.threads:
            torch.set_num_threads(settings.threads)
        device = torch.device(settings.device)
        torch.manual_seed(settings.seed)
        model = create_model(settings.model, clip="random").to(device)
        video, labels = _inputs(model, settings, device)
        step, trainable = _build_case(case, model, video, labels, settings)
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        memory = _PeakMemory(device)
        memory.start()
        for _ in range(settings.warmup):
            step()
        sync()
        conn.send({"ready": case})
        while conn.recv() == "step":
            start = time.perf_counter()
            step()
            sync()
            conn.send({"seconds": time.perf_counter() - start})
        conn.send({"peak_mb": round(memory.peak_mb(), 1), "params_trainable": trainable})
    except Exception:  # noqa: BLE001 - any failure is the parent's to report
        conn.send({"error": traceback.format_exc()})


def _context() -> multiprocessing.context.BaseContext:
    """Fresh processes that start quickly: forked from a server that has imported torch
    and this package but never computed (forking after OpenMP has run can hang)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


class _Worker:
    """A case's process, driven message by message."""

    def __init__(self, context: multiprocessing.context.BaseContext, case: str, settings: BenchSettings):
        self.case = case
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=_worker, args=(case, settings, child), daemon=True)
        self.proc.start()
        child.close()

    def ask(self, command: str | None = None) -> dict:
        if command is not None:
            self.conn.send(command)
        try:
            answer = self.conn.recv()
        except EOFError:
            self.proc.join()
            raise RuntimeError(f"bench case {self.case}: worker died (exit code {self.proc.exitcode})") from None
        if "error" in answer:
            raise RuntimeError(f"bench case {self.case} failed:\n{answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


def measure_cases(settings: BenchSettings) -> dict[str, dict]:
    """Seconds and peak memory of every case, each in its own fresh process. The processes
    start together (set-up and warm-up overlap); then the timed steps run in turns, one
    process at a time, so that a change in the machine's load hits every case alike."""
    context = _context()
    workers = [_Worker(context, case, settings) for case in settings.cases]
    try:
        for worker in workers:
            worker.ask()  # ready
        times: dict[str, list[float]] = {w.case: [] for w in workers}
        for _ in range(settings.repeats):
            for worker in workers:
                times[worker.case].append(worker.ask("step")["seconds"])
        results = {}
        for worker in workers:
            results[worker.case] = {
                "seconds": statistics.median(times[worker.case]),
                "seconds_all": [round(t, 4) for t in times[worker.case]],
                **worker.ask("done"),
            }
        return results
    finally:
        for worker in workers:
            worker.close()


# -- arithmetic ----------------------------------------------------------------------------
def count_case_gflops(settings: BenchSettings) -> dict[str, dict[str, float]]:
    """Per case: ``gflops_per_view`` (one forward) and ``gflops_step_per_view`` (what the
    timed step computes, backward included), multiply-adds, counted on the meta device."""
    with torch.device("meta"):
        model = create_model(settings.model, clip="random")
        video = torch.zeros(settings.batch_size, 3, model.num_frames, model.image_size, model.image_size)
        labels = torch.zeros(settings.batch_size, dtype=torch.long)
    batch = settings.batch_size
    split = count_gflops(model, batch)
    model.dist_net.grad_checkpointing = settings.checkpointing

    def dist_step() -> None:
        F.cross_entropy(model.train()(video), labels).backward()

    def finetune_step() -> None:
        F.cross_entropy(head(video), labels).backward()

    dist_step_gmacs = count_gmacs(dist_step, batch)
    head = FullFinetuneCLIP(model)
    model.visual.train().requires_grad_(True)
    finetune_gmacs = count_gmacs(lambda: head(video), batch)
    return {
        "floor": {"gflops_per_view": split["gflops_frozen"], "gflops_step_per_view": split["gflops_frozen"]},
        "dist_train": {"gflops_per_view": split["gflops_per_view"], "gflops_step_per_view": dist_step_gmacs},
        "dist_infer": {"gflops_per_view": split["gflops_per_view"], "gflops_step_per_view": split["gflops_per_view"]},
        "full_finetune": {
            "gflops_per_view": finetune_gmacs,
            "gflops_step_per_view": count_gmacs(finetune_step, batch),
        },
    }


# -- the whole benchmark -------------------------------------------------------------------
def run_bench(settings: BenchSettings) -> dict:
    """Every case of ``settings``, each in a fresh process, their ratios, and the machine."""
    asked = settings.dtype
    if asked == "auto":  # the frozen encoder's dtype that training would pick here
        settings = dataclasses.replace(
            settings, dtype=resolve_precision("auto", "auto", torch.device(settings.device)).frozen
        )
    flops = count_case_gflops(settings)
    result: dict = {case: {**measured, **flops[case]} for case, measured in measure_cases(settings).items()}
    ratios = {}
    if {"dist_train", "floor"} <= result.keys():
        ratios["dist_train_over_floor"] = result["dist_train"]["seconds"] / result["floor"]["seconds"]
        ratios["dist_train_over_floor_arithmetic"] = (
            result["dist_train"]["gflops_step_per_view"] / result["floor"]["gflops_step_per_view"]
        )
    if {"dist_train", "full_finetune"} <= result.keys():
        ratios["dist_train_peak_over_full_finetune_peak"] = (
            result["dist_train"]["peak_mb"] / result["full_finetune"]["peak_mb"]
        )
        ratios["full_finetune_over_dist_train"] = result["full_finetune"]["seconds"] / result["dist_train"]["seconds"]
    result["ratios"] = {k: round(v, 3) for k, v in ratios.items()}
    result["settings"] = {
        **dataclasses.asdict(settings),
        "cases": list(settings.cases),
        "dtype_asked": asked,
        "threads": settings.threads or torch.get_num_threads(),
        "torch": torch.__version__,
    }
    result["machine"] = machine_info(settings.device)
    return result


def machine_info(device: str) -> dict:
    """What a timing depends on: the CPU (model, torch's capability level, native bf16) and
    the GPU's name when CUDA runs it."""
    info = {
        "cpu": _cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_native_bf16": cpu_has_native_bf16(),
    }
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def format_table(result: dict) -> str:
    """The measured cases as a readable table, then the ratios."""
    lines = [
        f"{'case':14s} {'seconds':>8s} {'peak MB':>9s} {'GFLOPs/view':>12s} {'step GFLOPs':>12s} {'trainable':>12s}"
    ]
    for case in CASES:
        if case in result:
            r = result[case]
            lines.append(
                f"{case:14s} {r['seconds']:8.3f} {r['peak_mb']:9.1f} {r['gflops_per_view']:12.4g} "
                f"{r['gflops_step_per_view']:12.4g} {r['params_trainable']:12,d}"
            )
    lines += [f"{name}: {value:.3f}" for name, value in result["ratios"].items()]
    machine = result["machine"]
    lines.append(
        f"frozen encoder {result['settings']['dtype']} (asked: {result['settings']['dtype_asked']}); "
        f"{machine.get('gpu') or machine['cpu']}, CPU capability {machine['cpu_capability']}, "
        f"native bf16: {'yes' if machine['cpu_native_bf16'] else 'no'}"
    )
    return "\n".join(lines)
