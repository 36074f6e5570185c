"""Bad input anywhere ends in a clear message and exit 2, never a traceback."""

from __future__ import annotations

import sqlite3

from studytool.cli import main
from studytool.store import SCHEMA_VERSION, Store


def test_bad_config_file_is_reported_with_file_and_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDYTOOL_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text("new_per_day = 20\ndesired_retention = 3\n")
    assert main(["stats", "--json"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'config.toml'}:2:" in err
    assert "Traceback" not in err


def test_store_from_a_newer_studytool_is_refused_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDYTOOL_HOME", str(tmp_path))
    Store().close()
    conn = sqlite3.connect(tmp_path / "progress.sqlite3")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    assert main(["checklist"]) == 2
    assert "newer than this studytool understands" in capsys.readouterr().err


def test_a_file_that_is_not_a_store_is_refused_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDYTOOL_HOME", str(tmp_path))
    (tmp_path / "progress.sqlite3").write_bytes(b"not a database, just some text " * 8)
    for argv in (["stats"], ["checklist"], ["review", "--plain"], ["doctor"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert f"{tmp_path / 'progress.sqlite3'}: cannot open the progress store" in err, argv
        assert "Traceback" not in err


def test_a_mistyped_command_suggests_the_right_one(capsys):
    from studytool.cli import main as cli_main

    assert cli_main(["chek"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'chek'; did you mean check" in err and "Traceback" not in err
    assert cli_main(["reveiw", "--plain"]) == 2
    assert "did you mean review?" in capsys.readouterr().err
    assert cli_main(["zzzz"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'zzzz'" in err and "did you mean" not in err


def test_every_command_help_opens_with_a_description(capsys):
    import pytest

    from studytool.cli import build_parser, commands
    from studytool.cli import main as cli_main

    parser = build_parser()
    names = commands(parser)
    assert {"stats", "hint", "solution", "export"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as exc:
            cli_main([name, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        body = out.split("\n\n")
        assert len(body) > 1 and not body[1].startswith(("positional", "options")), name
