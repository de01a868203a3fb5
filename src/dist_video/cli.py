"""The ``dist-video`` command line."""

from __future__ import annotations

import argparse
import sys


def _data_commands(sub: argparse._SubParsersAction) -> None:
    """Data-pipeline commands (check-data, bench-data)."""


def _model_commands(sub: argparse._SubParsersAction) -> None:
    """Model commands (info)."""


def _synthetic_commands(sub: argparse._SubParsersAction) -> None:
    """Synthetic benchmark data commands (make-synthetic)."""


def _engine_commands(sub: argparse._SubParsersAction) -> None:
    """Training / evaluation / prediction / demo / bench commands."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dist-video", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _model_commands(sub)
    _data_commands(sub)
    _synthetic_commands(sub)
    _engine_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
