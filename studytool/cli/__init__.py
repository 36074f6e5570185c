"""The ``studytool`` command line.

Each area registers its subcommands from its own module (``register(subparsers)``); a handler takes
the parsed arguments and returns the exit code. Exit codes: 0 success, 1 a failed result (a failing
check, problems found by doctor), 2 a usage error or invalid content.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from studytool import __version__

AREAS = (
    "studytool.cli.content",
    "studytool.cli.progress",
    "studytool.cli.review",
    "studytool.cli.exercises",
    "studytool.cli.doctor",
    "studytool.cli.lab",
)


class UsageError(Exception):
    """A mistake in how a command was called: printed as ``studytool: error: ...``, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studytool",
        description="Study Transformer architecture (Lecture 03) in the terminal. "
        "Run without a command to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"studytool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in AREAS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from studytool.tui.app import run_app

        return run_app()
    from studytool.config import ConfigError
    from studytool.store import StoreError

    try:
        return int(args.func(args) or 0)
    except (UsageError, ConfigError, StoreError) as exc:
        print(f"studytool: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
