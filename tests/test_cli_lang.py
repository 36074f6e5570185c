"""The CLI in the learner's language: `--lang` on every command, before or after the subcommand,
the app's remembered language otherwise, and one term per idea with the app."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from studytool.cli import build_parser, main


def _subparsers(parser: argparse.ArgumentParser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _subparsers(sub, (*path, name))


def test_every_command_and_subcommand_takes_lang():
    parser = build_parser()
    found = list(_subparsers(parser))
    assert {p[0] for p, _ in found} >= {
        "doctor",
        "check",
        "solution",
        "today",
        "review",
        "lab",
        "config",
        "cards",
    }
    for path, sub in found:
        opts = {o for a in sub._actions for o in a.option_strings}
        assert "--lang" in opts, path


@pytest.mark.parametrize(
    "argv",
    [
        ["--lang", "zh", "today"],
        ["today", "--lang", "zh"],
        ["--lang=zh", "doctor"],
        ["doctor", "--lang", "zh"],
        ["check", "causal_mask", "--lang", "zh"],
        ["solution", "causal_mask", "--lang", "zh"],
        ["--lang", "zh", "checklist", "tick", "t01"],
        ["checklist", "tick", "t01", "--lang", "zh"],
    ],
)
def test_lang_parses_before_or_after_the_subcommand(argv):
    args = build_parser().parse_args(argv)
    assert args.lang == "zh"


def test_lang_before_the_command_is_used(capsys):
    assert main(["--lang", "zh", "today"]) == 0
    out = capsys.readouterr().out
    assert "待复习" in out and "Due now" not in out


def test_the_cli_follows_the_language_the_app_remembers(studytool_home, capsys):
    studytool_home.mkdir(parents=True, exist_ok=True)
    (studytool_home / "ui.json").write_text(json.dumps({"lang": "zh"}), encoding="utf-8")
    assert main(["today"]) == 0
    assert "今日新卡" in capsys.readouterr().out
    assert main(["today", "--lang", "en"]) == 0  # asked for: wins
    assert "new today" in capsys.readouterr().out
    assert main(["chekc"]) == 2  # even the errors before parsing
    assert "你是想用 check 吗" in capsys.readouterr().err


def test_a_usage_error_is_in_the_language_asked_for(capsys):
    assert main(["checklist", "--lang", "zh", "tick", "t99"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("studytool：出错了：")


def test_today_and_stats_share_the_apps_terms_in_chinese(capsys):
    """The walkthrough's table: 待复习 (not 现在到期), 今日新卡 (not 今天新卡片), 连续学习 N 天;
    reviews counted with 次."""
    outs = []
    for cmd in (["today"], ["stats"]):
        assert main([*cmd, "--lang", "zh"]) == 0
        outs.append(capsys.readouterr().out)
    out = "\n".join(outs)
    for wrong in ("现在到期", "今天新卡片", "今天还可学新卡片"):
        assert wrong not in out, wrong
    assert re.search(r"连续学习 \d+ 天", out) and "今日新卡" in out and "待复习" in out
    assert not re.search(r"复习\s*\d+\s*张", out)
