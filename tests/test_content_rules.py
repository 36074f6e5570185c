"""Mechanical rules for the shipped study content (issue 10).

Each rule reads the content from a root directory (``content/`` and ``exercises/`` beside each
other), so the same checks can be pointed at an old copy of the content: every rule here fails on
the content as it was before issue 10 (``test_rules_fail_on_the_content_before_issue_10``).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from studytool.content import (
    CLOZE_RE,
    FIGURE_KINDS,
    Card,
    ExerciseMeta,
    Text,
    hints_for_failure,
    load_content,
)

REPO = Path(__file__).resolve().parent.parent
BEFORE_ISSUE_10 = "3751cef"  # the last commit before this work

CJK = r"[\u3400-\u9fff\uf900-\ufaff]"
ASCII_PUNCT_AFTER_CJK = re.compile(CJK + r"[.,:;?!]")


# --------------------------------------------------------------------------- readers


def _zh_fields(obj, where: str):
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "zh" and isinstance(value, str):
                yield where, value
            else:
                yield from _zh_fields(value, f"{where}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _zh_fields(value, f"{where}[{i}]")


def shipped_zh(root: Path, loader=load_content) -> list[tuple[str, str]]:
    """Every Chinese text a learner can see: (where, text). ``loader`` builds the cards whose
    Chinese verdict is checked (the content module's ``load_content``)."""
    out = []
    files = sorted((root / "content").glob("*.yaml")) + sorted((root / "exercises").glob("*/exercise.yaml"))
    for f in files:
        if f.name == "glossary.yaml":
            continue
        out.extend(_zh_fields(yaml.safe_load(f.read_text(encoding="utf-8")), str(f)))
    for f in sorted((root / "exercises").glob("*/prompt.zh.md")):
        out.append((str(f), f.read_text(encoding="utf-8")))
    content, _ = loader(root / "content", root / "exercises", include_decks=False)
    for card in content.cards:
        if card.type == "truefalse":  # the verdict the app and the CLI print before the explanation
            out.append((f"card {card.id} reveal", card.reveal("zh")))
    return out


def cloze_problems(root: Path) -> list[str]:
    data = yaml.safe_load((root / "content" / "flashcards.yaml").read_text(encoding="utf-8"))
    out = []
    for card in data["cards"]:
        if card.get("type") != "cloze":
            continue
        n_en = len(CLOZE_RE.findall(card["text"]["en"]))
        n_zh = len(CLOZE_RE.findall(card["text"]["zh"]))
        if n_en != n_zh:
            out.append(f"{card['id']}: {n_en} deletions in en, {n_zh} in zh")
        elif n_en != 1:
            out.append(f"{card['id']}: {n_en} deletions (one concept per card: one deletion)")
    return out


def punctuation_problems(root: Path, loader=load_content) -> list[str]:
    out = []
    for where, text in shipped_zh(root, loader):
        for m in ASCII_PUNCT_AFTER_CJK.finditer(text):
            out.append(
                f"{where}: ASCII {m.group()[-1]!r} after Chinese: "
                f"{text[max(0, m.start() - 12) : m.end() + 4]!r}"
            )
    return out


def glossary_problems(root: Path, glossary: Path) -> list[str]:
    terms = yaml.safe_load(glossary.read_text(encoding="utf-8"))["terms"]
    texts = [(w, t.replace("`", "")) for w, t in shipped_zh(root)]
    out = []
    for term in terms:
        if not any(term["zh"] in t for _, t in texts):
            out.append(f"preferred term {term['zh']!r} ({term['en']}) appears nowhere")
        for bad in term.get("forbidden", []):
            for where, t in texts:
                if bad in t:
                    out.append(f"{where}: {bad!r} — say {term['zh']!r} ({term['en']})")
        for pattern in term.get("patterns", []):
            for where, t in texts:
                if re.search(pattern, t):
                    out.append(f"{where}: matches {pattern!r} — say {term['zh']!r}")
    return out


EXPECT = {"prompt.md": ("## What to expect", "cannot show"), "prompt.zh.md": ("## 预期结果", "不能说明")}


def prompt_problems(root: Path) -> list[str]:
    out = []
    for ex in sorted(p for p in (root / "exercises").iterdir() if (p / "exercise.yaml").is_file()):
        for name, (heading, limit) in EXPECT.items():
            path = ex / name
            if not path.is_file():
                out.append(f"{path}: missing")
                continue
            text = path.read_text(encoding="utf-8")
            if heading not in text:
                out.append(f"{path}: no '{heading}' section")
                continue
            section = text.split(heading, 1)[1].split("\n## ", 1)[0]
            if limit not in section:
                out.append(
                    f"{path}: the '{heading}' section does not say what the exercise {limit} ('{limit}')"
                )
            if len(section.split()) < 25 and name == "prompt.md":
                out.append(f"{path}: the '{heading}' section is too short to state a result")
    return out


FIGURE_LINKS = {"t02": {"pe"}, "t06": {"mask"}, "p06": {"pe", "rope", "alibi"}}


def checklist_problems(root: Path) -> list[str]:
    items = {
        i["id"]: i
        for i in yaml.safe_load((root / "content" / "checklist.yaml").read_text(encoding="utf-8"))[
            "checklist"
        ]
    }
    out = []
    for cid, kinds in FIGURE_LINKS.items():
        have = set(items[cid].get("figures") or [])
        if not kinds <= have:
            out.append(f"checklist {cid}: links figures {sorted(have)}, needs {sorted(kinds)}")
    if "sinusoidal_pe" not in (items["t02"].get("exercises") or []):
        out.append("checklist t02: does not link the sinusoidal_pe exercise")
    return out


ALIBI_YEAR = re.compile(r"Press(?: et al\.,?| 等，?| 等人（?),? ?2022")


def citation_problems(root: Path) -> list[str]:
    """One year for the ALiBi paper: the 2021 preprint (the ICLR 2022 version is named as such)."""
    out = []
    paths = sorted((root / "content").glob("*.yaml")) + sorted((root / "exercises").glob("*/*.md"))
    for p in paths:
        for m in ALIBI_YEAR.finditer(p.read_text(encoding="utf-8")):
            out.append(f"{p}: {m.group()!r} — cite ALiBi as Press et al. 2021")
    return out


def hint_key_problems(root: Path) -> list[str]:
    """Every exercise has hints keyed to the grader's tests, and every key names a real test."""
    exercises = {
        e.id: e for e in load_content(root / "content", root / "exercises", include_decks=False)[0].exercises
    }
    out = []
    for eid, ex in exercises.items():
        names = {t.name for t in importlib.import_module(f"studytool.grader.checks.{eid}").TESTS}
        if len(ex.test_hints) < 3:
            out.append(f"{eid}: {len(ex.test_hints)} test_hints (write them for the common failures)")
        for key, _ in ex.test_hints:
            if key not in names:
                out.append(f"{eid}: test_hints key {key!r} names no test in grader/checks/{eid}.py")
    return out


# --------------------------------------------------------------------------- the rules


def _here() -> Path:
    return REPO


def test_every_cloze_has_one_deletion_in_both_languages():
    assert cloze_problems(_here()) == []


def test_no_ascii_punctuation_directly_after_chinese():
    assert punctuation_problems(_here()) == []


def test_one_term_per_idea_from_the_glossary():
    assert glossary_problems(_here(), REPO / "content" / "glossary.yaml") == []


def test_every_prompt_states_its_expected_result_and_limits():
    assert prompt_problems(_here()) == []


def test_checklist_links_the_figures_that_visualise():
    assert checklist_problems(_here()) == []


def test_figure_kinds_match_the_apps_figures():
    from studytool.tui.figures import FIGURES

    assert set(FIGURE_KINDS) == set(FIGURES)


def test_alibi_is_cited_with_one_year():
    assert citation_problems(_here()) == []


def test_test_hints_name_real_grader_tests():
    assert hint_key_problems(_here()) == []


def test_the_punctuation_rule_sees_the_zh_verdict():
    card = Card(
        "x",
        "truefalse",
        "architecture",
        "d",
        statement=Text("s", "说法"),
        answer=False,
        explanation=Text("e", "解释。"),
    )
    assert card.reveal("zh") == "答案：错误。解释。"  # the verdict worded from the catalogue (review.yaml)
    assert not ASCII_PUNCT_AFTER_CJK.search(card.reveal("zh"))
    assert ASCII_PUNCT_AFTER_CJK.search("错误. 解释")


# --------------------------------------------------------------------------- hints for a failure


def _meta(tmp_path: Path) -> ExerciseMeta:
    t = lambda s: Text(s, s + "（中）")  # noqa: E731
    return ExerciseMeta(
        "x",
        1,
        t("X"),
        "efficiency",
        tmp_path,
        hints=(t("g1"), t("g2")),
        test_hints=(("test A", (t("a1"), t("g2"))), ("test B", (t("b1"),))),
    )


def test_hints_for_failure_puts_the_failing_tests_first(tmp_path):
    meta = _meta(tmp_path)
    got = [h.en for h in hints_for_failure(meta, ["test B", "test A"])]
    assert got == ["b1", "a1", "g2", "g1"]  # B's, then A's, then the general ones not shown yet


def test_hints_for_failure_without_matching_tests_gives_the_general_hints(tmp_path):
    meta = _meta(tmp_path)
    assert [h.en for h in hints_for_failure(meta, [])] == ["g1", "g2"]
    assert [h.en for h in hints_for_failure(meta, ["renamed test"])] == ["g1", "g2"]


def test_builtin_hints_for_a_real_failure():
    content, _ = load_content(include_decks=False)
    meta = content.exercise("flash_attention")
    name = next(n for n, _ in meta.test_hints if n.startswith("every block size"))
    hints = hints_for_failure(meta, [name])
    assert "exp(m − m')" in hints[0].en and hints[len(meta.test_hints[0][1]) :]
    assert hints[-len(meta.hints) :] == list(meta.hints)


# --------------------------------------------------------------------------- validation


def _mini(tmp_path: Path, checklist_extra: str = "", exercise_extra: str = "") -> tuple[Path, Path]:
    import shutil

    cdir, edir = tmp_path / "content", tmp_path / "exercises"
    shutil.copytree(REPO / "content", cdir)
    shutil.copytree(REPO / "exercises" / "alibi", edir / "alibi")
    (cdir / "checklist.yaml").write_text(
        (cdir / "checklist.yaml").read_text() + checklist_extra, encoding="utf-8"
    )
    (edir / "alibi" / "exercise.yaml").write_text(
        (edir / "alibi" / "exercise.yaml").read_text() + exercise_extra, encoding="utf-8"
    )
    return cdir, edir


def _problems(cdir: Path, edir: Path) -> list[str]:
    _, problems = load_content(cdir, edir, include_decks=False)
    return [str(p) for p in problems if "alibi" in p.file or "checklist" in p.file]


def test_an_unknown_figure_is_a_file_line_error(tmp_path):
    extra = (
        "  - id: t99\n    group: theory\n    text: {en: x, zh: 某}\n    questions: [q13]\n"
        "    figures: [pe, heatmap]\n"
    )
    cdir, edir = _mini(tmp_path, checklist_extra=extra)
    lines = (cdir / "checklist.yaml").read_text().splitlines()
    line = next(i for i, s in enumerate(lines, 1) if "heatmap" in s)
    probs = _problems(cdir, edir)
    assert any(p.startswith(f"{cdir / 'checklist.yaml'}:{line}:") and "'heatmap'" in p for p in probs), probs


@pytest.mark.parametrize(
    "extra, message",
    [
        ('  "a test": "not a list"\n', "must be a non-empty list"),
        ('  "a test":\n    - {en: only english}\n', "missing the 'zh' text"),
    ],
)
def test_bad_test_hints_are_file_line_errors(tmp_path, extra, message):
    cdir, edir = _mini(tmp_path)
    path = edir / "alibi" / "exercise.yaml"
    text = path.read_text()
    head, _ = text.split("test_hints:", 1)
    path.write_text(head + "test_hints:\n" + extra, encoding="utf-8")
    probs = _problems(cdir, edir)
    assert any(p.startswith(f"{path}:") and message in p for p in probs), probs


# --------------------------------------------------------------------------- against the old content


def test_rules_fail_on_the_content_before_issue_10(tmp_path):
    """Every rule above must catch what issue 10 found: run each on the content as it was."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", BEFORE_ISSUE_10, "content", "exercises"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no git history here (installed copy)")
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive, check=True)
    old = tmp_path
    assert cloze_problems(old)  # e.g. sinusoidal-pe-formula-cloze had {{sin}} and {{cos}}
    old_module = tmp_path / "old_content.py"
    old_module.write_bytes(
        subprocess.run(
            ["git", "-C", str(REPO), "show", f"{BEFORE_ISSUE_10}:studytool/content.py"],
            capture_output=True,
            check=True,
        ).stdout
    )
    spec = importlib.util.spec_from_file_location("old_content", old_module)
    old_content = importlib.util.module_from_spec(spec)
    sys.modules["old_content"] = old_content  # dataclasses look their module up
    try:
        spec.loader.exec_module(old_content)
        assert any("错误." in p or "正确." in p for p in punctuation_problems(old, old_content.load_content))
    finally:
        del sys.modules["old_content"]
    bad = glossary_problems(old, REPO / "content" / "glossary.yaml")
    for variant in ("运行最大值", "相遇", "一袋 token", "诚实", "墙上时间", "IO 优化原理"):
        assert any(repr(variant) in p for p in bad), variant
    assert len(prompt_problems(old)) == 16  # no prompt said what to expect
    assert checklist_problems(old)
    assert citation_problems(old)  # the prompts said 2022, the content 2021
    assert hint_key_problems(old)
