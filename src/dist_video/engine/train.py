"""``dist-video train``: fine-tune the DiST branch on one process or many (torchrun).

:func:`setup` builds a run (data, model, optimiser, and the state of ``last.pt`` when the
run resumes), :func:`train_one_epoch` takes the optimiser steps of one epoch, and
:func:`train` alternates them with validation and checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from safetensors.torch import save_file
from timm.loss import SoftTargetCrossEntropy
from timm.utils import ModelEmaV3
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ..config import to_dict
from ..constants import DTYPES
from ..data import MixupCutmix, build_dataset
from ..errors import ConfigError, DataError
from ..io import CheckpointError, atomic_path, remove_stale_temporaries
from ..models.checkpoint import load_checked, save_pretrained
from ..models.clip import build_clip, compile_vit_mlps
from ..models.dist import DiST
from ..models.hub import load_model
from ..models.preprocessing import Preprocessing
from ..models.zoo import NO_CLIP_WEIGHTS, RANDOM, create_model
from .distributed import DistEnv, all_gather_objects, barrier, init_distributed, shutdown
from .evaluate import evaluate_and_report
from .experiment import ExperimentConfig, save_experiment
from .loaders import check_num_frames, make_loader
from .metrics_log import MetricsLog
from .optim import WarmupCosine, build_optimizer
from .precision import Precision, resolve_precision
from .state import RunState, capture_rng, load_checkpoint, restore_rng, save_checkpoint

__all__ = [
    "TrainingDiverged",
    "Run",
    "setup",
    "train_one_epoch",
    "train",
    "build_model_for_run",
    "run_summary",
    "RUNTIME_KEYS",
    "RESUME_CHOICES",
]

log = logging.getLogger(__name__)

# The loss against mixed / smoothed targets: the mean over clips of -sum(target * log_softmax).
soft_target_cross_entropy = SoftTargetCrossEntropy()

# Settings that change how a run executes, not what it computes: free to change on resume.
RUNTIME_KEYS = (
    "output_dir",
    "train.threads",
    "train.device",
    "train.log_every",
    "train.eval_batch_size",
    "train.checkpoint_every_steps",
    "data.num_workers",
    "data.pin_memory",
    "data.persistent_workers",
    "data.decoder",
    "train.keep_best",
    "train.grad_checkpointing",
    "train.compile",
    "train.wandb_project",
)

# The run folder's random CLIP towers (``clip.pretrained: random``), seeded by train.seed.
RANDOM_TOWERS_FILE = "clip_random.safetensors"
CLIP_KEY = "model.clip.pretrained"

# ``train(resume=...)``: "auto" resumes output_dir/last.pt when it exists, "never" refuses an
# output folder that holds a run; any other value is the checkpoint to resume from.
RESUME_CHOICES = ("auto", "never")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class Run:
    """Everything a training run holds between steps."""

    config: ExperimentConfig
    env: DistEnv
    out: Path
    precision: Precision
    model: DiST
    ddp: torch.nn.Module  # the model, wrapped for distributed training when there are several processes
    train_set: torch.utils.data.Dataset
    val_set: torch.utils.data.Dataset
    train_loader: torch.utils.data.DataLoader
    val_loader: torch.utils.data.DataLoader
    optimizer: torch.optim.Optimizer
    scheduler: WarmupCosine
    scaler: torch.amp.GradScaler
    mixer: MixupCutmix
    ema: ModelEmaV3 | None  # the exponential moving average of the branch (train.ema_decay)
    resumed_from: Path | None  # the checkpoint the run resumed from
    micro_per_epoch: int  # loader batches per epoch (optimiser steps x gradient accumulation)
    steps_per_epoch: int
    state: RunState

    @property
    def last_path(self) -> Path:
        return self.out / "last.pt"

    @property
    def global_step(self) -> int:
        return self.state.epoch * self.steps_per_epoch + self.state.step_in_epoch


def build_model_for_run(
    config: ExperimentConfig,
    class_names,
    clip_source: str,
    frozen_dtype: str = "fp32",
    device: torch.device | str = "cpu",
) -> DiST:
    """The experiment's model on ``device`` with the run's CLIP weights and branch seeded by
    the config, its frozen towers held in ``frozen_dtype`` (cast after the move, so that the
    class text features stay the fp32 towers', as in ``dist-video eval``)."""
    torch.manual_seed(config.train.seed)
    model = create_model(config.model, class_names, clip=clip_source).to(device)
    if frozen_dtype != "fp32":
        model.cast_frozen(DTYPES[frozen_dtype])
    return model


def setup(config: ExperimentConfig, env: DistEnv, allow_config_change: bool = False, resume: str = "auto") -> Run:
    """Build the run of ``config``: data, model, optimiser, schedule; restored from the
    checkpoint ``resume`` names (:data:`RESUME_CHOICES`; refused if written with other
    settings, but for :data:`RUNTIME_KEYS`, unless ``allow_config_change``), else started
    from ``train.init_from`` or the model's initialisation. Writes ``config.yaml`` once the
    run is known to be valid."""
    tc, oc, dc = config.train, config.optim, config.data
    if tc.threads:
        torch.set_num_threads(tc.threads)
    if tc.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if env.is_main:  # left by a process killed mid-write
        for folder in (out, out / "model", out / "eval"):
            for path in remove_stale_temporaries(folder):
                log.info("removed %s, left by an interrupted write", path)

    # data, and the checkpoint to resume from
    train_set = build_dataset(dc, dc.train_split, train=True)
    val_set = build_dataset(dc, dc.eval_split, train=False)
    if list(val_set.class_names) != list(train_set.class_names):
        raise DataError("the training and validation splits have different class lists")
    resume_path = _resume_path(resume, out / "last.pt")
    checkpoint = load_checkpoint(resume_path) if resume_path else None
    if checkpoint is not None:
        _check_resumable(checkpoint["config"], to_dict(config), resume_path, allow_config_change)
    clip_source = _frozen_clip_source(config, out, env)
    config = replace(config, model=replace(config.model, clip=replace(config.model.clip, pretrained=clip_source)))

    # the model, in the precision the hardware runs best
    precision = resolve_precision(tc.precision, tc.frozen_dtype, env.device)
    model = build_model_for_run(config, train_set.class_names, clip_source, precision.frozen, env.device)
    check_num_frames(model, config)
    if tc.init_from and checkpoint is None:
        _init_branch(model, tc.init_from, train_set.class_names)
    ema = ModelEmaV3(model.trainable, decay=tc.ema_decay) if tc.ema_decay else None  # a copy, before compiling
    if tc.grad_checkpointing:
        if not hasattr(model.trainable, "grad_checkpointing"):
            raise ConfigError(f"train.grad_checkpointing: not available for {type(model).__name__}")
        model.trainable.grad_checkpointing = True
    if tc.compile:
        model.trainable.compile()
        compile_vit_mlps(model.visual)
    model.preprocessing = Preprocessing.from_data_section(to_dict(dc), model.num_frames, model.image_size)
    _warn_on_other_normalisation(model, dc.mean, dc.std, env)
    ddp = (
        DistributedDataParallel(model, device_ids=[env.device.index] if env.device.type == "cuda" else None)
        if env.distributed
        else model
    )

    # loaders, optimiser and schedule (the learning rate scaled to the global batch)
    train_loader = make_loader(config, train_set, train=True, env=env)
    val_loader = make_loader(config, val_set, train=False, env=env)
    micro_per_epoch = len(train_loader)
    if tc.max_steps_per_epoch:
        micro_per_epoch = min(micro_per_epoch, tc.max_steps_per_epoch * oc.grad_accumulation)
    steps_per_epoch = max(1, micro_per_epoch // oc.grad_accumulation)
    lr = oc.scaled_lr(tc.batch_size * env.world_size * oc.grad_accumulation)
    optimizer = build_optimizer(model, oc, lr)
    scheduler = WarmupCosine(
        optimizer,
        lr,
        oc.epochs * steps_per_epoch,
        round(oc.warmup_epochs * steps_per_epoch),
        oc.warmup_start_lr,
        oc.min_lr,
    )
    scaler = torch.amp.GradScaler("cuda", enabled=precision.scaler)
    mixer = MixupCutmix(
        len(train_set.class_names),
        dc.mixup_alpha,
        dc.cutmix_alpha,
        dc.mixup_switch_prob,
        dc.label_smoothing,
        seed=tc.seed * 1000 + env.rank,
    )

    run = Run(
        config,
        env,
        out,
        precision,
        model,
        ddp,
        train_set,
        val_set,
        train_loader,
        val_loader,
        optimizer,
        scheduler,
        scaler,
        mixer,
        ema,
        resume_path,
        micro_per_epoch,
        steps_per_epoch,
        RunState(),
    )
    if checkpoint is not None:
        _restore(run, checkpoint)
    else:
        torch.manual_seed(tc.seed + env.rank)
    if env.is_main:  # only once the run is known to be valid: a failed resume keeps the record of its checkpoint
        save_experiment(config, out / "config.yaml")
        for line in run_summary(run):
            log.info("%s", line)
    return run


def run_summary(run: Run) -> list[str]:
    """What a run will do, in a few lines: device and precision, data, batch and schedule,
    learning rate, parameters, CLIP weights, and where it starts from."""
    config, env = run.config, run.env
    tc, oc = config.train, config.optim
    global_batch = tc.batch_size * env.world_size * oc.grad_accumulation
    trainable = sum(p.numel() for p in run.model.trainable.parameters())
    total = sum(p.numel() for p in run.model.parameters())
    if run.resumed_from:
        start = f"resumed from {run.resumed_from} at epoch {run.state.epoch + 1}, step {run.state.step_in_epoch}"
    else:
        start = f"initialised from {tc.init_from}" if tc.init_from else "initialised as the model config says"
    extras = [
        name
        for name, on in (
            (f"EMA {tc.ema_decay}", tc.ema_decay),
            ("gradient checkpointing", tc.grad_checkpointing),
            ("torch.compile", tc.compile),
        )
        if on
    ]
    return [
        f"device {env.device} x {env.world_size} process(es); {run.precision.describe()}",
        f"data: {run.train_set.num_videos} training videos, {run.val_set.num_videos} validation videos, "
        f"{len(run.train_set.class_names)} classes",
        f"batch {tc.batch_size} per process x {env.world_size} x {oc.grad_accumulation} accumulation = "
        f"{global_batch} global; {run.steps_per_epoch} steps per epoch x {oc.epochs} epochs",
        f"learning rate {oc.scaled_lr(global_batch):.3g}"
        + (f" (optim.lr {oc.lr:g} x {global_batch}/{oc.reference_batch})" if oc.scale_lr else ""),
        f"parameters: {trainable:,} trainable of {total:,}" + (f"; {', '.join(extras)}" if extras else ""),
        f"CLIP weights: {_describe_clip(config.model.clip.pretrained)}",
        f"start: {start}; writing to {run.out}",
    ]


def train_one_epoch(run: Run, metrics_log: MetricsLog) -> int:
    """The optimiser steps left in the current epoch (from ``run.state.step_in_epoch``),
    with a mid-epoch checkpoint every ``train.checkpoint_every_steps``. Returns how many
    videos failed to decode (and were replaced)."""
    config, env, state = run.config, run.env, run.state
    tc, oc = config.train, config.optim
    run.model.train()
    skip_micro = state.step_in_epoch * oc.grad_accumulation  # batches already taken before a resume
    run.train_loader.sampler.set_epoch(state.epoch, start=skip_micro * tc.batch_size)
    progress = tqdm(
        total=run.steps_per_epoch,
        initial=state.step_in_epoch,
        desc=f"epoch {state.epoch + 1}/{oc.epochs}",
        disable=not env.is_main,
        dynamic_ncols=True,
    )
    started, clips, failures = time.perf_counter(), 0, 0
    run.optimizer.zero_grad(set_to_none=True)
    for micro, batch in enumerate(run.train_loader, start=skip_micro):
        if micro >= run.micro_per_epoch:
            break
        # forward and backward of one batch (gradients synchronised on the last of an accumulation)
        video = batch["video"].to(env.device, non_blocking=True)
        labels = batch["label"].to(env.device, non_blocking=True)
        failures += int(batch["failures"].sum())
        video, targets = run.mixer(video, labels)
        last_micro = (micro + 1) % oc.grad_accumulation == 0
        sync = run.ddp.no_sync() if env.distributed and not last_micro else contextlib.nullcontext()
        with sync, _autocast(env.device, run.precision.autocast):
            loss = soft_target_cross_entropy(run.ddp(video), targets)
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"loss became {loss.item()} at epoch {state.epoch + 1}, step {state.step_in_epoch + 1}; "
                f"the last good checkpoint is {run.last_path} (lower optim.lr or use precision fp32)"
            )
        with sync:
            run.scaler.scale(loss / oc.grad_accumulation).backward()
        clips += video.shape[0] * env.world_size
        if not last_micro:
            continue

        # the optimiser step
        if oc.clip_grad_norm:
            run.scaler.unscale_(run.optimizer)
            torch.nn.utils.clip_grad_norm_(run.model.trainable.parameters(), oc.clip_grad_norm)
        run.scaler.step(run.optimizer)
        run.scaler.update()
        run.optimizer.zero_grad(set_to_none=True)
        run.scheduler.step()
        state.step_in_epoch += 1
        if run.ema is not None:
            run.ema.update(run.model.trainable, step=run.global_step)

        # progress, metrics, mid-epoch checkpoint
        rate = clips / max(time.perf_counter() - started, 1e-9)
        progress.update(1)
        progress.set_postfix(loss=f"{loss.item():.4f}", lr=f"{run.scheduler.lr:.2e}", clips_s=f"{rate:.1f}")
        if state.step_in_epoch % tc.log_every == 0 or state.step_in_epoch == run.steps_per_epoch:
            metrics_log.log(
                run.global_step,
                epoch=state.epoch + 1,
                loss=_global_mean(loss, env),
                lr=run.scheduler.lr,
                clips_per_s=rate,
            )
        if (
            tc.checkpoint_every_steps
            and state.step_in_epoch % tc.checkpoint_every_steps == 0
            and state.step_in_epoch < run.steps_per_epoch
        ):
            save_run_checkpoint(run, run.last_path)
    progress.close()
    if failures and env.is_main:
        log.warning("epoch %d: %d videos failed to decode and were replaced (see the log)", state.epoch + 1, failures)
    return failures


def train(config: ExperimentConfig, allow_config_change: bool = False, resume: str = "auto") -> dict:
    """Train the DiST branch as ``config`` says, resuming as ``resume`` says (by default from
    ``output_dir/last.pt`` when it exists; see :func:`setup`). Returns the final validation
    summary (rank 0; others get an empty dict)."""
    env = init_distributed(config.train.device)
    try:
        run = setup(config, env, allow_config_change, resume)
        epochs = run.config.optim.epochs
        if run.state.epoch >= epochs:
            if env.is_main:
                log.info("%s: training already finished (%d epochs); nothing to do", run.last_path, epochs)
            summary = run.out / "eval" / "metrics.json"
            return json.loads(summary.read_text()) if env.is_main and summary.is_file() else {}
        metrics_log = MetricsLog(
            run.out, env.is_main, run.global_step, run.config.train.wandb_project, to_dict(run.config)
        )
        metrics: dict = {}
        try:
            while run.state.epoch < epochs:
                # one epoch of optimiser steps
                failures = train_one_epoch(run, metrics_log)
                run.state.epoch, run.state.step_in_epoch = run.state.epoch + 1, 0

                # validation (of the EMA weights when there is one); the best weights kept as
                # best.pt and exported to model/, the keep_best best also as best_epochNNN.pt
                if (
                    run.config.train.eval_every and run.state.epoch % run.config.train.eval_every == 0
                ) or run.state.epoch == epochs:
                    with _validated_weights(run):
                        metrics = _evaluate(run)
                        is_best = metrics["top1"] > run.state.best_top1  # alike on every process
                        if is_best and env.is_main and isinstance(run.model, DiST):  # the self-contained export
                            save_pretrained(run.model, run.out / "model")
                    metrics_log.log(
                        run.global_step,
                        epoch=run.state.epoch,
                        val_top1=metrics["top1"],
                        val_top5=metrics["top5"],
                        decode_failures=failures,
                    )
                    if is_best:  # saving is collective
                        run.state.best_top1 = metrics["top1"]
                        save_run_checkpoint(run, run.out / "best.pt")
                    if run.config.train.keep_best > 1:
                        _keep_best(run, metrics["top1"])

                # the checkpoint the next start resumes from
                save_run_checkpoint(run, run.last_path)
        finally:
            metrics_log.close()
        return metrics
    finally:
        shutdown(env)


def save_run_checkpoint(run: Run, path: Path) -> None:
    """Write the run's training checkpoint (:data:`~.state.CHECKPOINT_KEYS`) to ``path``.
    Collective: every process contributes its RNG state, rank 0 writes."""
    rngs = all_gather_objects(capture_rng(), run.env)
    if run.env.is_main:
        online = run.model.trainable.state_dict()
        save_checkpoint(
            {
                "trainable": run.ema.module.state_dict() if run.ema is not None else online,
                "online": online if run.ema is not None else None,
                "optimizer": run.optimizer.state_dict(),
                "scheduler": run.scheduler.state_dict(),
                "scaler": run.scaler.state_dict(),
                "mixer_rng": run.mixer.rng.getstate(),
                "rng": rngs,
                "epoch": run.state.epoch,
                "step_in_epoch": run.state.step_in_epoch,
                "best_top1": run.state.best_top1,
                "kept_best": run.state.kept_best,
                "class_names": list(run.train_set.class_names),
                "config": to_dict(run.config),
            },
            path,
        )


def _restore(run: Run, checkpoint: dict) -> None:
    """Put ``run`` where its checkpoint left it: weights (and their EMA), optimiser,
    schedule, RNGs, position."""
    online = checkpoint.get("online")
    load_checked(run.model.trainable, online if online is not None else checkpoint["trainable"], str(run.resumed_from))
    if run.ema is not None:  # a run that had no EMA before starts it from the weights it resumes
        ema_weights = checkpoint["trainable"] if online is not None else run.model.trainable.state_dict()
        run.ema.module.load_state_dict(ema_weights)
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.scheduler.load_state_dict(checkpoint["scheduler"])
    run.scaler.load_state_dict(checkpoint["scaler"])
    run.mixer.rng.setstate(_as_tuple(checkpoint["mixer_rng"]))
    rank = run.env.rank
    restore_rng(checkpoint["rng"][rank] if rank < len(checkpoint["rng"]) else checkpoint["rng"][0])
    run.state = RunState(
        checkpoint["epoch"], checkpoint["step_in_epoch"], checkpoint["best_top1"], checkpoint.get("kept_best") or []
    )


def _warn_on_other_normalisation(model: DiST, mean, std, env: DistEnv) -> None:
    """Clips are normalised with ``data.mean``/``data.std`` (OpenAI's by default); towers
    trained with other values (e.g. 0.5) see shifted inputs unless the data config says so."""
    towers = getattr(model.visual, "preprocess_cfg", {})
    if not env.is_main or "mean" not in towers:
        return
    if not torch.allclose(torch.tensor([*mean, *std]), torch.tensor([*towers["mean"], *towers["std"]])):
        log.warning(
            "data.mean/data.std %s/%s differ from the normalisation the CLIP towers were trained with, %s/%s: "
            "set data.mean and data.std to the towers' values unless you mean it",
            list(mean),
            list(std),
            list(towers["mean"]),
            list(towers["std"]),
        )


def _describe_clip(source: str) -> str:
    if Path(source).name == RANDOM_TOWERS_FILE:
        return f"random towers (clip.pretrained: random), kept in {source}"
    return source


def _resume_path(resume: str, last_path: Path) -> Path | None:
    """The checkpoint a run resumes from (:data:`RESUME_CHOICES`), or None to start afresh."""
    if resume == "auto":
        return last_path if last_path.is_file() else None
    if resume == "never":
        if last_path.is_file():
            raise ConfigError(
                f"--resume never: {last_path.parent} already holds a run ({last_path}); "
                "give another output_dir, or resume it (--resume auto)"
            )
        return None
    path = Path(resume)
    if not path.is_file():
        raise CheckpointError(f"--resume {resume}: no such checkpoint")
    if last_path.is_file() and path.resolve() != last_path.resolve():
        raise ConfigError(
            f"--resume {resume}: {last_path.parent} already holds another run ({last_path}), which resuming "
            "there would overwrite; give another output_dir"
        )
    return path


def _init_branch(model: DiST, source: str, class_names) -> None:
    """``train.init_from``: the branch's weights from a saved model (any form
    :func:`~dist_video.models.hub.load_model` reads), without its optimiser or schedule."""
    try:
        weights = load_model(source, class_names).trainable.state_dict()
    except FileNotFoundError:
        raise ConfigError(f"train.init_from: {source}: no such file or folder") from None
    load_checked(model.trainable, weights, f"train.init_from {source}")
    log.info("branch initialised from %s", source)


@contextlib.contextmanager
def _validated_weights(run: Run):
    """Within the block the branch holds the weights that are validated and exported: the
    EMA's when ``train.ema_decay`` is set (the optimiser's are put back after)."""
    if run.ema is None:
        yield
        return
    online = {k: v.clone() for k, v in run.model.trainable.state_dict().items()}
    run.model.trainable.load_state_dict(run.ema.module.state_dict())
    try:
        yield
    finally:
        run.model.trainable.load_state_dict(online)


def _keep_best(run: Run, top1: float) -> None:
    """Keep the ``train.keep_best`` best validations as ``best_epochNNN.pt`` (collective:
    every process ranks alike, rank 0 writes and deletes)."""
    ranked = sorted([*run.state.kept_best, [top1, run.state.epoch]], key=lambda r: (-r[0], r[1]))
    kept, dropped = ranked[: run.config.train.keep_best], ranked[run.config.train.keep_best :]
    run.state.kept_best = kept
    if [top1, run.state.epoch] in kept:
        save_run_checkpoint(run, _kept_path(run.out, run.state.epoch))
    if run.env.is_main:
        for _, epoch in dropped:
            _kept_path(run.out, epoch).unlink(missing_ok=True)


def _kept_path(out: Path, epoch: int) -> Path:
    return out / f"best_epoch{epoch:03d}.pt"


def _evaluate(run: Run) -> dict:
    """Validation metrics, computed by rank 0 and shared with every process."""
    report = evaluate_and_report(
        run.model, run.val_loader, run.val_set, run.env, run.out / "eval", desc=f"eval {run.state.epoch}"
    )
    summary = {}
    if report is not None:
        summary = report.summary
        log.info("epoch %d validation: %s", run.state.epoch, json.dumps(summary))
        tqdm.write(f"epoch {run.state.epoch}: val top-1 {summary['top1']:.2f}  top-5 {summary['top5']:.2f}")
    return all_gather_objects(summary, run.env)[0]


def _frozen_clip_source(config: ExperimentConfig, out: Path, env: DistEnv) -> str:
    """The CLIP weights the run uses. Random towers (``clip.pretrained: random``) are
    written once into the run folder, so that resume, eval and predict use the same ones."""
    if config.model.clip.pretrained is None:
        raise ConfigError(NO_CLIP_WEIGHTS)
    if config.model.clip.pretrained != RANDOM:
        return config.model.clip.pretrained
    path = out / RANDOM_TOWERS_FILE
    if env.is_main and not path.is_file():
        torch.manual_seed(config.train.seed)
        state = {k: v.contiguous() for k, v in build_clip(config.model.clip.arch).state_dict().items()}
        with atomic_path(path) as tmp:
            save_file(state, str(tmp))
    barrier(env)
    return str(path)


def _autocast(device: torch.device, dtype: str):
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[dtype])


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return out


