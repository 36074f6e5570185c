"""Study content: YAML → validated, immutable dataclasses.

Loading never raises on bad content: every problem becomes a :class:`Problem` that renders as
``file:line: message``. Built-in content problems are errors; a learner deck with problems is
skipped whole and its problems come back as warnings, so a bad deck never stops the app.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from studytool import locations
from studytool.content_model import (
    CARD_ID_RE,
    CARD_TYPES,
    CHECKLIST_GROUPS,
    CLOZE_RE,
    CONTENT_FILES,
    FIGURE_KINDS,
    LANGS,
    TOPIC_LABELS,
    TOPICS,
    Card,
    ChecklistItem,
    Content,
    Deck,
    ExerciseMeta,
    Insight,
    Misconception,
    MisconceptionCheck,
    Problem,
    Question,
    Text,
)
from studytool.content_yaml import (
    _LINK_KINDS,
    LList,
    LMap,
    _Ctx,
    _Fields,
    _Ids,
    _items,
    _Link,
    _parse,
    _req,
)
from studytool.i18n.catalog import Msg

__all__ = [
    "CARD_ID_RE",
    "CARD_TYPES",
    "CHECKLIST_GROUPS",
    "CLOZE_RE",
    "CONTENT_FILES",
    "FIGURE_KINDS",
    "LANGS",
    "TOPICS",
    "TOPIC_LABELS",
    "Card",
    "ChecklistItem",
    "Content",
    "Deck",
    "ExerciseMeta",
    "Insight",
    "Misconception",
    "MisconceptionCheck",
    "Problem",
    "Question",
    "Text",
    "default_content",
    "hints_for_failure",
    "load_content",
    "load_decks",
    "load_exercises",
    "validate_decks_only",
]


def _read_questions(data: Any, ctx: _Ctx, ids: _Ids, links: list[_Link]) -> list[Question]:
    out = []
    numbers: dict[int, str] = {}
    for m in _items(data, "questions", ctx):
        f = _Fields(
            m,
            ctx,
            Msg("content_load.what.question", id=str(m.get("id", "?"))),
            (
                "id",
                "number",
                "topic",
                "title",
                "question",
                "answer",
                "key_points",
                "misconceptions",
                "insights",
                "exercises",
            ),
        )
        qid, number, topic = f.get_str("id"), f.get_int("number"), f.choice("topic", TOPICS)
        title, question, answer = f.text("title"), f.text("question"), f.text("answer")
        key_points = f.texts("key_points")
        if "key_points" in m and isinstance(m["key_points"], list) and not 3 <= len(m["key_points"]) <= 6:
            f.problem(
                "key_points", Msg("content_load.key_points_count", what=f.what_msg, n=len(m["key_points"]))
            )
        if number is not None:
            if number in numbers:
                f.problem(
                    "number",
                    Msg("content_load.number_used", what=f.what_msg, number=number, other=numbers[number]),
                )
            numbers[number] = qid or "?"
        miscs = []
        raw = m.get("misconceptions")
        if raw is not None:
            if not isinstance(raw, LList):
                f.problem("misconceptions", Msg("content_load.misconceptions_list", what=f.what_msg))
            else:
                for i, mm in enumerate(raw):
                    if not isinstance(mm, LMap):
                        f.ok = False
                        ctx.add(
                            raw.item_lines[i],
                            Msg("content_load.misconception_mapping", what=f.what_msg, i=i + 1),
                        )
                        continue
                    mf = _Fields(
                        mm,
                        ctx,
                        Msg("content_load.what.misconception", what=f.what_msg, i=i + 1),
                        ("claim", "correction"),
                    )
                    claim, corr = mf.text("claim"), mf.text("correction")
                    f.ok &= mf.ok
                    if claim and corr:
                        miscs.append(Misconception(claim, corr))
        ins, exs = f.links("insights", links), f.links("exercises", links)
        claimed = ids.claim(f, qid)
        if f.ok and claimed:
            out.append(
                Question(
                    _req(qid),
                    _req(number),
                    _req(topic),
                    _req(title),
                    _req(question),
                    _req(answer),
                    key_points,
                    tuple(miscs),
                    ins,
                    exs,
                )
            )
    return out


def _read_insights(data: Any, ctx: _Ctx, ids: _Ids, links: list[_Link]) -> list[Insight]:
    out = []
    for m in _items(data, "insights", ctx):
        f = _Fields(
            m,
            ctx,
            Msg("content_load.what.insight", id=str(m.get("id", "?"))),
            ("id", "number", "title", "analogy", "explanation", "formula", "questions"),
        )
        iid, number = f.get_str("id"), f.get_int("number")
        title, analogy, expl = f.text("title"), f.text("analogy"), f.text("explanation")
        formula = f.get_str("formula", required=False)
        qs = f.links("questions", links)
        claimed = ids.claim(f, iid)
        if f.ok and claimed:
            out.append(Insight(_req(iid), _req(number), _req(title), _req(analogy), _req(expl), formula, qs))
    return out


def _read_checklist(data: Any, ctx: _Ctx, ids: _Ids, links: list[_Link]) -> list[ChecklistItem]:
    out = []
    for m in _items(data, "checklist", ctx):
        f = _Fields(
            m,
            ctx,
            Msg("content_load.what.checklist", id=str(m.get("id", "?"))),
            ("id", "group", "text", "questions", "exercises", "figures"),
        )
        cid, group, text = f.get_str("id"), f.choice("group", CHECKLIST_GROUPS), f.text("text")
        qs, exs = f.links("questions", links), f.links("exercises", links)
        figures = f.ids("figures")
        raw_figs = m.get("figures")
        for i, kind in enumerate(figures):
            if kind not in FIGURE_KINDS:
                line = raw_figs.item_lines[i] if isinstance(raw_figs, LList) else f.line("figures")
                f.ok = False
                ctx.add(
                    line,
                    Msg(
                        "content_load.figure_unknown",
                        what=f.what_msg,
                        kind=kind,
                        kinds=", ".join(FIGURE_KINDS),
                    ),
                )
        if not qs and not exs and "questions" not in m and "exercises" not in m:
            f.problem(None, Msg("content_load.no_evidence", what=f.what_msg))
        claimed = ids.claim(f, cid)
        if f.ok and claimed:
            out.append(ChecklistItem(_req(cid), _req(group), _req(text), qs, exs, figures))
    return out


_CARD_FIELDS = {
    "basic": ("front", "back"),
    "cloze": ("text", "extra"),
    "truefalse": ("statement", "answer", "explanation"),
}


def _read_deck(
    data: Any, ctx: _Ctx, ids: _Ids, links: list[_Link], builtin: bool
) -> tuple[Deck | None, list[Card]]:
    deck = None
    if isinstance(data, LMap):
        if "deck" not in data:
            ctx.add(data.line, Msg("content_load.deck_missing"))
        elif not isinstance(data["deck"], LMap):
            ctx.add(data.key_lines["deck"], Msg("content_load.deck_not_mapping"))
        else:
            df = _Fields(data["deck"], ctx, Msg("content_load.what.deck"), ("id", "title"))
            did, dtitle = df.get_str("id"), df.text("title")
            if did and dtitle:
                deck = Deck(did, dtitle, ctx.file, builtin)
        for key in data:
            if key not in ("deck", "cards"):
                ctx.add(data.key_lines[key], Msg("content_load.unknown_top_key", name=key))
    cards = []
    for m in _items(data, "cards", ctx):
        f = _Fields(
            m,
            ctx,
            Msg("content_load.what.card", id=str(m.get("id", "?"))),
            (
                "id",
                "type",
                "topic",
                "front",
                "back",
                "text",
                "extra",
                "statement",
                "answer",
                "explanation",
                "questions",
                "insights",
            ),
        )
        cid, ctype, topic = f.get_str("id"), f.choice("type", CARD_TYPES), f.choice("topic", TOPICS)
        if cid is not None and not CARD_ID_RE.match(cid):
            f.problem("id", Msg("content_load.id_slug", what=f.what_msg))
        kw: dict[str, Any] = {}
        if ctype is not None:
            for other, names in _CARD_FIELDS.items():
                if other != ctype:
                    for name in names:
                        if name in m and name not in _CARD_FIELDS[ctype]:
                            f.problem(
                                name,
                                Msg("content_load.field_wrong_card", what=f.what_msg, name=name, type=ctype),
                            )
            if ctype == "basic":
                kw = {"front": f.text("front"), "back": f.text("back")}
            elif ctype == "cloze":
                kw = {"text": f.text("text"), "extra": f.text("extra", required=False)}
                t = kw["text"]
                if t is not None:
                    n_en, n_zh = len(CLOZE_RE.findall(t.en)), len(CLOZE_RE.findall(t.zh))
                    if n_en == 0:
                        f.problem("text", Msg("content_load.cloze_none", what=f.what_msg))
                    elif n_en != n_zh:
                        f.problem("text", Msg("content_load.cloze_differ", what=f.what_msg, en=n_en, zh=n_zh))
            else:
                kw = {
                    "statement": f.text("statement"),
                    "answer": f.get_bool("answer"),
                    "explanation": f.text("explanation"),
                }
        qs, ins = f.links("questions", links), f.links("insights", links)
        claimed = ids.claim(f, cid)
        if f.ok and ctype is not None and claimed:
            cards.append(
                Card(
                    _req(cid), ctype, _req(topic), deck.id if deck else "?", questions=qs, insights=ins, **kw
                )
            )
    return deck, cards


def _read_exercises(root: Path, ids: _Ids, links: list[_Link], problems: list[Problem]) -> list[ExerciseMeta]:
    out: list[ExerciseMeta] = []
    if not root.is_dir():
        _Ctx(str(root), problems).add(1, Msg("content_load.exercises_dir_missing"))
        return out
    for meta_path in sorted(root.glob("*/exercise.yaml")):
        ctx = _Ctx(str(meta_path), problems)
        data = _parse(meta_path, ctx)
        if data is None:
            continue
        if not isinstance(data, LMap):
            ctx.add(getattr(data, "line", 1), Msg("content_load.exercise_not_mapping"))
            continue
        f = _Fields(
            data,
            ctx,
            Msg("content_load.what.exercise", id=str(data.get("id", "?"))),
            (
                "id",
                "order",
                "title",
                "topic",
                "questions",
                "checklist",
                "entry",
                "forbidden",
                "hints",
                "test_hints",
            ),
        )
        eid, order, title = f.get_str("id"), f.get_int("order"), f.text("title")
        topic = f.choice("topic", TOPICS)
        if eid is not None and eid != meta_path.parent.name:
            f.problem(
                "id",
                Msg("content_load.exercise_id_folder", what=f.what_msg, id=eid, folder=meta_path.parent.name),
            )
        qs, cl = f.links("questions", links), f.links("checklist", links)
        entry, forbidden = f.ids("entry"), f.ids("forbidden")
        if not entry:
            f.problem("entry", Msg("content_load.exercise_entry", what=f.what_msg))
        hints = f.texts("hints")
        test_hints = _read_test_hints(f, data.get("test_hints"))
        for required in ("prompt.md", "starter.py"):
            if not (meta_path.parent / required).is_file():
                f.problem(None, Msg("content_load.exercise_missing_file", what=f.what_msg, file=required))
        claimed = ids.claim(f, eid)
        if f.ok and claimed:
            out.append(
                ExerciseMeta(
                    _req(eid),
                    _req(order),
                    _req(title),
                    _req(topic),
                    meta_path.parent,
                    qs,
                    cl,
                    entry,
                    forbidden,
                    hints,
                    test_hints,
                )
            )
    out.sort(key=lambda e: (e.order, e.id))
    return out


def _read_test_hints(f: _Fields, raw: Any) -> tuple[tuple[str, tuple[Text, ...]], ...]:
    """``test_hints: {"<exact test name>": [{en, zh}, ...]}``. The names are checked against the
    grader's TESTS by tests/test_content_rules.py (the grader's checks import torch; the core must not)."""
    if raw is None:
        return ()
    if not isinstance(raw, LMap):
        f.problem(
            "test_hints", f"{f.what}: 'test_hints' must be a mapping from a test name to a list of hints"
        )
        return ()
    out = []
    for name, value in raw.items():
        line = raw.key_lines.get(name, raw.line)
        if not name.strip():
            f.ok = False
            f.ctx.add(line, f"{f.what}: test_hints has an empty test name")
            continue
        if not isinstance(value, LList) or not value:
            f.ok = False
            f.ctx.add(line, f"{f.what}: test_hints['{name}'] must be a non-empty list of {{en, zh}} hints")
            continue
        texts = []
        for i, item in enumerate(value):
            t = f._text_value(item, f"test_hints['{name}'][{i + 1}]", value.item_lines[i])
            if t is not None:
                texts.append(t)
        out.append((name, tuple(texts)))
    return tuple(out)


def hints_for_failure(exercise_meta: ExerciseMeta, failed_test_names: list[str]) -> list[Text]:
    """The hints to show after a failed check: the hints keyed to the failing tests first (in the
    order the tests failed, each once), then the exercise's general hints, gentle → explicit."""
    out: list[Text] = []
    for name in failed_test_names:
        for hint in exercise_meta.hints_for(name):
            if hint not in out:
                out.append(hint)
    out.extend(h for h in exercise_meta.hints if h not in out)
    return out


