"""`studytool config`: the settings an Anki user looks for, with their meaning; a change is
checked first and nothing is lost when it is wrong."""

from __future__ import annotations

import json
from datetime import timedelta

from studytool.cli import main
from studytool.config import KEYS, load_config


def test_lists_every_setting_with_its_value_and_meaning_in_both_languages(studytool_home, capsys):
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    for key in KEYS:
        assert f"{key} = " in out, key
    assert "New cards introduced per study day" in out and "(default)" in out
    assert "studytool config KEY VALUE" in out
    assert main(["config", "--lang", "zh"]) == 0
    zh = capsys.readouterr().out
    assert "每个学习日引入的新卡片数" in zh and "（默认）" in zh and "可取值：" in zh
    assert main(["config", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["key"] for d in doc] == list(KEYS) and all(d["meaning"] and d["allowed"] for d in doc)


def test_a_change_is_validated_and_written_in_place_keeping_comments(studytool_home, capsys):
    path = studytool_home / "config.toml"
    studytool_home.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# my settings\nnew_per_day = 10  # weekdays\ndesired_retention = 0.9\n", encoding="utf-8"
    )
    assert main(["config", "desired_retention", "0.85"]) == 0
    assert "desired_retention = 0.85 (saved in" in capsys.readouterr().out
    assert load_config().desired_retention == 0.85
    assert main(["config", "new_per_day", "15"]) == 0
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my settings\n") and "new_per_day = 15  # weekdays" in text
    assert main(["config", "learning_steps", "1m 5m 15m"]) == 0
    assert load_config().learning_steps == (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
    assert 'learning_steps = ["1m", "5m", "15m"]' in path.read_text(encoding="utf-8")
    assert main(["config", "enable_fuzzing", "off"]) == 0 and load_config().enable_fuzzing is False
    assert main(["config", "new_per_day"]) == 0
    assert "new_per_day = 15 (default 20)" in capsys.readouterr().out


def test_a_wrong_value_is_a_clear_error_and_nothing_is_lost(studytool_home, capsys):
    path = studytool_home / "config.toml"
    studytool_home.mkdir(parents=True, exist_ok=True)
    path.write_text("new_per_day = 10\n", encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    for argv, words in (
        (
            ["config", "desired_retention", "1.5"],
            "must be a number from 0.7 to 0.99, not 1.5; nothing was changed",
        ),
        (["config", "learning_steps", "2d"], "learning steps must stay under a day"),
        (["config", "day_starts_at", "many"], "must be a whole number from 0 to 23"),
        (["config", "new_cards", "5"], "unknown setting 'new_cards'"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert words in err, (argv, err)
        assert path.read_text(encoding="utf-8") == before
    assert main(["config", "desired_retention", "1.5", "--lang", "zh"]) == 2
    assert "没有做任何改动" in capsys.readouterr().err


def test_a_broken_file_is_not_made_worse_and_reset_goes_back_to_the_default(studytool_home, capsys):
    path = studytool_home / "config.toml"
    studytool_home.mkdir(parents=True, exist_ok=True)
    path.write_text("new_per_day = 10\nday_starts_at = 30\n", encoding="utf-8")
    assert main(["config", "new_per_day", "12"]) == 2  # the other line is wrong: said, not written
    assert f"{path}:2: day_starts_at" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "new_per_day = 10\nday_starts_at = 30\n"
    assert main(["config", "day_starts_at", "5"]) == 0  # fixing the bad line itself works
    assert main(["config", "new_per_day", "--reset"]) == 0
    assert "back to its default, 20" in capsys.readouterr().out
    assert "new_per_day" not in path.read_text(encoding="utf-8")
    assert load_config().day_starts_at == 5
