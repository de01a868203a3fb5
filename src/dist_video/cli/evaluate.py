"""``dist-video eval``."""

from __future__ import annotations

import argparse
import json
import logging

from .arguments import add_overrides


def add_parsers(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser(
        "eval",
        help="multi-view evaluation of a checkpoint",
        description="Evaluate a checkpoint (model directory, training checkpoint or the release's .pyth) on a "
        "split of the config's data set. Prints the accuracy, the most confused classes and the classes of "
        "lowest recall, and writes the reports: metrics.json, per_class_accuracy.csv (recall and precision), "
        "confusion.csv, most_confused.csv, confusion_matrix.png, predictions.jsonl.",
    )
    evaluate.add_argument("config", help="experiment YAML giving the data set and views")
    evaluate.add_argument(
        "--checkpoint",
        required=True,
        help="model directory, training checkpoint (.pt), release checkpoint (.pyth) or hf-hub:org/repo (the Hub)",
    )
    evaluate.add_argument(
        "--split",
        help="the data.annotations key to evaluate, e.g. train, val or test (default: data.eval_split, val)",
    )
    evaluate.add_argument("--out", help="report folder (default OUTPUT_DIR/eval_<checkpoint name>_<split>)")
    evaluate.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    add_overrides(evaluate, "data.num_temporal_views=2")
    evaluate.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from ..engine.evaluate import run_evaluation
    from ..engine.experiment import load_experiment
    from ..engine.reports import format_report

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    report = run_evaluation(load_experiment(args.config, args.overrides), args.checkpoint, args.out, args.split)
    if report is not None:  # rank 0
        print(
            json.dumps(report.summary)
            if args.json
            else format_report(report.summary, report.metrics, report.class_names)
        )
    return 0
