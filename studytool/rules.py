"""The language and content rules: every text a learner reads, checked the same way everywhere.

``studytool validate`` and the tests run these rules over

* the shipped content (``content/*.yaml``) and the learner's decks (``<data>/decks/*.yaml``),
* the exercises (``exercises/*/exercise.yaml`` texts, ``prompt.md`` and ``prompt.zh.md``),
* every message of the catalogue (:func:`studytool.i18n.catalog.entries`), together with the
  catalogue's structural problems (:func:`studytool.i18n.catalog.problems`).

Rules (each problem is a :class:`Finding`, printed as ``file:line: message``; ``Finding.rule``
names the rule):

``punctuation``
    no ASCII ``.,:;?!`` right after a Chinese character; no ASCII ``,;:?!`` right before one; no
    ASCII comma between the ids of a Chinese list (``Q13, Q14`` → ``Q13、Q14``).
``glossary``
    one term per idea (``content/glossary.yaml``): no forbidden variant, no forbidden pattern;
    every preferred term is used somewhere (``glossary-unused``, over the whole shipped set).
``english-prose``
    no run of ordinary English words inside Chinese text, outside code spans, code blocks,
    formulas, ``{fields}``, paths, names, abbreviations and the English the glossary allows
    (``Search for commands…`` and ``passed best 7/7`` are caught; ``torch.tril``, ``KV``,
    ``FLOPs``, ``Press et al.`` are not). A formula shown in both languages (an insight's
    ``formula``) must hold no English prose either.
``cloze-count``
    a cloze card has exactly one deletion, in both languages.
``cloze-bracket``
    a deletion right after ``^`` or ``_``, or glued into an expression while itself holding an
    operator, is bracketed — Anki drops the app's ``[…]`` and ``10000^{{2i/d_model}}`` reads
    ``10000^2i/d_model``; write ``10000^({{2i/d_model}})``.
``cloze-duplicate``
    no two cloze cards blank the same thing.
``prompt-sections``
    each exercise's ``prompt.md`` / ``prompt.zh.md`` has its "What to expect" / "预期结果" section
    saying what the exercise cannot show.
``checklist-figures``, ``citation-year``
    the checklist links the figures that visualise its items; ALiBi is cited as Press et al. 2021.

Core module: the standard library and PyYAML only (no torch, no Textual).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from studytool import locations
from studytool.content import CLOZE_RE, Card, Problem, Text

__all__ = [
    "Finding",
    "Unit",
    "Glossary",
    "RULES",
    "load_glossary",
    "content_units",
    "deck_units",
    "exercise_units",
    "catalog_units",
    "punctuation",
    "glossary_rule",
    "glossary_unused",
    "english_prose",
    "cloze_count",
    "cloze_bracket",
    "cloze_duplicate",
    "catalog_findings",
    "language_rules",
    "prompt_sections",
    "checklist_figures",
    "citation_year",
    "check",
    "check_content_dir",
    "check_decks",
    "label_words",
]

RULES = (
    "punctuation",
    "glossary",
    "glossary-unused",
    "english-prose",
    "cloze-count",
    "cloze-bracket",
    "cloze-duplicate",
    "prompt-sections",
    "checklist-figures",
    "citation-year",
    "catalog",
)

# the loader the content uses (libyaml's when present: it reads a few things the pure one refuses)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CJK_CLASS = "\u3400-\u9fff\uf900-\ufaff"
CJK = f"[{CJK_CLASS}]"
_HAS_CJK = re.compile(CJK)


@dataclass(frozen=True)
class Finding(Problem):
    """One problem a rule found: ``file:line: message``, with the rule that found it and, for a
    catalogue message, its namespace (so each owner sees theirs)."""

    rule: str = ""
    namespace: str = ""


# --------------------------------------------------------------------------- texts to check


@dataclass(frozen=True)
class Unit:
    """One text a learner reads, with where it is.

    ``line`` is the line of the text's first character when ``literal`` (a Markdown file, a YAML
    ``|`` block: newlines are the file's), else the line the value starts on; ``span`` is the
    last line of the value (to locate a snippet inside a folded or wrapped value)."""

    file: str
    line: int
    lang: str  # "en" | "zh" | "both" (shown in either language, e.g. a formula)
    text: str
    where: str  # a readable path: "card pe-x.text", "catalog review.rated"
    kind: str  # "content" | "deck" | "exercise" | "prompt" | "catalog"
    literal: bool = False
    span: int = 0
    namespace: str = ""
    markdown: bool = False

    def line_at(self, offset: int, snippet: str = "") -> int:
        if self.literal:
            return self.line + self.text.count("\n", 0, max(0, offset))
        if snippet and self.span > self.line:
            try:
                lines = Path(self.file).read_text(encoding="utf-8").splitlines()
            except OSError:
                return self.line
            for probe in (snippet, snippet[:6], snippet[-6:]):
                probe = probe.strip()
                if not probe:
                    continue
                for n in range(self.line, min(self.span, len(lines)) + 1):
                    if probe in lines[n - 1]:
                        return n
        return self.line


def _text_nodes(root: yaml.Node, where: str) -> Iterator[tuple[str, str, yaml.ScalarNode]]:
    """(where, lang, node) for every ``en``/``zh`` scalar of a mapping that has both, in document
    order. Each node is visited once (an alias names a node already seen: no cycle, no alias
    bomb) and without recursion (deep nesting is the loader's problem to report)."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, where)]
    while stack:
        node, at = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[yaml.Node, str]] = []
        if isinstance(node, yaml.MappingNode):
            keys = {str(k.value): v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            is_text = "en" in keys and "zh" in keys
            for k, v in node.value:
                name = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                if is_text and name in ("en", "zh") and isinstance(v, yaml.ScalarNode):
                    yield at, name, v
                else:
                    children.append((v, f"{at}.{name}" if at else name))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                ident = None
                if isinstance(v, yaml.MappingNode):
                    ident = next(
                        (
                            str(b.value)
                            for a, b in v.value
                            if isinstance(a, yaml.ScalarNode)
                            and a.value == "id"
                            and isinstance(b, yaml.ScalarNode)
                        ),
                        None,
                    )
                children.append((v, f"{at}[{ident if ident else i}]"))
        stack.extend(reversed(children))


def _compose(path: Path) -> yaml.Node | None:
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None  # the content loader reports it with its line


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)