def _check_resumable(saved: dict, current: dict, path: Path, allow_change: bool) -> None:
    """Refuse to resume the run of ``path`` with settings other than its own (the keys that
    differ are named), unless ``allow_change``, which logs them. A run folder's random
    towers count as ``random``: they are a function of the architecture and ``train.seed``."""
    before, after = _flatten(saved), _flatten(current)
    for flat in (before, after):
        if Path(str(flat.get(CLIP_KEY))).name == RANDOM_TOWERS_FILE:
            flat[CLIP_KEY] = RANDOM
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k) and k not in RUNTIME_KEYS)
    if not changed:
        return
    listed = ", ".join(f"{k} ({before.get(k)!r} -> {after.get(k)!r})" for k in changed[:6])
    more = f" and {len(changed) - 6} more" if len(changed) > 6 else ""
    if not allow_change:
        raise ConfigError(
            f"{path} was written with other settings: {listed}{more}; use another output folder, "
            "or resume with the new settings (dist-video train --allow-config-change)"
        )
    log.warning("resuming %s with changed settings: %s%s", path, listed, more)


def _global_mean(value: torch.Tensor, env: DistEnv) -> float:
    """The mean of a scalar over all processes (the loss of the whole global batch)."""
    value = value.detach().float().clone()
    if env.distributed:
        torch.distributed.all_reduce(value)
        value /= env.world_size
    return value.item()


def _as_tuple(value):
    """Python's RNG state, which a weights-only checkpoint returns with lists for tuples."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value
