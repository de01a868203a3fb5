"""The ``dist-video`` command line: one module per command group, each with ``add_parsers``
(registering its commands) and the functions that run them. Heavy imports (torch,
open_clip) happen inside those functions, so that ``--help`` starts at once."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import UserError
from . import bench, data, demo, evaluate, models, predict, push, train

__all__ = ["build_parser", "main"]

# In the order ``dist-video --help`` lists them.
COMMAND_GROUPS = (models, data, train, evaluate, predict, push, demo, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dist-video", description="DiST image-to-video transfer learning.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_parsers(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader of the output left (e.g. `dist-video predict DIR | head`): stop quietly,
        # pointing stdout at /dev/null so that Python's flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (UserError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as err:
        # The user's mistakes (bad data, config, file, flag): one line, no traceback
        # (DIST_VIDEO_DEBUG=1 shows it). Anything else is a bug and shows its traceback.
        if os.environ.get("DIST_VIDEO_DEBUG"):
            raise
        print(f"dist-video {args.command}: error: {err}", file=sys.stderr)
        return 2