def _scalar_unit(path: Path, where: str, lang: str, node: yaml.ScalarNode, kind: str) -> Unit:
    literal = node.style == "|"
    # a block scalar starts on the line after its indicator
    first = node.start_mark.line + (2 if literal else 1)
    return Unit(
        str(path), first, lang, str(node.value), where, kind, literal=literal, span=node.end_mark.line + 1
    )


def _yaml_units(path: Path, kind: str) -> list[Unit]:
    root = _compose(path)
    if root is None:
        return []
    out = [_scalar_unit(path, w, lang, n, kind) for w, lang, n in _text_nodes(root, "")]
    # fields shown in either language as they are (an insight's formula)
    for item in _sequence_items(root):
        for k, v in item.value:
            if isinstance(k, yaml.ScalarNode) and k.value == "formula" and isinstance(v, yaml.ScalarNode):
                ident = _scalar(item, "id") or "?"
                out.append(_scalar_unit(path, f"[{ident}].formula", "both", v, kind))
    return out


def _sequence_items(root: yaml.Node) -> Iterator[yaml.MappingNode]:
    if isinstance(root, yaml.MappingNode):
        for _k, v in root.value:
            if isinstance(v, yaml.SequenceNode):
                for item in v.value:
                    if isinstance(item, yaml.MappingNode):
                        yield item


def _scalar(node: yaml.MappingNode, key: str) -> str | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.ScalarNode):
            return str(v.value)
    return None


RevealFn = Callable[[dict[str, Any]], str | None]


def _default_reveal(card: dict[str, Any]) -> str | None:
    """The Chinese verdict line the app and the CLI print for a true/false card (content.Card)."""
    st, ex = card.get("statement"), card.get("explanation")
    if not (isinstance(st, dict) and isinstance(ex, dict) and isinstance(card.get("answer"), bool)):
        return None
    c = Card(
        str(card.get("id")),
        "truefalse",
        str(card.get("topic")),
        "?",
        statement=Text(str(st.get("en", "")), str(st.get("zh", ""))),
        answer=card["answer"],
        explanation=Text(str(ex.get("en", "")).strip(), str(ex.get("zh", "")).strip()),
    )
    return c.reveal("zh")


