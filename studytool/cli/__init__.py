"""The ``studytool`` command line.

Each area registers its subcommands from its own module (``register(subparsers)``); a handler takes
the parsed arguments and returns the exit code. Exit codes: 0 success, 1 a failed result (a failing
check, problems found by doctor), 2 a usage error or invalid content.

``--lang`` is common to every command, before or after the subcommand (``studytool --lang zh
today``, ``studytool today --lang zh``); without it the CLI speaks the language the app remembers
(``ui.json``), else English. Handlers read ``args.lang`` (always set: "en" or "zh", or a command's
own extra choice such as review's "both"); :func:`lang_of` gives the interface language.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from typing import Any

from studytool import __version__

AREAS = (
    "studytool.cli.content",
    "studytool.cli.progress",
    "studytool.cli.review",
    "studytool.cli.settings",
    "studytool.cli.exercises",
    "studytool.cli.doctor",
    "studytool.cli.lab",
)
LANG_CHOICES = ("en", "zh")


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

_LANG_HELP = "language of the output: en or zh (default: the language the app remembers, else en)"


def _common_lang(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every subparser below it a ``--lang`` whose default is "not given"
    (so :func:`resolve_lang` can tell), keeping a command's own choices when it defines one."""
    has = False
    for action in parser._actions:
        if "--lang" in action.option_strings:
            action.default = argparse.SUPPRESS
            has = True
    if not has:
        parser.add_argument("--lang", choices=LANG_CHOICES, default=argparse.SUPPRESS, help=_LANG_HELP)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _common_lang(sub)


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
    _common_lang(parser)
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


def resolve_lang(args: argparse.Namespace) -> None:
    """Set ``args.lang`` when it was not given: the app's remembered language, else the command's
    own default (``lang_default``), else English."""
    if getattr(args, "lang", None) is not None:
        return
    from studytool.config import remembered_lang

    args.lang = remembered_lang() or getattr(args, "lang_default", None) or "en"


_LANG = ["en"]  # this command's interface language (set by main)


def current_lang() -> str:
    """The interface language of the command being run (for helpers that get no arguments)."""
    return _LANG[0]


def print_problems(problems: Any) -> None:
    """Content problems to standard error, in the command's language."""
    for problem in problems:
        print(problem.render(current_lang()) if hasattr(problem, "render") else problem, file=sys.stderr)


def lang_of(args: argparse.Namespace) -> str:
    """The interface language of a parsed command line: "zh" or "en"."""
    return "zh" if getattr(args, "lang", None) == "zh" else "en"


def echo(text: str, hang: int = 0) -> None:
    """Print ``text`` wrapped to the terminal's width (words whole, Chinese by the CJK rules);
    continuation lines are indented by ``hang`` spaces (under a list item's text)."""
    import shutil

    from studytool.textwrap_cjk import wrap

    width = max(20, shutil.get_terminal_size((80, 24)).columns)
    for para in text.split("\n"):
        lines = wrap(para, width, width - hang) or [""]
        print(lines[0])
        for line in lines[1:]:
            print(" " * hang + line)


def _first_command(argv: list[str]) -> tuple[int, str] | None:
    """The position and word of the subcommand (skipping the common options before it)."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--lang":
            i += 2
            continue
        if word.startswith("--lang="):
            i += 1
            continue
        if word.startswith("-"):
            return None  # --help, --version, or a mistake argparse will name
        return i, word
    return None


def _argv_lang(argv: list[str]) -> str:
    """The language asked for on the command line, for errors found before parsing."""
    for i, word in enumerate(argv):
        if word == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith("--lang="):
            return word.split("=", 1)[1]
    from studytool.config import remembered_lang

    return remembered_lang() or "en"


def main(argv: list[str] | None = None) -> int:
    from studytool.i18n import render, t

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    first = _first_command(argv)
    if first is not None:
        names = commands(parser)
        if first[1] not in names:
            lang = _argv_lang(argv)
            close = suggest(first[1], names)
            hint = t("cli.did_you_mean", lang, names=t("cli.or", lang).join(close)) if close else ""
            parser.print_usage(sys.stderr)
            message = t("cli.unknown_command", lang, command=first[1], hint=hint)
            print(t("cli.error", lang, message=message), file=sys.stderr)
            return 2
    args = parser.parse_args(argv)
    if args.command is None:
        from studytool.tui.app import run_app

        return run_app()
    resolve_lang(args)
    _LANG[0] = lang_of(args)
    from studytool.config import ConfigError
    from studytool.store import StoreError

    try:
        return int(args.func(args) or 0)
    except (UsageError, ConfigError, StoreError) as exc:
        msg = getattr(exc, "msg", None)  # a catalogue message: in the language asked for
        message = render(msg, lang_of(args)) if msg is not None else str(exc)
        print(t("cli.error", lang_of(args), message=message), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(t("cli.interrupted", lang_of(args)), file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
