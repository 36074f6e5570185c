"""The ``studytool`` command line.

Each area registers its subcommands from its own module (``register(subparsers)``); a handler takes
the parsed arguments and returns the exit code. Exit codes: 0 success, 1 a failed result (a failing
check, problems found by doctor), 2 a usage error or invalid content.
"""

from __future__ import annotations

import argparse
import difflib
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


# A command's own --help opens with a one-line description; these fill it in for commands
# registered without one (their list help is used for any other).
DESCRIPTIONS = {
    "stats": "Progress statistics: items by state, reviews per day, true retention, streak, "
    "the 30-day forecast, exercises and checklist.",
    "hint": "Show the next hint for an exercise (each call reveals one more).",
    "solution": "Show an exercise's reference solution, once your own passes.",
    "export": "Print all loaded content (questions, insights, cards, checklist, exercises) in one document.",
}


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
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, p in sub.choices.items():
        if not p.description:
            p.description = DESCRIPTIONS.get(name) or (
                helps.get(name, "")[:1].upper() + helps.get(name, "")[1:] + "." if helps.get(name) else None
            )
    return parser


def commands(parser: argparse.ArgumentParser) -> list[str]:
    """The registered command names."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def suggest(word: str, names: list[str]) -> list[str]:
    """Registered commands close to a mistyped one (``chek`` → ``check``), best first."""
    return difflib.get_close_matches(word.lower(), names, n=2, cutoff=0.6)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and not argv[0].startswith("-"):
        names = commands(parser)
        if argv[0] not in names:
            close = suggest(argv[0], names)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            parser.print_usage(sys.stderr)
            print(
                f"studytool: error: unknown command {argv[0]!r}{hint} (studytool --help lists the commands)",
                file=sys.stderr,
            )
            return 2
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
