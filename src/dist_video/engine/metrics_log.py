"""A training run's metrics as they are logged: one JSON line per logged step
(``metrics.jsonl``), TensorBoard scalars under namespaced tags and, when asked, Weights &
Biases. Written by rank 0; a resumed run logs each step once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io import atomic_path

__all__ = ["METRIC_TAGS", "MetricsLog"]

# TensorBoard / W&B tags of the metrics that metrics.jsonl holds under their plain names.
METRIC_TAGS = {
    "loss": "train/loss",
    "clips_per_s": "train/clips_per_s",
    "decode_failures": "train/decode_failures",
    "lr": "lr/base",
    "val_top1": "val/top1",
    "val_top5": "val/top5",
}


class MetricsLog:
    """The metrics of the run in ``out``, resuming at ``start_step``: rows logged past it
    (after the checkpoint the run resumes from) are dropped, TensorBoard is purged past it.
    ``wandb_project`` also logs to Weights & Biases, continuing the run's W&B run (its id is
    kept in ``out``); ``config`` is what W&B records. Does nothing unless ``enabled``."""

    def __init__(
        self,
        out: Path,
        enabled: bool,
        start_step: int = 0,
        wandb_project: str | None = None,
        config: dict[str, Any] | None = None,
    ):
        self.enabled = enabled
        self.writer = self.wandb = None
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        path = out / "metrics.jsonl"
        if path.is_file():
            rows = [line for line in path.read_text().splitlines() if line.strip()]
            kept = [line for line in rows if json.loads(line)["step"] <= start_step]
            if len(kept) < len(rows):
                with atomic_path(path) as tmp:
                    tmp.write_text("".join(f"{line}\n" for line in kept))
        if wandb_project:
            self.wandb = _start_wandb(out, wandb_project, config or {})
        self.file = path.open("a")
        self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=start_step + 1 if start_step else None)

    def log(self, step: int, **values) -> None:
        if not self.enabled:
            return
        self.file.write(json.dumps({"step": step, **values}) + "\n")
        self.file.flush()
        scalars = {METRIC_TAGS.get(k, k): v for k, v in values.items() if isinstance(v, (int, float)) and k != "epoch"}
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)
        if self.wandb is not None:
            self.wandb.log({**scalars, "epoch": values.get("epoch")}, step=step)

    def close(self) -> None:
        if self.enabled:
            self.file.close()
            self.writer.close()
            if self.wandb is not None:
                self.wandb.finish()


def _start_wandb(out: Path, project: str, config: dict[str, Any]):
    """A Weights & Biases run for the run in ``out``, continued on resume."""
    try:
        import wandb
    except ImportError:
        raise ConfigError("train.wandb_project: W&B logging needs the wandb package (pip install wandb)") from None
    id_file = out / "wandb_run_id"
    run_id = id_file.read_text().strip() if id_file.is_file() else wandb.util.generate_id()
    with atomic_path(id_file) as tmp:
        tmp.write_text(run_id)
    return wandb.init(project=project, name=out.name, id=run_id, resume="allow", dir=str(out), config=config)
