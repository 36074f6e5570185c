"""The message catalogue (studytool/i18n): every learner-facing word in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from studytool.i18n import catalog
from studytool.i18n.catalog import Msg, render, t


def test_shipped_catalogue_has_no_structural_problems():
    problems = catalog.problems()
    assert not problems, "\n".join(f"{p}:{line}: {msg}" for p, line, msg in problems)
    assert catalog.namespaces(), "the catalogue ships at least one namespace"


def test_every_entry_has_both_languages_and_a_line():
    entries = list(catalog.entries())
    assert entries
    for e in entries:
        assert e.line >= 1 and e.file.suffix == ".yaml"
        assert set(e.texts) == {"en", "zh"}, e.key


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / f"{name}.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_problems_name_file_line_and_what(tmp_path: Path):
    _write(
        tmp_path,
        "demo",
        "ok:\n  en: 'a {n}'\n  zh: '甲 {n}'\n"
        "fields:\n  en: 'a {n}'\n  zh: '甲 {m}'\n"
        "nozh:\n  en: 'only english'\n"
        "empty:\n  en: 'x'\n  zh: '  '\n"
        "notmap: 'plain'\n"
        "ok:\n  en: 'again'\n  zh: '再'\n"
        "badfmt:\n  en: 'a {'\n  zh: '甲 {'\n"
        "extra:\n  en: 'x'\n  zh: '甲'\n  fr: 'x'\n",
    )
    got = {(line, msg.split(":")[0]) for _p, line, msg in catalog.problems(tmp_path)}
    msgs = [f"{line}: {m}" for _p, line, m in catalog.problems(tmp_path)]
    assert (4, "'fields'") in got, msgs
    assert any(line == 7 and "no zh text" in m for _p, line, m in catalog.problems(tmp_path)), msgs
    assert any(line == 9 and "no zh text" in m for _p, line, m in catalog.problems(tmp_path)), msgs
    assert any(line == 12 and "mapping" in m for _p, line, m in catalog.problems(tmp_path)), msgs
    assert any(line == 13 and "duplicate key 'ok'" in m for _p, line, m in catalog.problems(tmp_path)), msgs
    assert any(line == 16 and "does not parse" in m for _p, line, m in catalog.problems(tmp_path)), msgs
    assert any(line == 19 and "unknown language" in m for _p, line, m in catalog.problems(tmp_path)), msgs
    assert not any(line == 1 for _p, line, _m in catalog.problems(tmp_path)), msgs


def test_invalid_yaml_is_a_problem_with_a_line(tmp_path: Path):
    _write(tmp_path, "broken", "a:\n  en: 'x'\n  zh: [unclosed\n")
    (problem,) = catalog.problems(tmp_path)
    assert problem[1] >= 3 and "not valid YAML" in problem[2]


def test_render_nested_messages_mappings_and_lists():
    evidence = Msg("checklist.evidence_lab", id="layernorm", run=3)
    assert render(evidence, "en") == "lab layernorm run #3 completed"
    assert render(evidence, "zh") == "实验 layernorm 第 3 次运行已完成"
    assert evidence.both() == {"en": render(evidence, "en"), "zh": render(evidence, "zh")}
    # a field may be a Msg, a {en, zh} mapping or a list of them (joined per language)
    m = Msg("review.remaining", n=Msg("checklist.evidence_question", id="Q13"))
    assert render(m, "zh") == "还有 Q13 已回忆起 张"
    items = [{"en": "a", "zh": "甲"}, {"en": "b", "zh": "乙"}]
    assert t("review.unsuspended", "en", title=items) == "Back in review: a, b"
    assert t("review.unsuspended", "zh", title=items) == "已恢复复习：甲、乙"
    assert render("plain code", "zh") == "plain code"
    assert render({"en": "x", "zh": "叉"}, "zh") == "叉"
    assert t("review.nothing_due", "fr") == t("review.nothing_due", "en")  # unknown → English


def test_unknown_keys_and_namespaces_are_errors_not_blanks():
    with pytest.raises(catalog.CatalogError):
        t("review.no_such_key", "en")
    with pytest.raises(catalog.CatalogError):
        t("no_such_namespace.key", "en")
    with pytest.raises(catalog.CatalogError):
        t("no-dot", "en")
    assert catalog.missing_keys(["review.rated", "review.nope"]) == ["review.nope"]