def _reveal_units(path: Path, kind: str, reveal: RevealFn) -> list[Unit]:
    root = _compose(path)
    if root is None:
        return []
    try:
        data = _load(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return []
    cards = data.get("cards") if isinstance(data, dict) else None
    nodes = list(_sequence_items(root))
    out = []
    for card, node in zip(cards or [], nodes):
        if isinstance(card, dict) and card.get("type") == "truefalse":
            text = reveal(card)
            expl = card.get("explanation")
            if not text:
                continue
            # only the verdict and where it meets the explanation: the rest is checked as the
            # explanation itself
            rest = str(expl.get("zh", "")).strip() if isinstance(expl, dict) else ""
            if rest and text.endswith(rest):
                text = text[: len(text) - len(rest) + 1]
            where = f"card {card.get('id')} reveal"
            out.append(Unit(str(path), node.start_mark.line + 1, "zh", text, where, kind))
    return out


def content_units(content_dir: Path | None = None, reveal: RevealFn = _default_reveal) -> list[Unit]:
    """Every text of the content files (questions, insights, flashcards, checklist), and the
    Chinese verdict of each true/false card as the app shows it."""
    cdir = Path(content_dir) if content_dir is not None else locations.content_dir()
    out: list[Unit] = []
    for name in ("questions.yaml", "insights.yaml", "flashcards.yaml", "checklist.yaml"):
        path = cdir / name
        if path.is_file():
            out.extend(_yaml_units(path, "content"))
            if name == "flashcards.yaml":
                out.extend(_reveal_units(path, "content", reveal))
    return out


def deck_units(decks_dir: Path | None = None, reveal: RevealFn = _default_reveal) -> list[Unit]:
    ddir = Path(decks_dir) if decks_dir is not None else locations.decks_dir()
    if not ddir.is_dir():
        return []
    out: list[Unit] = []
    for path in sorted([*ddir.glob("*.yaml"), *ddir.glob("*.yml")]):
        out.extend(_yaml_units(path, "deck"))
        out.extend(_reveal_units(path, "deck", reveal))
    return out


def _exercise_dirs(exercises_dir: Path) -> list[Path]:
    if not exercises_dir.is_dir():
        return []
    return sorted(p for p in exercises_dir.iterdir() if (p / "exercise.yaml").is_file())


def exercise_units(exercises_dir: Path | None = None) -> list[Unit]:
    """The exercises' titles and hints (exercise.yaml) and their prompts (Markdown)."""
    edir = Path(exercises_dir) if exercises_dir is not None else locations.exercises_dir()
    out: list[Unit] = []
    for ex in _exercise_dirs(edir):
        out.extend(_yaml_units(ex / "exercise.yaml", "exercise"))
        for name, lang in (("prompt.md", "en"), ("prompt.zh.md", "zh")):
            path = ex / name
            if path.is_file():
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                out.append(
                    Unit(str(path), 1, lang, text, f"{ex.name}/{name}", "prompt", literal=True, markdown=True)
                )
    return out


def catalog_units(directory: Path | None = None) -> list[Unit]:
    """Every message of the catalogue, one unit per language, on the line of its text."""
    from studytool.i18n import catalog

    out: list[Unit] = []
    lines_of: dict[Path, list[str]] = {}
    for e in catalog.entries(directory):
        lines = lines_of.get(e.file)
        if lines is None:
            try:
                lines = e.file.read_text(encoding="utf-8").splitlines()
            except OSError:
                lines = []
            lines_of[e.file] = lines
        ns = e.file.stem
        for lang, text in e.texts.items():
            line = e.line
            for n in range(e.line, min(len(lines), e.line + 40)):
                if lines[n].lstrip().startswith(f"{lang}:"):
                    line = n + 1
                    break
            out.append(Unit(str(e.file), line, lang, text, f"catalog {e.key}", "catalog", namespace=ns))
    return out


# --------------------------------------------------------------------------- masking


_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_FIELD = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.\[\]]*(?:![rsa])?(?::[^{}]*)?\}")
_URL = re.compile(r"https?://\S+")
_MD_LINK_TARGET = re.compile(r"\]\([^)\s]+\)")
_CLOZE_MARK = re.compile(r"\{\{|\}\}")


