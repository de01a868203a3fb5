"""``dist-video predict``: the top classes of video files, folders and glob patterns, and a
long video's timeline picture."""

from __future__ import annotations

import argparse
import json
import sys

from .arguments import positive_int, positive_seconds


def add_parsers(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser(
        "predict",
        help="top-k classes of videos; a long video's timeline picture",
        description=(
            "Print the most likely classes of each video, averaging the softmax of its temporal views. "
            "An unreadable video is reported and the others are still predicted (exit status 1)."
        ),
    )
    predict.add_argument(
        "videos",
        nargs="+",
        help="video files, folders (their videos, recursively, by extension) or glob patterns ('clips/**/*.mp4')",
    )
    predict.add_argument(
        "--checkpoint",
        required=True,
        help="model directory, training checkpoint (.pt), release checkpoint (.pyth) or hf-hub:org/repo (the Hub)",
    )
    predict.add_argument(
        "--labels",
        help="class names: a file (one per line, classInd.txt or an SSv2 labels JSON) or 'a,b,c' (open vocabulary)",
    )
    predict.add_argument("--top-k", type=positive_int, default=5, help="how many classes to print (default 5)")
    predict.add_argument(
        "--views",
        type=positive_int,
        help="temporal views averaged per video (default: the views the model's training evaluated with, "
        "data.num_temporal_views; 3 for checkpoints that do not record them)",
    )
    predict.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda[:N]")
    predict.add_argument("--json", action="store_true", help="one JSON object per video")
    predict.add_argument(
        "--timeline",
        metavar="OUT.png",
        help="also draw the top-k classes over time in sliding windows, under a strip of frames (one video)",
    )
    predict.add_argument(
        "--window",
        type=positive_seconds,
        help="timeline window in seconds (default: the model's clip span, frames x sampling interval)",
    )
    predict.add_argument(
        "--stride", type=positive_seconds, help="timeline step between windows in seconds (default: window / 4)"
    )
    predict.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    """Exit status 1 when a video could not be read (the others are still predicted)."""
    from ..engine.predict import VideoClassifier, find_videos, parse_labels
    from ..engine.timeline import draw_timeline
    from ..errors import ConfigError

    videos = find_videos(args.videos)
    if args.timeline and len(videos) != 1:
        raise ConfigError(f"--timeline draws one video; {len(videos)} were given")
    if not args.timeline and (args.window or args.stride):
        raise ConfigError("--window and --stride set the timeline's windows; give --timeline OUT.png too")
    classifier = VideoClassifier(args.checkpoint, parse_labels(args.labels), args.device, args.views, args.top_k)
    failed = 0
    for path in videos:
        result = classifier.predict_file(path)
        if result.error is not None:
            print(f"dist-video predict: error: {result.error}", file=sys.stderr)
            failed += 1
            continue
        record = result.to_dict()
        if args.timeline:
            draw_timeline(classifier.timeline(path, args.window, args.stride), args.timeline, args.top_k)
            record["timeline"] = args.timeline
        if args.json:
            print(json.dumps(record))
        else:
            print(result.video)
            for name, prob in result.top_k:
                print(f"  {prob:7.2%}  {name}")
            if args.timeline:
                print(f"  timeline: {args.timeline}")
    return 1 if failed else 0
