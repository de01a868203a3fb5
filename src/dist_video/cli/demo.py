"""``dist-video demo``: the whole job on a CPU in minutes."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .arguments import add_overrides


def add_parsers(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo",
        help="image-to-video transfer on synthetic videos, on a CPU, in minutes",
        description="Render a synthetic Something-Something-style data set, pre-train a small "
        "CLIP on captioned stills (or use --clip), then compare zero-shot CLIP, a frame-averaging "
        "head and DiST with the train/eval engine. Writes OUT/results.json and plots.",
    )
    demo.add_argument(
        "--out",
        default="runs/demo",
        help="output folder (default runs/demo); data and the pre-trained CLIP are cached there",
    )
    demo.add_argument("--preset", default="default", help="default (CPU), large (GPU), tiny (smoke test) or a YAML")
    demo.add_argument("--clip", help="CLIP weights to use instead of pre-training the small one")
    add_overrides(demo, "dist.optim.epochs=4")
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from ..demo.run import format_results, load_demo_config, run_demo

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    results = run_demo(args.out, load_demo_config(args.preset, args.overrides), args.clip)
    print(format_results(results))
    print(f"results: {Path(args.out) / 'results.json'}")
    return 0