def _check_links(links: list[_Link], content: Content, known_ids: dict[str, str]) -> None:
    for link in links:
        kind = _LINK_KINDS[link.field]
        target = content.item(link.target)
        if not isinstance(target, kind):
            hint: str | Msg = ""
            if link.target in known_ids:
                hint = Msg("content_load.link_invalid_hint", where=known_ids[link.target])
            link.ctx.add(
                link.line,
                Msg(
                    "content_load.link_unknown",
                    what=link.what,
                    field=link.field,
                    target=link.target,
                    kind=Msg(f"content_load.kind.{link.field[:-1]}"),
                    hint=hint,
                ),
            )


def _backlinks(content: Content) -> Content:
    """The same content with each question's and insight's cards filled in from the cards."""
    q_cards: dict[str, list[str]] = {}
    i_cards: dict[str, list[str]] = {}
    for card in content.cards:
        for q in card.questions:
            q_cards.setdefault(q, []).append(card.id)
        for i in card.insights:
            i_cards.setdefault(i, []).append(card.id)
    return Content(
        [replace(q, cards=tuple(q_cards.get(q.id, ()))) for q in content.questions],
        [replace(i, cards=tuple(i_cards.get(i.id, ()))) for i in content.insights],
        content.cards,
        content.checklist,
        content.exercises,
        content.decks,
    )


