"""``dist-video predict``: the top classes of video files."""

from __future__ import annotations

import argparse
import json
import sys

from .arguments import positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser(
        "predict",
        help="top-k classes of video files",
        description="Print the most likely classes of each video, averaging the softmax of its temporal views.",
    )
    predict.add_argument("videos", nargs="+", help="video files")
    predict.add_argument(
        "--checkpoint", required=True, help="model directory, training checkpoint (.pt) or release checkpoint (.pyth)"
    )
    predict.add_argument("--labels", help="class names: a file (one per line) or 'a,b,c' (open vocabulary)")
    predict.add_argument("--top-k", type=positive_int, default=5, help="how many classes to print (default 5)")
    predict.add_argument("--views", type=positive_int, default=1, help="temporal views averaged per video")
    predict.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda[:N]")
    predict.add_argument("--json", action="store_true", help="one JSON object per video")
    predict.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    """Exit status 1 when a video could not be read (the others are still predicted)."""
    import torch

    from ..data.decode import DecodeError
    from ..engine.predict import parse_labels, predict_video
    from ..models.hub import load_model

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    model = load_model(args.checkpoint, parse_labels(args.labels), device)
    failed = 0
    for path in args.videos:
        try:
            top = predict_video(model, path, args.views, args.top_k)
        except (DecodeError, IndexError) as err:
            print(f"dist-video predict: error: {err}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            print(json.dumps({"video": path, "top_k": [{"label": n, "prob": round(p, 6)} for n, p in top]}))
        else:
            print(path)
            for name, prob in top:
                print(f"  {prob:7.2%}  {name}")
    return 1 if failed else 0
