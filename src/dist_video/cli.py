"""The ``dist-video`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import yaml

from .errors import UserError


def _data_commands(sub: argparse._SubParsersAction) -> None:
    """Data-pipeline commands (check-data, bench-data)."""
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
    check.add_argument("--set", action="append", default=[], metavar="data.KEY=VALUE", help="config override")

    def run_check(args: argparse.Namespace) -> int:
        from .data.tools import check_data_command

        return check_data_command(args)

    check.set_defaults(func=run_check)

    bench = sub.add_parser(
        "bench-data",
        help="measure the training data pipeline (clips/s, decode vs transform time)",
        description="Time decoding and augmentation per clip in this process, and clips/s through the "
        "training loader; print one JSON line.",
    )
    bench.add_argument("config", help="experiment YAML (its data section is used)")
    bench.add_argument("--split", help="split (default: data.train_split)")
    bench.add_argument("--clips", type=int, default=64, help="clips to load (default 64)")
    bench.add_argument("--workers", type=int, default=0, help="loader worker processes (default 0)")
    bench.add_argument("--batch-size", type=int, default=8, help="loader batch size (default 8)")
    bench.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    bench.add_argument("--threads", type=int, default=1, help="torch and decoder threads of this process "
                       "(default 1, as in a loader worker)")
    bench.add_argument("--set", action="append", default=[], metavar="data.KEY=VALUE", help="config override")

    def run_bench(args: argparse.Namespace) -> int:
        from .data.tools import bench_data_command

        return bench_data_command(args)

    bench.set_defaults(func=run_bench)


def _model_commands(sub: argparse._SubParsersAction) -> None:
    """Model commands (info, models)."""
    info = sub.add_parser(
        "info",
        help="parameters and GFLOPs of a model",
        description="Print one JSON object: parameters (total, trainable) and GFLOPs per view "
        "(multiply-adds, as papers count them) of a zoo model, a model/experiment YAML or a "
        "saved model directory. Counted on the meta device: nothing is allocated or downloaded.",
    )
    info.add_argument("model", help="zoo name (see `dist-video models`), YAML file or model directory")
    info.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="override a model config key, e.g. --set branch.num_frames=32")
    info.set_defaults(func=_run_info)
    models = sub.add_parser("models", help="list the model zoo")
    models.set_defaults(func=_run_models)


def _run_info(args: argparse.Namespace) -> int:
    import torch

    from .models.complexity import count_gflops, count_parameters
    from .models.zoo import create_model, model_config

    source = Path(args.model)
    if source.is_dir():  # a saved model: its config.yaml holds every size
        saved = yaml.safe_load((source / "config.yaml").read_text())
        data = {"clip": {"arch": saved["clip_arch"]}, "branch": saved["branch"],
                "selected_layers": saved["selected_layers"], "num_classes": len(saved["class_names"])}
    else:
        data = args.model
    config = model_config(data, args.overrides)
    with torch.device("meta"):
        model = create_model(config)
    result = {"model": args.model, **count_parameters(model), **count_gflops(model)}
    result["params_trainable_m"] = round(result["params_trainable"] / 1e6, 2)
    result["params_total_m"] = round(result["params_total"] / 1e6, 2)
    if config.published:
        result["published"] = config.published
    print(json.dumps(result))
    return 0


def _run_models(args: argparse.Namespace) -> int:
    from .models.zoo import list_models, model_config

    for name in list_models():
        config = model_config(name)
        top1 = config.published.get("top1")
        print(f"{name:24s} top-1 {top1:5.1f}  {config.description}")
    return 0


def _synthetic_commands(sub: argparse._SubParsersAction) -> None:
    """Synthetic benchmark data commands (make-synthetic)."""
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
    make.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="override any preset key, e.g. --set noise_std=5")
    make.add_argument("--force", action="store_true", help="regenerate even if DIR is complete")
    make.add_argument("--workers", type=int, default=1, help="processes rendering clips (default 1)")

    def run(args: argparse.Namespace) -> int:
        import time

        from .data.synthetic import load_synthetic_config, make_synthetic_dataset

        flags = {"train_per_class": args.train_per_class, "val_per_class": args.val_per_class,
                 "num_frames": args.num_frames, "height": args.size, "width": args.size}
        values = {key: value for key, value in flags.items() if value is not None}
        for item in args.overrides:
            key, _, raw = item.partition("=")
            values[key.strip()] = yaml.safe_load(raw)
        config = load_synthetic_config(args.preset, **values)
        start = time.perf_counter()
        root = make_synthetic_dataset(args.out_dir, config, seed=args.seed, force=args.force, workers=args.workers)
        print(f"{root}: {len(config.classes)} classes, {config.train_per_class * len(config.classes)} training and "
              f"{config.val_per_class * len(config.classes)} validation clips of {config.num_frames} frames at "
              f"{config.height}x{config.width} ({time.perf_counter() - start:.1f} s)")
        return 0

    make.set_defaults(func=run)


def _add_bench_command(sub: argparse._SubParsersAction) -> None:
    """``bench``: DiST's training step against its floor and against full fine-tuning."""
    bench = sub.add_parser(
        "bench",
        help="time and memory of a DiST training step vs the frozen encoder and full fine-tuning",
        description="Measure, on the same inputs, the frozen CLIP encoder's forward (floor), a DiST "
        "training step, DiST inference and a full fine-tuning step of the same ViT: median seconds, "
        "peak memory above the loaded model (each case in a fresh process), GFLOPs per view and "
        "trainable parameters. Prints a table, then one JSON object as the last line.",
    )
    bench.add_argument("model", help="zoo name (see `dist-video models`) or model YAML; CLIP weights are random")
    bench.add_argument("--batch-size", type=int, default=1)
    bench.add_argument("--device", default="cpu", help="cpu or cuda")
    bench.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                       help="dtype of the frozen encoder (DiST.cast_frozen); auto: what training picks on this "
                       "hardware (bf16 where native, else fp32); the branch stays fp32 unless --amp")
    bench.add_argument("--repeats", type=int, default=3, help="timed runs per case (the median is reported)")
    bench.add_argument("--warmup", type=int, default=1, help="untimed runs per case before timing")
    bench.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    bench.add_argument("--compile", action="store_true", help="torch.compile the DiST branch")
    bench.add_argument("--checkpointing", action="store_true", help="activation checkpointing in the DiST branch")
    bench.add_argument("--amp", action="store_true",
                       help="also run the trained parts under autocast to --dtype (mixed precision)")
    bench.add_argument("--cases", default=None, help="comma-separated subset of floor,dist_train,dist_infer,full_finetune")
    bench.set_defaults(func=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from .engine.bench import CASES, BenchSettings, format_table, run_bench

    settings = BenchSettings(
        model=args.model, batch_size=args.batch_size, device=args.device, dtype=args.dtype,
        repeats=args.repeats, warmup=args.warmup, threads=args.threads, compile=args.compile,
        checkpointing=args.checkpointing, amp=args.amp, cases=tuple(args.cases.split(",")) if args.cases else CASES,
    )  # fmt: skip
    result = run_bench(settings)
    print(format_table(result))
    print(json.dumps(result))
    return 0


def _engine_commands(sub: argparse._SubParsersAction) -> None:
    """Training / evaluation / prediction / demo / bench commands."""
    _add_bench_command(sub)


def _training_commands(sub: argparse._SubParsersAction) -> None:
    """train, eval, predict."""
    train = sub.add_parser("train", help="fine-tune the DiST branch (resumes automatically)",
                           description="Train the DiST branch of an experiment config. Re-running the same "
                           "command resumes from OUTPUT_DIR/last.pt. Under torchrun, trains on every process.")
    train.add_argument("config", help="experiment YAML (see src/dist_video/configs/experiments)")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. --set optim.lr=1e-4 (repeatable)")
    train.add_argument("--allow-config-change", action="store_true",
                       help="resume OUTPUT_DIR/last.pt although the settings differ from the ones it was written "
                       "with (refused otherwise, naming the keys)")
    train.set_defaults(func=_run_train)

    evaluate = sub.add_parser("eval", help="multi-view evaluation of a checkpoint",
                              description="Evaluate a checkpoint (model directory, training checkpoint "
                              "or the release's .pyth) on the config's validation split.")
    evaluate.add_argument("config", help="experiment YAML giving the data set and views")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--out", help="report folder (default OUTPUT_DIR/eval)")
    evaluate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    evaluate.set_defaults(func=_run_eval)

    predict = sub.add_parser("predict", help="top-k classes of video files")
    predict.add_argument("videos", nargs="+")
    predict.add_argument("--checkpoint", required=True,
                         help="model directory, training checkpoint (.pt) or release checkpoint (.pyth)")
    predict.add_argument("--labels", help="class names: a file (one per line) or 'a,b,c' (open vocabulary)")
    predict.add_argument("--top-k", type=_positive_int, default=5, help="how many classes to print (default 5)")
    predict.add_argument("--views", type=_positive_int, default=1, help="temporal views averaged per video")
    predict.add_argument("--device", default="cuda" if _cuda() else "cpu")
    predict.add_argument("--json", action="store_true", help="one JSON object per video")
    predict.set_defaults(func=_run_predict)


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _run_train(args: argparse.Namespace) -> int:
    from .engine.experiment import load_experiment
    from .engine.trainer import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics = train(load_experiment(args.config, args.overrides), args.allow_config_change)
    if metrics:
        print(json.dumps(metrics))
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    from .engine.evaluate import run_evaluation
    from .engine.experiment import load_experiment

    summary = run_evaluation(load_experiment(args.config, args.overrides), args.checkpoint, args.out)
    if summary:
        print(json.dumps(summary))
    return 0


def _run_predict(args: argparse.Namespace) -> int:
    from .data.decode import DecodeError
    from .engine.predict import load_for_inference, parse_labels, predict_video

    runner = load_for_inference(args.checkpoint, parse_labels(args.labels), args.device)
    failed = 0
    for path in args.videos:
        try:
            top = predict_video(runner, path, args.views, args.top_k)
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


def _demo_commands(sub: argparse._SubParsersAction) -> None:
    """demo: the whole job on a CPU in minutes."""
    demo = sub.add_parser("demo", help="image-to-video transfer on synthetic videos, on a CPU, in minutes",
                          description="Render a synthetic Something-Something-style data set, pre-train a small "
                          "CLIP on captioned stills (or use --clip), then compare zero-shot CLIP, a frame-averaging "
                          "head and DiST with the train/eval engine. Writes OUT/results.json and plots.")
    demo.add_argument("--out", default="runs/demo", help="output folder (default runs/demo); data and the "
                      "pre-trained CLIP are cached there")
    demo.add_argument("--preset", default="default", help="default (CPU), large (GPU), tiny (smoke test) or a YAML")
    demo.add_argument("--clip", help="CLIP weights to use instead of pre-training the small one")
    demo.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="override a demo config key, e.g. --set dist.optim.epochs=4")
    demo.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo.run import format_results, load_demo_config, run_demo

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    results = run_demo(args.out, load_demo_config(args.preset, args.overrides), args.clip)
    print(format_results(results))
    print(f"results: {Path(args.out) / 'results.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dist-video", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _model_commands(sub)
    _data_commands(sub)
    _synthetic_commands(sub)
    _training_commands(sub)
    _demo_commands(sub)
    _engine_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as err:
        # The user's mistakes (bad data, config, file, flag): one line, no traceback
        # (DIST_VIDEO_DEBUG=1 shows it). Anything else is a bug and shows its traceback.
        if os.environ.get("DIST_VIDEO_DEBUG"):
            raise
        print(f"dist-video {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
