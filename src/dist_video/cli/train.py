"""``dist-video train``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .arguments import add_overrides


def add_parsers(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train",
        help="fine-tune the DiST branch (resumes automatically)",
        description="Train the DiST branch of an experiment config. Re-running the same "
        "command resumes from OUTPUT_DIR/last.pt (see --resume). Under torchrun, trains on every process. "
        "To start from other weights without their optimiser, set train.init_from.",
    )
    train.add_argument("config", help="experiment YAML or packaged recipe (see src/dist_video/configs/experiments)")
    add_overrides(train, "optim.lr=1e-4")
    train.add_argument(
        "--allow-config-change",
        action="store_true",
        help="resume OUTPUT_DIR/last.pt although the settings differ from the ones it was written "
        "with (refused otherwise, naming the keys)",
    )
    train.add_argument(
        "--resume",
        default="auto",
        metavar="auto|never|PATH",
        help="auto (default): resume OUTPUT_DIR/last.pt when it exists; never: start afresh, refusing an "
        "OUTPUT_DIR that holds a run; PATH: resume that checkpoint (e.g. a copy of another run's last.pt) "
        "into an OUTPUT_DIR without a run",
    )
    train.add_argument("--json", action="store_true", help="print the final validation summary as JSON")
    train.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from ..engine.experiment import load_experiment
    from ..engine.reports import format_summary
    from ..engine.train import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_experiment(args.config, args.overrides)
    summary = train(config, args.allow_config_change, args.resume)
    if summary:  # rank 0
        reports = Path(config.output_dir) / "eval"
        print(json.dumps(summary) if args.json else f"final validation ({reports}):\n{format_summary(summary)}")
    return 0