# --------------------------------------------------------------------------- entry points


def load_content(
    content_dir: Path | None = None,
    exercises_dir: Path | None = None,
    decks_dir: Path | None = None,
    *,
    include_decks: bool = True,
) -> tuple[Content, list[Problem]]:
    """Load and validate everything. Returns the content and every problem found.

    Problems with severity "error" concern the given content; "warning"s are learner decks that
    were skipped. Items with problems are left out of the returned content.
    """
    content, problems, ids = _load_builtin(content_dir, exercises_dir)
    if include_decks:
        ddir = Path(decks_dir) if decks_dir is not None else locations.decks_dir()
        for deck_obj, deck_cards, deck_problems in load_decks(ddir, content, ids):
            problems.extend(deck_problems)
            if deck_obj is not None:
                content.cards.extend(deck_cards)
                content.decks.append(deck_obj)
    return _backlinks(content), problems


def _load_builtin(
    content_dir: Path | None, exercises_dir: Path | None
) -> tuple[Content, list[Problem], _Ids]:
    cdir = Path(content_dir) if content_dir is not None else locations.content_dir()
    edir = Path(exercises_dir) if exercises_dir is not None else locations.exercises_dir()
    problems: list[Problem] = []
    ids = _Ids()
    links: list[_Link] = []

    def parse(name: str) -> tuple[Any, _Ctx]:
        path = cdir / name
        ctx = _Ctx(str(path), problems)
        if not path.is_file():
            ctx.add(1, Msg("content_load.missing_content_file", name=name))
            return None, ctx
        return _parse(path, ctx), ctx

    data, ctx = parse("questions.yaml")
    questions = _read_questions(data, ctx, ids, links)
    data, ctx = parse("insights.yaml")
    insights = _read_insights(data, ctx, ids, links)
    data, ctx = parse("flashcards.yaml")
    deck, cards = _read_deck(data, ctx, ids, links, builtin=True) if data is not None else (None, [])
    data, ctx = parse("checklist.yaml")
    checklist = _read_checklist(data, ctx, ids, links)
    exercises = _read_exercises(edir, ids, links, problems)

    content = Content(questions, insights, cards, checklist, exercises, [deck] if deck else [])
    _check_links(links, content, ids.seen)
    return content, problems, ids


