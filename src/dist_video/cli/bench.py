"""``dist-video bench``: DiST's training step against its floor and against full fine-tuning."""

from __future__ import annotations

import argparse
import json

CASES = ("floor", "dist_train", "dist_infer", "full_finetune")  # tools.bench.CASES, without importing torch


def add_parsers(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser(
        "bench",
        help="time and memory of a DiST training step vs the frozen encoder and full fine-tuning",
        description="Measure, on the same inputs, the frozen CLIP encoder's forward (floor), a DiST "
        "training step, DiST inference and a full fine-tuning step of the same ViT: median seconds, "
        "peak memory above the loaded model (each case in a fresh process), GFLOPs per view and "
        "trainable parameters. Prints a table, then one JSON object as the last line.",
    )
    bench.add_argument("model", help="zoo name (see `dist-video models`) or model YAML; CLIP weights are random")
    bench.add_argument("--batch-size", type=int, default=1, help="clips per step (default 1)")
    bench.add_argument("--device", default="cpu", help="cpu or cuda")
    bench.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "fp32", "bf16", "fp16"],
        help="dtype of the frozen encoder (DiST.cast_frozen); auto: what training picks on this "
        "hardware (bf16 where native, else fp32); the branch stays fp32 unless --amp",
    )
    bench.add_argument("--repeats", type=int, default=3, help="timed runs per case (the median is reported)")
    bench.add_argument("--warmup", type=int, default=1, help="untimed runs per case before timing")
    bench.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    bench.add_argument("--compile", action="store_true", help="torch.compile the DiST branch and the frozen ViT's MLPs")
    bench.add_argument("--checkpointing", action="store_true", help="activation checkpointing in the DiST branch")
    bench.add_argument(
        "--amp", action="store_true", help="also run the trained parts under autocast to --dtype (mixed precision)"
    )
    bench.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    bench.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    from ..tools.bench import BenchSettings, format_table, run_bench

    settings = BenchSettings(
        model=args.model, batch_size=args.batch_size, device=args.device, dtype=args.dtype,
        repeats=args.repeats, warmup=args.warmup, threads=args.threads, compile=args.compile,
        checkpointing=args.checkpointing, amp=args.amp, cases=tuple(args.cases.split(",")),
    )  # fmt: skip
    result = run_bench(settings)
    print(format_table(result))
    print(json.dumps(result))
    return 0
