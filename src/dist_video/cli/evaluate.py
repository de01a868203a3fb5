"""``dist-video eval``."""

from __future__ import annotations

import argparse
import json

from .arguments import add_overrides


def add_parsers(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser(
        "eval",
        help="multi-view evaluation of a checkpoint",
        description="Evaluate a checkpoint (model directory, training checkpoint "
        "or the release's .pyth) on the config's validation split.",
    )
    evaluate.add_argument("config", help="experiment YAML giving the data set and views")
    evaluate.add_argument(
        "--checkpoint", required=True, help="model directory, training checkpoint (.pt) or release checkpoint (.pyth)"
    )
    evaluate.add_argument("--out", help="report folder (default OUTPUT_DIR/eval_<checkpoint name>)")
    add_overrides(evaluate, "data.num_temporal_views=2")
    evaluate.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from ..engine.evaluate import run_evaluation
    from ..engine.experiment import load_experiment

    summary = run_evaluation(load_experiment(args.config, args.overrides), args.checkpoint, args.out)
    if summary:
        print(json.dumps(summary))
    return 0