def load_decks(ddir: Path, content: Content, ids: _Ids | None = None):
    """Yield (deck or None, cards, warnings) for every learner deck; a bad deck yields None."""
    if not ddir.is_dir():
        return
    ids = ids or _Ids()
    if not ids.seen:
        for item in content._index:
            ids.seen[item] = "built-in content"
    for path in sorted([*ddir.glob("*.yaml"), *ddir.glob("*.yml")]):
        deck_problems: list[Problem] = []
        ctx = _Ctx(str(path), deck_problems, severity="warning")
        deck_ids = _Ids()
        deck_ids.seen = dict(ids.seen)
        deck_links: list[_Link] = []
        data = _parse(path, ctx)
        deck, cards = (
            _read_deck(data, ctx, deck_ids, deck_links, builtin=False) if data is not None else (None, [])
        )
        trial = Content(
            content.questions,
            content.insights,
            [*content.cards, *cards],
            content.checklist,
            content.exercises,
        )
        _check_links(deck_links, trial, deck_ids.seen)
        if deck is not None and any(d.id == deck.id for d in content.decks):
            ctx.add(
                data.line if isinstance(data, LMap) else 1,
                Msg("content_load.deck_id_used", id=deck.id),
            )
        if deck_problems:
            # the deck is left out whole: every one of its problems says so (no extra line, so the
            # app and `validate` count the same problems)
            yield None, [], [replace(p, deck_skipped=True) for p in deck_problems]
            continue
        ids.seen.update({c.id: str(path) for c in cards})
        yield deck, cards, []


