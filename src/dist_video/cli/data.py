"""Data-set commands: ``check-data``, ``bench-data`` and ``make-synthetic``."""

from __future__ import annotations

import argparse
import json
import os

from .arguments import add_overrides, positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser(
        "check-data",
        help="find missing, unreadable and too-short videos of a data set",
        description="Probe every video of the config's data set in parallel and write the unusable ones "
        "(path, reason) to a TSV file. Exit status 1 when videos are missing or unreadable.",
    )
    check.add_argument("config", help="experiment YAML (its data section is used)")
    check.add_argument("--split", action="append", help="split to check (repeatable; default: all annotated)")
    check.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    check.add_argument("--out", default="bad_videos.tsv", help="TSV output (default bad_videos.tsv)")
    add_overrides(check, "data.decoder=pyav")
    check.set_defaults(func=run_check_data)

    bench = sub.add_parser(
        "bench-data",
        help="measure the training data pipeline (clips/s, decode vs transform time)",
        description="Time decoding and augmentation per clip in this process, and clips/s through the "
        "training loader; print one JSON line.",
    )
    bench.add_argument("config", help="experiment YAML (its data section is used)")
    bench.add_argument("--split", help="split (default: data.train_split)")
    bench.add_argument("--clips", type=positive_int, default=64, help="clips to load (default 64)")
    bench.add_argument("--workers", type=int, default=0, help="loader worker processes (default 0)")
    bench.add_argument("--batch-size", type=positive_int, default=8, help="loader batch size (default 8)")
    bench.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    bench.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and decoder threads of this process (default 1, as in a loader worker)",
    )
    add_overrides(bench, "data.decoder=pyav")
    bench.set_defaults(func=run_bench_data)

    make = sub.add_parser(
        "make-synthetic",
        help="write a synthetic motion data set in Something-Something V2's format",
        description="Render clips of order-only motion classes (each class is its partner played "
        "backwards) to DIR/videos/<id>.webm with SSv2's annotation JSONs. A complete data set made "
        "with the same config and seed is kept as it is.",
    )
    make.add_argument("out_dir", metavar="DIR", help="output directory")
    make.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    make.add_argument("--preset", default="default", help="default (CPU demo), large (GPU) or a YAML file")
    make.add_argument("--train-per-class", type=int, help="training clips per class")
    make.add_argument("--val-per-class", type=int, help="validation clips per class")
    make.add_argument("--num-frames", type=int, help="frames per clip")
    make.add_argument("--size", type=int, help="frame height and width in pixels")
    add_overrides(make, "noise_std=5")
    make.add_argument("--force", action="store_true", help="regenerate even if DIR is complete")
    make.add_argument("--workers", type=int, default=1, help="processes rendering clips (default 1)")
    make.set_defaults(func=run_make_synthetic)


def run_check_data(args: argparse.Namespace) -> int:
    """Exit status 1 when videos are missing or unreadable."""
    from ..data.config import load_data_config
    from ..tools.data_checks import check_data

    config = load_data_config(args.config, args.overrides)
    splits = args.split or list(config.annotations)
    summary = check_data(config, splits, args.out, workers=args.workers)
    print(
        f"checked {summary['videos']} videos of {', '.join(splits)}: {summary['ok']} usable, "
        f"{summary['missing']} missing, {summary['unreadable']} unreadable, "
        f"{summary['too_short']} shorter than {config.num_frames} frames; list in {args.out}"
    )
    return 1 if summary["missing"] or summary["unreadable"] else 0


def run_bench_data(args: argparse.Namespace) -> int:
    from ..data.config import load_data_config
    from ..tools.data_checks import bench_data

    config = load_data_config(args.config, args.overrides)
    print(
        json.dumps(bench_data(config, args.split, args.clips, args.workers, args.batch_size, args.seed, args.threads))
    )
    return 0


def run_make_synthetic(args: argparse.Namespace) -> int:
    import time

    from ..config import parse_yaml
    from ..synthetic import load_synthetic_config, make_synthetic_dataset

    flags = {
        "train_per_class": args.train_per_class,
        "val_per_class": args.val_per_class,
        "num_frames": args.num_frames,
        "height": args.size,
        "width": args.size,
    }
    values = {key: value for key, value in flags.items() if value is not None}
    for item in args.overrides:
        key, _, raw = item.partition("=")
        values[key.strip()] = parse_yaml(raw, f"override {item!r}")
    config = load_synthetic_config(args.preset, **values)
    start = time.perf_counter()
    root = make_synthetic_dataset(args.out_dir, config, seed=args.seed, force=args.force, workers=args.workers)
    print(
        f"{root}: {len(config.classes)} classes, {config.train_per_class * len(config.classes)} training and "
        f"{config.val_per_class * len(config.classes)} validation clips of {config.num_frames} frames at "
        f"{config.height}x{config.width} ({time.perf_counter() - start:.1f} s)"
    )
    return 0
