"""fp32 against ``auto`` precision, side by side: is ``auto`` ever slower than fp32 here?

Runs ``dist-video bench``'s floor and training-step cases for the frozen encoder in fp32
and in what ``auto`` picks on this machine (bf16 where the CPU or GPU runs it natively,
else fp32), alternating the two ``--rounds`` times so that a change in the machine's
load hits both, and prints each round's seconds and the ratio of the medians.

Usage: ``python benchmarks/precision_bench.py ssv2-b16-8+16f --threads 2 --rounds 2``.
Results: docs/efficiency.md.
"""

from __future__ import annotations

import argparse
import json
import statistics

from dist_video.tools.bench import BenchSettings, machine_info, run_bench

CASES = ("floor", "dist_train")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="zoo name or model YAML (random CLIP weights)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    seconds: dict[str, dict[str, list[float]]] = {"fp32": {c: [] for c in CASES}, "auto": {c: [] for c in CASES}}
    picked = None
    for round_ in range(args.rounds):
        for dtype in ("fp32", "auto"):
            settings = BenchSettings(
                model=args.model,
                batch_size=args.batch_size,
                device=args.device,
                dtype=dtype,
                repeats=args.repeats,
                threads=args.threads,
                cases=CASES,
            )
            result = run_bench(settings)
            if dtype == "auto":
                picked = result["settings"]["dtype"]
            for case in CASES:
                seconds[dtype][case].append(result[case]["seconds"])
            print(
                f"round {round_ + 1} {dtype:4s}: " + "  ".join(f"{c} {result[c]['seconds']:.3f} s" for c in CASES),
                flush=True,
            )
    summary = {
        "machine": machine_info(args.device),
        "auto_picks": picked,
        "median_seconds": {d: {c: statistics.median(v) for c, v in cases.items()} for d, cases in seconds.items()},
    }
    summary["auto_over_fp32"] = {
        c: round(summary["median_seconds"]["auto"][c] / summary["median_seconds"]["fp32"][c], 3) for c in CASES
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