def validate_decks_only(ddir: Path) -> list[Problem]:
    """Validate a folder of learner decks against the built-in content (errors, not warnings)."""
    content, _, ids = _load_builtin(None, None)
    out: list[Problem] = []
    for _, _, deck_problems in load_decks(ddir, content, ids):
        out.extend(replace(p, severity="error") for p in deck_problems)
    return out


_CACHE: dict[tuple[str, str, str], tuple[Content, list[Problem]]] = {}
CACHE_FORMAT = 1  # bump when the model classes change shape


def _inputs(cdir: Path, edir: Path, ddir: Path) -> list[Path]:
    """Every file load_content reads or looks for (a file that appears or goes changes the key)."""
    files = sorted(cdir.glob("*.yaml"))
    for meta in sorted(edir.glob("*/exercise.yaml")):
        files.append(meta)
        files.extend(p for p in (meta.parent / "prompt.md", meta.parent / "starter.py") if p.is_file())
    if ddir.is_dir():
        files.extend(sorted([*ddir.glob("*.yaml"), *ddir.glob("*.yml")]))
    return files


def _content_key(cdir: Path, edir: Path, ddir: Path) -> str:
    """A hash of everything the parsed content depends on: this module's code, and the name and
    bytes of every input file."""
    import hashlib

    from studytool import __version__

    h = hashlib.blake2b(digest_size=20)
    h.update(f"{CACHE_FORMAT}|{__version__}|".encode())
    here = Path(__file__).parent
    for module in ("content.py", "content_model.py", "content_yaml.py"):  # the loader's code
        h.update((here / module).read_bytes())
    for path in _inputs(cdir, edir, ddir):
        h.update(str(path).encode("utf-8") + b"\0")
        h.update(path.read_bytes() if path.suffix in (".yaml", ".yml") else b"present")
        h.update(b"\0")
    return h.hexdigest()


def _load_cached(cdir: Path, edir: Path, ddir: Path) -> tuple[Content, list[Problem]]:
    """load_content, through a pickle in the user's cache directory keyed by :func:`_content_key`:
    parsing the YAML is most of the app's start-up; reading the files to hash them is not.
    A missing, stale or unreadable cache is rebuilt; one that cannot be written is skipped."""
    import pickle

    try:
        key = _content_key(cdir, edir, ddir)
    except OSError:
        return load_content(cdir, edir, ddir)
    cache = locations.cache_dir() / "content.pickle"
    try:
        with open(cache, "rb") as f:
            stored_key, content, problems = pickle.load(f)
        if stored_key == key and isinstance(content, Content):
            return content, problems
    except Exception:  # noqa: BLE001 - a cache: any failure to read it means "parse again"
        pass
    content, problems = load_content(cdir, edir, ddir)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"content.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump((key, content, problems), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass
    return content, problems


def default_content() -> tuple[Content, list[Problem]]:
    """The built-in content plus the learner's decks, loaded once per process (and parsed once
    per change of its files: see :func:`_load_cached`)."""
    cdir, edir, ddir = locations.content_dir(), locations.exercises_dir(), locations.decks_dir()
    key = (str(cdir), str(edir), str(ddir))
    if key not in _CACHE:
        _CACHE[key] = _load_cached(cdir, edir, ddir)
    return _CACHE[key]


def load_exercises(exercises_dir: Path | None = None) -> tuple[list[ExerciseMeta], list[Problem]]:
    edir = Path(exercises_dir) if exercises_dir is not None else locations.exercises_dir()
    problems: list[Problem] = []
    return _read_exercises(edir, _Ids(), [], problems), problems