def _blank(m: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", m.group())


def mask(text: str, markdown: bool = False, template: bool = False) -> str:
    """``text`` with code, URLs and format fields blanked out (same length, newlines kept), so
    that offsets still point into the original."""
    if markdown:
        text = _FENCE.sub(_blank, text)
        text = _MD_LINK_TARGET.sub(_blank, text)
    text = _CODE_SPAN.sub(_blank, text)
    text = _URL.sub(_blank, text)
    if template:
        text = _FIELD.sub(_blank, text)
    return _CLOZE_MARK.sub("  ", text)


# --------------------------------------------------------------------------- the glossary


@dataclass(frozen=True)
class Term:
    en: str
    zh: str
    forbidden: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    english: tuple[str, ...] = ()  # English allowed in Chinese text, only as the gloss "zh（english）"
    line: int = 1
    used: bool = True  # must appear in the shipped text


@dataclass(frozen=True)
class Glossary:
    path: str
    terms: tuple[Term, ...]
    english: tuple[str, ...] = ()  # English words and phrases allowed anywhere in Chinese text
    problems: tuple[Finding, ...] = field(default=())


def load_glossary(path: Path | None = None) -> Glossary:
    path = Path(path) if path is not None else locations.content_dir() / "glossary.yaml"
    problems: list[Finding] = []
    root = _compose(path)
    if not isinstance(root, yaml.MappingNode):
        return Glossary(
            str(path), (), (), (Finding(str(path), 1, "the glossary cannot be read", rule="glossary"),)
        )
    data = _load(path) or {}
    term_nodes = []
    for k, v in root.value:
        if k.value == "terms" and isinstance(v, yaml.SequenceNode):
            term_nodes = v.value
    terms = []
    for raw, node in zip(data.get("terms") or [], term_nodes):
        line = node.start_mark.line + 1
        if not isinstance(raw, dict) or not raw.get("zh") or not raw.get("en"):
            problems.append(Finding(str(path), line, "a term needs 'en' and 'zh'", rule="glossary"))
            continue
        pats = []
        for p in raw.get("patterns") or []:
            try:
                pats.append(re.compile(p))
            except re.error as exc:
                problems.append(
                    Finding(str(path), line, f"pattern {p!r} does not compile: {exc}", rule="glossary")
                )
        terms.append(
            Term(
                str(raw["en"]),
                str(raw["zh"]),
                tuple(str(x) for x in raw.get("forbidden") or ()),
                tuple(pats),
                tuple(str(x) for x in raw.get("english") or ()),
                line,
                bool(raw.get("used", True)),
            )
        )
    english = tuple(str(x) for x in data.get("english") or ())
    return Glossary(str(path), tuple(terms), english, tuple(problems))


# --------------------------------------------------------------------------- rules over texts


def _zh(units: Iterable[Unit]) -> Iterator[Unit]:
    for u in units:
        if u.lang == "zh" or (u.lang == "both"):
            yield u


def _finding(u: Unit, offset: int, snippet: str, rule: str, message: str) -> Finding:
    return Finding(u.file, u.line_at(offset, snippet), message, rule=rule, namespace=u.namespace)


def _context(text: str, start: int, end: int, before: int = 10, after: int = 6) -> str:
    return text[max(0, start - before) : end + after].replace("\n", " ")


_PUNCT_AFTER = re.compile(CJK + r"[.,:;?!]")
_PUNCT_BEFORE = re.compile(r"(?<=[^\s.,:;?!" + CJK_CLASS + r"])([,;:?!]) ?(?=" + CJK + ")")
_ID = r"(?:[A-Z]\d{1,3}|[a-z]\d{2}|[a-z]\d{2}[a-z]?)"
_ID_LIST = re.compile(r"(?<![\w.])" + _ID + r"(, " + _ID + r")+(?![\w(])")


def punctuation(units: Iterable[Unit]) -> list[Finding]:
    """Chinese punctuation in Chinese text: no ASCII ``.,:;?!`` right after a Chinese character,
    none of ``,;:?!`` right before one, and ``、`` between the ids of a list."""
    out = []
    for u in _zh(units):
        if u.lang != "zh":
            continue
        text = mask(u.text, u.markdown, u.kind == "catalog")
        for m in _PUNCT_AFTER.finditer(text):
            ch = m.group()[-1]
            out.append(
                _finding(
                    u,
                    m.start(),
                    m.group(),
                    "punctuation",
                    f"{u.where}: ASCII {ch!r} after Chinese ({_context(u.text, m.start(), m.end())!r}) — "
                    f"use {_FULLWIDTH[ch]!r}",
                )
            )
        if not _HAS_CJK.search(text):
            continue
        for m in _PUNCT_BEFORE.finditer(text):
            ch = m.group(1)
            out.append(
                _finding(
                    u,
                    m.start(),
                    u.text[max(0, m.start() - 4) : m.end() + 1],
                    "punctuation",
                    f"{u.where}: ASCII {ch!r} before Chinese ({_context(u.text, m.start(), m.end())!r}) — "
                    f"use {_FULLWIDTH[ch]!r}",
                )
            )
        for m in _ID_LIST.finditer(text):
            out.append(
                _finding(
                    u,
                    m.start(),
                    m.group(),
                    "punctuation",
                    f"{u.where}: a Chinese list is joined with '、', not ', ' ({m.group()!r})",
                )
            )
    return out


_FULLWIDTH = {".": "。", ",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}


def glossary_rule(units: Iterable[Unit], glossary: Glossary) -> list[Finding]:
    """No forbidden variant and no forbidden pattern of a glossary term in Chinese text. A
    forbidden variant is found in code spans too (read without their backticks); a pattern is
    matched outside code (``batch`` is forbidden in prose, not in ``x.shape[batch]``). Where two
    of a term's variants match the same words, the problem is reported once."""
    out = list(glossary.problems)
    for u in _zh(units):
        text = u.text.replace("`", "")
        masked = mask(u.text, u.markdown, u.kind == "catalog")
        for term in glossary.terms:
            hits: list[tuple[int, int, str, str]] = []  # start, end (in u.text), words, what
            for bad in term.forbidden:
                start = text.find(bad)
                while start >= 0:
                    a = _orig_offset(u.text, start)
                    hits.append((a, _orig_offset(u.text, start + len(bad)), bad, repr(bad)))
                    start = text.find(bad, start + len(bad))
            for pat in term.patterns:
                for m in pat.finditer(masked):
                    hits.append((m.start(), m.end(), m.group(), f"{m.group()!r} (matches {pat.pattern!r})"))
            for eng in term.english:  # the English term only as the gloss: 教师强制（teacher forcing）
                for m in re.finditer(r"(?<![A-Za-z])" + re.escape(eng) + r"(?![A-Za-z])", masked, re.I):
                    before = masked[max(0, m.start() - len(term.zh) - 8) : m.start()].replace("*", "")
                    if not before.endswith(f"{term.zh}（"):  # **近因偏置**（recency bias） too
                        hits.append(
                            (
                                m.start(),
                                m.end(),
                                m.group(),
                                f"{m.group()!r} (English only as {term.zh}（{eng}）)",
                            )
                        )
            taken: list[tuple[int, int]] = []
            for a, b, words, what in sorted(hits, key=lambda h: (h[0], -h[1])):
                if any(a < e and s < b for s, e in taken):
                    continue
                taken.append((a, b))
                out.append(
                    _finding(u, a, words, "glossary", f"{u.where}: {what} — say {term.zh!r} ({term.en})")
                )
    return out


def _orig_offset(text: str, offset_without_ticks: int) -> int:
    """The offset in ``text`` of a position counted in ``text.replace('`', '')``."""
    seen = 0
    for i, ch in enumerate(text):
        if ch == "`":
            continue
        if seen == offset_without_ticks:
            return i
        seen += 1
    return len(text)


def glossary_unused(units: Iterable[Unit], glossary: Glossary) -> list[Finding]:
    """Every preferred term (``used: true``, the default) appears in some Chinese text."""
    texts = [u.text.replace("`", "") for u in _zh(units)]
    out = []
    for term in glossary.terms:
        if term.used and not any(term.zh in t for t in texts):
            out.append(
                Finding(
                    glossary.path,
                    term.line,
                    f"preferred term {term.zh!r} ({term.en}) appears nowhere",
                    rule="glossary-unused",
                )
            )
    return out


# "no English prose in Chinese": a run of ordinary English words (lowercase, or a capitalised
# word followed by lowercase ones), at least two of them lowercase, between Chinese text.
_TOKEN = re.compile(r"[^\s" + CJK_CLASS + r"\u3000-\u303f\uff00-\uffef“”‘’—…·→←↑↓×÷]+")
_WORD = re.compile(r"[A-Za-z]+(?:[-'’][A-Za-z]+)*")
_TRAIL = ".,;:!?)]}\"'»›%"
_LEAD = "([{\"'«‹"


def _classify(tok: str) -> str:
    """'lower' (an ordinary lowercase word), 'cap' (Capitalised), 'abbr' (KV, FLOPs, RoPE …),
    'other' (identifiers, numbers, formulas: torch.tril, d_model, 2i+1)."""
    if any(c in tok for c in "()[]{}<>=/\\_^|"):
        return "other"  # a formula or a tuple: (sin, cos), d_model, N/d
    core = tok.strip(_TRAIL).lstrip(_LEAD)
    if len(core) < 2 or not _WORD.fullmatch(core):
        return "other"  # a number, a variable (query i, key j), an identifier
    if core.islower():
        return "lower"
    if core[0].isupper() and core[1:].islower():
        return "cap"
    return "abbr"


def _allowed_spans(text: str, glossary: Glossary | None) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if glossary is None:
        return spans
    for phrase in glossary.english:
        for m in re.finditer(r"(?<![A-Za-z])" + re.escape(phrase) + r"(?![A-Za-z])", text):
            spans.append((m.start(), m.end()))
    for term in glossary.terms:  # a glossed term, or a bare one (the glossary rule reports that)
        for eng in term.english:
            for m in re.finditer(r"(?<![A-Za-z])" + re.escape(eng) + r"(?![A-Za-z])", text, re.I):
                spans.append((m.start(), m.end()))
    return spans


_CODE_CHARS = set("()[]@=")
_TITLE = re.compile(r"《[^《》\n]*》")  # a title in 《》 is quoted as it is


def english_runs(
    text: str, glossary: Glossary | None = None, code_nearby: bool = True
) -> list[tuple[int, int]]:
    """(start, end) of each run of English prose in ``text`` (already masked): consecutive
    ordinary words one space apart, at least two of them lowercase and not allowed English. A
    title in 《》 is quoted, not prose. A
    run right next to code (``for start in range(…)``, ``return weights @ v``) is code, unless
    ``code_nearby`` is false (a formula: every word in it is prose)."""
    chars = list(_TITLE.sub(_blank, text))
    for a, b in _allowed_spans(text, glossary):
        for i in range(a, b):
            if chars[i] != "\n":
                chars[i] = " "
    text = "".join(chars)
    toks: list[tuple[int, int, str, bool]] = []  # start, end, kind, joined to the previous token
    prev_end: int | None = None
    for m in _TOKEN.finditer(text):
        gap = text[prev_end : m.start()] if prev_end is not None else "\n"
        toks.append((m.start(), m.end(), _classify(m.group()), gap in (" ", "  ")))
        prev_end = m.end()

    def codeish(i: int) -> bool:
        return 0 <= i < len(toks) and bool(_CODE_CHARS & set(text[toks[i][0] : toks[i][1]]))

    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        if toks[i][2] not in ("lower", "cap"):
            i += 1
            continue
        j = i  # the run is toks[i..j]
        while (
            text[toks[j][1] - 1] not in ".!?;:"
            and j + 1 < len(toks)
            and toks[j + 1][3]
            and toks[j + 1][2] in ("lower", "cap", "abbr")
        ):
            j += 1
        lowers = sum(1 for k in range(i, j + 1) if toks[k][2] == "lower")
        before = toks[i][3] and codeish(i - 1)
        after = j + 1 < len(toks) and toks[j + 1][3] and codeish(j + 1)
        near_code = code_nearby and (before or after)
        if lowers >= 2 and not near_code:
            runs.append((toks[i][0], toks[j][1]))
        i = j + 1
    return runs


def english_prose(units: Iterable[Unit], glossary: Glossary | None = None) -> list[Finding]:
    """No English prose in Chinese text (see :func:`english_runs`)."""
    out = []
    for u in _zh(units):
        text = mask(u.text, u.markdown, u.kind == "catalog")
        for a, b in english_runs(text, glossary, code_nearby=u.lang != "both"):
            snippet = u.text[a:b]
            what = "a formula shown in both languages" if u.lang == "both" else "Chinese text"
            out.append(
                _finding(u, a, snippet, "english-prose", f"{u.where}: English prose in {what}: {snippet!r}")
            )
    return out


# --------------------------------------------------------------------------- cloze rules


def _cloze_cards(path: Path) -> Iterator[tuple[dict[str, Any], int, dict[str, int]]]:
    """(card, line, {lang: line}) for every cloze card of a deck file."""
    root = _compose(path)
    if root is None:
        return
    try:
        data = _load(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return
    cards = data.get("cards") if isinstance(data, dict) else None
    for card, node in zip(cards or [], _sequence_items(root)):
        if (
            not isinstance(card, dict)
            or card.get("type") != "cloze"
            or not isinstance(card.get("text"), dict)
        ):
            continue
        lines = {}
        for k, v in node.value:
            if k.value == "text" and isinstance(v, yaml.MappingNode):
                for lk, lv in v.value:
                    lines[str(lk.value)] = lv.start_mark.line + 1
        yield card, node.start_mark.line + 1, lines


def _deck_files(content_dir: Path | None, decks_dir: Path | None) -> list[Path]:
    files = []
    if content_dir is not None and (content_dir / "flashcards.yaml").is_file():
        files.append(content_dir / "flashcards.yaml")
    if decks_dir is not None and decks_dir.is_dir():
        files.extend(sorted([*decks_dir.glob("*.yaml"), *decks_dir.glob("*.yml")]))
    return files


def cloze_count(files: Iterable[Path]) -> list[Finding]:
    """One deletion per cloze card (one concept per card), the same in both languages."""
    out = []
    for path in files:
        for card, line, lines in _cloze_cards(path):
            text = card["text"]
            n_en = len(CLOZE_RE.findall(str(text.get("en", ""))))
            n_zh = len(CLOZE_RE.findall(str(text.get("zh", ""))))
            if n_en != n_zh:
                msg = f"card {card.get('id')}: {n_en} deletions in en, {n_zh} in zh"
            elif n_en != 1:
                msg = f"card {card.get('id')}: {n_en} deletions (one concept per card: one deletion)"
            else:
                continue
            out.append(Finding(str(path), lines.get("en", line), msg, rule="cloze-count"))
    return out


_OPERATOR = "+-−/·*×÷^=<>≤≥"


def _glued(ch: str) -> bool:
    return bool(ch) and ((ch.isascii() and ch.isalnum()) or ch in _OPERATOR or ch in "_√")


def cloze_bracket_problems(text: str) -> list[str]:
    """The deletions of ``text`` that lose their precedence once the app's ``[…]`` is gone."""
    out = []
    for m in CLOZE_RE.finditer(text):
        inner = m.group(1)
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        if before and before in "^_":
            out.append(
                f"'{before}{m.group()}': a deletion after '{before}' needs brackets: '{before}({m.group()})'"
            )
            continue
        compound = any(op in inner for op in _OPERATOR) or " " in inner.strip()
        if compound and (_glued(before) or _glued(after)):
            out.append(
                f"'{text[max(0, m.start() - 3) : m.end() + 3]}': a deletion holding an operator inside an "
                f"expression needs brackets: '({m.group()})'"
            )
    return out


def cloze_bracket(files: Iterable[Path]) -> list[Finding]:
    out = []
    for path in files:
        for card, line, lines in _cloze_cards(path):
            for lang in ("en", "zh"):
                for msg in cloze_bracket_problems(str(card["text"].get(lang, ""))):
                    out.append(
                        Finding(
                            str(path),
                            lines.get(lang, line),
                            f"card {card.get('id')} ({lang}): {msg}",
                            rule="cloze-bracket",
                        )
                    )
    return out


def _blank_key(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def cloze_duplicate(files: Iterable[Path]) -> list[Finding]:
    """No two cloze cards blank the same thing (one card per idea: the second one tests nothing
    new)."""
    seen: dict[str, str] = {}
    out = []
    for path in files:
        for card, line, lines in _cloze_cards(path):
            for blank in CLOZE_RE.findall(str(card["text"].get("en", ""))):
                key = _blank_key(blank)
                first = seen.setdefault(key, str(card.get("id")))
                if first != card.get("id"):
                    out.append(
                        Finding(
                            str(path),
                            lines.get("en", line),
                            f"card {card.get('id')}: blanks {blank!r}, as card {first} does — "
                            "blank another idea",
                            rule="cloze-duplicate",
                        )
                    )
    return out


# --------------------------------------------------------------------------- exercises, checklist


PROMPT_SECTIONS = {
    "prompt.md": ("## What to expect", "cannot show"),
    "prompt.zh.md": ("## 预期结果", "不能说明"),
}


def prompt_sections(exercises_dir: Path) -> list[Finding]:
    out = []
    for ex in _exercise_dirs(exercises_dir):
        for name, (heading, limit) in PROMPT_SECTIONS.items():
            path = ex / name
            if not path.is_file():
                out.append(Finding(str(path), 1, f"{ex.name}: {name} is missing", rule="prompt-sections"))
                continue
            text = path.read_text(encoding="utf-8")
            if heading not in text:
                out.append(Finding(str(path), 1, f"no '{heading}' section", rule="prompt-sections"))
                continue
            line = text[: text.index(heading)].count("\n") + 1
            section = text.split(heading, 1)[1].split("\n## ", 1)[0]
            if limit not in section:
                out.append(
                    Finding(
                        str(path),
                        line,
                        f"the '{heading}' section does not say what the exercise {limit} ('{limit}')",
                        rule="prompt-sections",
                    )
                )
            if name == "prompt.md" and len(section.split()) < 25:
                out.append(
                    Finding(
                        str(path),
                        line,
                        f"the '{heading}' section is too short to state a result",
                        rule="prompt-sections",
                    )
                )
    return out


FIGURE_LINKS = {"t02": {"pe"}, "t06": {"mask"}, "p06": {"pe", "rope", "alibi"}}


def checklist_figures(content_dir: Path) -> list[Finding]:
    path = content_dir / "checklist.yaml"
    root = _compose(path)
    if root is None:
        return []
    items = {(_scalar(n, "id") or "?"): n for n in _sequence_items(root)}
    data = {i.get("id"): i for i in (_load(path) or {}).get("checklist") or []}
    out = []
    for cid, kinds in FIGURE_LINKS.items():
        node = items.get(cid)
        line = node.start_mark.line + 1 if node is not None else 1
        have = set((data.get(cid) or {}).get("figures") or [])
        if not kinds <= have:
            out.append(
                Finding(
                    str(path),
                    line,
                    f"checklist {cid}: links figures {sorted(have)}, needs {sorted(kinds)}",
                    rule="checklist-figures",
                )
            )
    if "sinusoidal_pe" not in ((data.get("t02") or {}).get("exercises") or []):
        node = items.get("t02")
        out.append(
            Finding(
                str(path),
                node.start_mark.line + 1 if node is not None else 1,
                "checklist t02: does not link the sinusoidal_pe exercise",
                rule="checklist-figures",
            )
        )
    return out


_ALIBI_YEAR = re.compile(r"Press(?: et al\.,?| 等，?| 等人（?),? ?2022")


def citation_year(units: Iterable[Unit]) -> list[Finding]:
    """One year for the ALiBi paper: the 2021 preprint (the ICLR 2022 version is named as such)."""
    out = []
    for u in units:
        if u.kind == "catalog":
            continue
        for m in _ALIBI_YEAR.finditer(u.text):
            out.append(
                _finding(
                    u,
                    m.start(),
                    m.group(),
                    "citation-year",
                    f"{u.where}: {m.group()!r} — cite ALiBi as Press et al. 2021",
                )
            )
    return out


def label_words(glossary: Glossary | None = None) -> tuple[str, ...]:
    """The Chinese terms a short label must not be broken inside (for
    :func:`studytool.textwrap_cjk.wrap_label`): the glossary's preferred terms written in Chinese
    characters, and the wrapper's own list."""
    from studytool.textwrap_cjk import LABEL_WORDS

    gloss = glossary if glossary is not None else load_glossary()
    cjk = re.compile(f"^{CJK}+$")
    return tuple(sorted({*LABEL_WORDS, *(t.zh for t in gloss.terms if cjk.match(t.zh))}, key=len))


# --------------------------------------------------------------------------- entry points


def catalog_findings(directory: Path | None = None) -> list[Finding]:
    """The catalogue's structural problems (:func:`studytool.i18n.catalog.problems`) as findings."""
    from studytool.i18n import catalog

    return [
        Finding(str(path), line, message, rule="catalog", namespace=Path(path).stem)
        for path, line, message in catalog.problems(directory)
    ]


def language_rules(units: list[Unit], glossary: Glossary) -> list[Finding]:
    return [*punctuation(units), *glossary_rule(units, glossary), *english_prose(units, glossary)]


def check(
    content_dir: Path | None = None,
    exercises_dir: Path | None = None,
    decks_dir: Path | None = None,
    catalog_dir: Path | None = None,
    *,
    glossary: Path | None = None,
    include_decks: bool = True,
    include_catalog: bool = True,
) -> list[Finding]:
    """Every rule over the shipped content, the exercises, the learner's decks and the catalogue
    (``studytool validate`` without a folder)."""
    cdir = Path(content_dir) if content_dir is not None else locations.content_dir()
    edir = Path(exercises_dir) if exercises_dir is not None else locations.exercises_dir()
    ddir = (Path(decks_dir) if decks_dir is not None else locations.decks_dir()) if include_decks else None
    gloss = load_glossary(glossary if glossary is not None else cdir / "glossary.yaml")
    shipped = content_units(cdir) + exercise_units(edir)
    catalog = catalog_units(catalog_dir) if include_catalog else []
    decks = deck_units(ddir) if ddir is not None else []
    out = language_rules(shipped + catalog + decks, gloss)
    out += glossary_unused(shipped + catalog, gloss)
    files = _deck_files(cdir, ddir)
    out += cloze_count(files) + cloze_bracket(files) + cloze_duplicate(files)
    out += prompt_sections(edir) + checklist_figures(cdir) + citation_year(shipped)
    if include_catalog:
        out += catalog_findings(catalog_dir)
    return out


def check_content_dir(content_dir: Path, exercises_dir: Path | None = None) -> list[Finding]:
    """The rules that hold for any content folder (``studytool validate DIR [--exercises EXDIR]``):
    the language rules, the cloze rules, the citation year, and the prompts' sections of EXDIR.
    (That every glossary term is used and the checklist's figure links are rules of the shipped
    content, run by :func:`check`.)"""
    cdir = Path(content_dir)
    gloss = load_glossary(_glossary_for(cdir))
    units = content_units(cdir)
    if exercises_dir is not None:
        units += exercise_units(Path(exercises_dir))
    files = _deck_files(cdir, None)
    out = language_rules(units, gloss) + cloze_count(files) + cloze_bracket(files) + citation_year(units)
    if exercises_dir is not None:
        out += prompt_sections(Path(exercises_dir))
    return out


def _glossary_for(content_dir: Path) -> Path:
    own = Path(content_dir) / "glossary.yaml"
    return own if own.is_file() else locations.content_dir() / "glossary.yaml"


def check_decks(decks_dir: Path) -> list[Finding]:
    """The language and cloze rules over a folder of learner decks (``studytool validate DECKS``)."""
    gloss = load_glossary()
    units = deck_units(decks_dir)
    files = _deck_files(None, Path(decks_dir))
    return language_rules(units, gloss) + cloze_count(files) + cloze_bracket(files)


def git_tree(commit: str, paths: Iterable[str], dest: Path, repo: Path) -> Path:
    """Extract ``paths`` of ``commit`` into ``dest`` (for running the rules on old content)."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", commit, *paths], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest
