"""``dist-video push``: upload a trained model to the Hugging Face Hub."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    push = sub.add_parser(
        "push",
        help="upload a model to the Hugging Face Hub",
        description="Upload a model (weights, config with its preprocessing, and a generated model card) to a "
        "Hugging Face Hub repository, created if missing; log in first (`hf auth login`) or give --token. "
        "Load it back with `--checkpoint hf-hub:REPO_ID` or dist_video.load_model('hf-hub:REPO_ID').",
    )
    push.add_argument("checkpoint", help="model directory, training checkpoint (.pt) or release checkpoint (.pyth)")
    push.add_argument("repo_id", help="the Hub repository, e.g. me/dist-ssv2-b16")
    push.add_argument("--labels", help="class names (a file as for predict, or 'a,b,c'): needed for a .pyth")
    push.add_argument("--recipe", help="the training recipe, for the card (e.g. ssv2/vit-b16-8+16f)")
    push.add_argument("--dataset", help="the data set it was trained on, for the card (e.g. something-something-v2)")
    push.add_argument("--metrics", help="an evaluation's metrics.json: its top-1, top-5 and mean class accuracy")
    push.add_argument("--private", action="store_true", help="create the repository private")
    push.add_argument("--token", help="a Hub token (default: the logged-in user's)")
    push.set_defaults(func=run_push)


# What of an evaluation's metrics.json goes on the card.
CARD_METRICS = ("top1", "top5", "mean_class_accuracy")


def run_push(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from ..engine.predict import parse_labels
    from ..errors import ConfigError
    from ..models.hub import load_model, push_to_hub

    metrics = None
    if args.metrics:
        try:
            summary = json.loads(Path(args.metrics).read_text())
        except json.JSONDecodeError as err:
            raise ConfigError(f"--metrics {args.metrics}: not a JSON file ({err})") from None
        metrics = {key: round(float(summary[key]), 2) for key in CARD_METRICS if key in summary}
        if not metrics:
            raise ConfigError(f"--metrics {args.metrics}: none of {', '.join(CARD_METRICS)} in it")
    model = load_model(args.checkpoint, parse_labels(args.labels))
    url = push_to_hub(model, args.repo_id, args.recipe, args.dataset, metrics, private=args.private, token=args.token)
    print(f"uploaded: {url}\nload it with: dist_video.load_model('hf-hub:{args.repo_id}')")
    return 0
