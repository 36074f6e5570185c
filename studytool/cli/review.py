"""`review` (the line-mode review, ``--plain``), `optimize` and `unsuspend`.

The plain review reads one line per key, from a terminal or from a pipe alike:

- at the front: Enter reveals (a question takes an optional typed answer first; a true/false card
  takes the verdict ``t``/``f`` first); ``u`` undo, ``s`` suspend, ``b`` bury, ``q`` quit;
- after the reveal: ``1``-``4`` rate (the intervals shown are the ones applied); for a question,
  ``k 1 3`` marks the key points recalled and suggests a rating, which Enter then accepts; ``u``,
  ``s``, ``b``, ``q`` as above.

So ``printf '\\n3\\n\\n1\\n' | studytool review --plain --limit 2`` rates two items Good and Again.
Every word comes from the catalogue (``cli.review.*``, ``review.*``); the content's text is wrapped
to the terminal's width at word boundaries (Chinese by the CJK rules, :mod:`studytool.textwrap_cjk`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from typing import Any

from studytool import i18n
from studytool.cli import UsageError, lang_of, print_problems
from studytool.config import ConfigError, load_config
from studytool.i18n import Msg, render
from studytool.review import Choice, Current, ReviewSession, suggest_rating, summary_msgs
from studytool.srs import repair
from studytool.srs import states as st
from studytool.srs.fsrs_adapter import MIN_OPTIMIZER_REVIEWS
from studytool.srs.items import review_items
from studytool.store import Store, utcnow
from studytool.textwrap_cjk import wrap


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "review",
        help="spaced-repetition review of the flashcards and questions",
        description="Review what is due (FSRS), then new items up to the daily limit.",
    )
    p.add_argument(
        "--plain",
        action="store_true",
        help="line mode for plain terminals, screen readers and scripts (this "
        "command's only mode; the app's review is `studytool`, then 2)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="stop after N ratings")
    p.add_argument(
        "--cram", action="store_true", help="review everything without touching the schedule or the log"
    )
    p.add_argument("--topic", metavar="T", help="only items of this topic")
    p.add_argument(
        "--lang",
        choices=["en", "zh", "both"],
        help="language: en, zh, or both (the content in both, the interface in English); default: "
        "the language the app remembers, else both",
    )
    p.set_defaults(func=cmd_review, lang_default="both")

    p = sub.add_parser(
        "optimize",
        help="fit personal FSRS parameters from your review log",
        description="Fit FSRS parameters to your own reviews with fsrs' Optimizer (needs the "
        f"optional extra and at least {MIN_OPTIMIZER_REVIEWS} reviews), then reschedule.",
    )
    p.add_argument("--dry-run", action="store_true", help="print the parameters, keep nothing")
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser(
        "unsuspend",
        help="put suspended or buried items back into review",
        description="Put suspended or buried items back into review. Without "
        "ids: list the suspended and buried items with their titles.",
    )
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every suspended and buried item")
    p.set_defaults(func=cmd_unsuspend)


# --------------------------------------------------------------------------- helpers


def _content() -> Any:
    from studytool.content import default_content

    content, problems = default_content()
    print_problems(problems)
    return content


def _config() -> Any:
    try:
        return load_config()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _width() -> int:
    return max(20, shutil.get_terminal_size((80, 24)).columns)


class _Text:
    """The content's own text in the chosen language ("both": English, then Chinese), wrapped."""

    def __init__(self, lang: str, width: int | None = None) -> None:
        self.lang = lang
        self.width = width or _width()

    def wrap(self, text: str, indent: str = "") -> str:
        out = []
        for para in text.split("\n"):
            lines = wrap(para, self.width - len(indent)) or [""]
            out.extend(indent + line if line else "" for line in lines)
        return "\n".join(out)

    def __call__(self, text: Any, indent: str = "") -> str:
        if text is None:
            return ""
        if self.lang == "both":
            raw = text.en if text.en == text.zh else f"{text.en}\n{text.zh}"
        else:
            raw = text.get(self.lang)
        return self.wrap(raw, indent)

    def both(self, fn: Callable[[str], str]) -> str:
        """For the content's own renderers, which take a language."""
        if self.lang == "both":
            en, zh = fn("en"), fn("zh")
            return self.wrap(en if en == zh else f"{en}\n{zh}")
        return self.wrap(fn(self.lang))


class _Input:
    """One line at a time, from a terminal or a pipe; None at end of input."""

    def __init__(self) -> None:
        self.tty = sys.stdin.isatty()

    def __call__(self, prompt: str) -> str | None:
        if self.tty:
            try:
                return input(f"{prompt} > ")
            except EOFError:
                return None
        print(f"{prompt} >", flush=True)
        line = sys.stdin.readline()
        return None if line == "" else line.rstrip("\r\n")


def _choices_line(choices: dict[int, Choice], lang: str) -> str:
    if any(c.cram for c in choices.values()):  # one note instead of four identical labels
        names = "  ".join(f"{r} {c.name_in(lang)}" for r, c in sorted(choices.items()))
        return names + ("——" if lang == "zh" else " — ") + render(Msg("review.cram_label"), lang)
    return "  ".join(f"{r} {c.name_in(lang)} {c.label_in(lang)}" for r, c in sorted(choices.items()))


_TRUE = {"t", "true", "y", "yes", "对", "正确"}
_FALSE = {"f", "false", "n", "no", "错", "错误"}


def _parse_points(arg: str, total: int) -> list[int] | None:
    arg = arg.strip().lower()
    if arg in ("all", "*"):
        return list(range(total))
    if arg in ("", "none", "0", "-"):
        return []
    out = []
    for token in arg.replace(",", " ").split():
        if not token.isdigit() or not 1 <= int(token) <= total:
            return None
        out.append(int(token) - 1)
    return sorted(set(out))


# --------------------------------------------------------------------------- review


def cmd_review(args: argparse.Namespace) -> int:
    lang = lang_of(args)
    if args.limit is not None and args.limit < 1:
        raise UsageError(i18n.t("cli.review.limit_usage", lang))
    config = _config()
    content = _content()
    topics = sorted({it.topic for it in review_items(content)})
    if args.topic is not None and args.topic not in topics:
        raise UsageError(i18n.t("cli.review.unknown_topic", lang, topic=args.topic, topics=", ".join(topics)))
    from studytool.applock import app_holder

    holder = app_holder()
    with Store() as store:
        session = ReviewSession(
            store, content, config=config, topic=args.topic, cram=args.cram, limit=args.limit
        )
        plain = _PlainReview(session, _Text(args.lang), _Input())
        if holder is not None:
            plain.say(Msg("cli.review.app_open", pid=holder.pid))
        plain.run()
    return 0


class _Quit(Exception):
    pass


class _PlainReview:
    def __init__(self, session: ReviewSession, text: _Text, read: _Input) -> None:
        self.s = session
        self.t = text
        self.read = read
        # the interface's own words: Chinese with --lang zh, else English
        self.lang = "zh" if text.lang == "zh" else "en"

    def r(self, key: str, **fields: Any) -> str:
        return i18n.t(key, self.lang, **fields)

    def say(self, msg: Msg) -> None:
        print(self.t.wrap(render(msg, self.lang)))

    def sentence(self, msg: Msg) -> None:
        """A status line (no full stop in the catalogue) as a sentence."""
        print(self.t.wrap(self.r("cli.review.line", text=msg)))

    def title(self, item_id: str) -> str:
        return self.s.title(item_id, self.lang)

    def run(self) -> None:
        s = self.s
        c = s.counts()
        counts = Msg("review.counts", **c.to_json())
        self.say(Msg("cli.review.header_cram" if s.cram else "cli.review.header", counts=counts))
        self.say(Msg("cli.review.keys"))
        try:
            while True:
                cur = s.next()
                self._notices()
                if cur is None:
                    break
                self.item(cur)
        except _Quit:
            s.stop()
        self._notices()
        print()
        for line in self.summary_lines():
            print(self.t.wrap(line))

    def _notices(self) -> None:
        for msg in self.s.notices():
            self.sentence(msg)

    # -- one item

    def item(self, cur: Current) -> None:
        from studytool.content import TOPIC_LABELS

        it = cur.item
        lang = self.lang
        recall = (
            self.r("cli.review.recall", pct=f"{cur.retrievability:.0%}")
            if cur.retrievability is not None
            else ""
        )
        kind = self.r(f"review.kind.{it.type}")
        counts = Msg("review.counts", **cur.counts.to_json())
        topic = TOPIC_LABELS.get(it.topic, (it.topic, it.topic))[1 if lang == "zh" else 0]
        print()
        print(
            self.t.wrap(
                self.r(
                    "cli.review.item_head",
                    kind=kind,
                    id=it.id,
                    topic=topic,
                    state=i18n.state_name(cur.state, lang),
                    recall=recall,
                )
            )
        )
        print(self.r("cli.review.item_left", counts=counts))
        obj = it.obj
        answer_text, verdict = "", None
        if it.kind == "question":
            print(self.t(obj.question))
            prompt = self.r("cli.review.prompt.question")
        elif it.type == "truefalse":
            print(self.t(obj.statement))
            prompt = self.r("cli.review.prompt.truefalse")
        else:
            print(self.t.both(obj.prompt))
            prompt = self.r("cli.review.prompt.card")
        while True:
            line = self.read(prompt)
            if line is None:
                raise _Quit
            key = line.strip()
            handled = self.command(key.lower())
            if handled:
                return
            if handled is not None:
                continue  # a key that did nothing here (undo with nothing to undo): ask again
            if it.kind == "question":
                answer_text = line.strip()
            elif it.type == "truefalse" and key.lower() in _TRUE | _FALSE:
                verdict = key.lower() in _TRUE
            break
        self.back(cur, answer_text, verdict)

    def command(self, key: str) -> bool | None:
        """u/s/b/q: True when the current item is finished with (or replaced), False when the key
        was handled but changed nothing (undo with nothing to undo), None for any other key."""
        s = self.s
        if key == "q":
            raise _Quit
        if key == "u":
            try:
                undone = s.undo()
            except st.ChangedElsewhere as exc:
                self.sentence(Msg("review.undo_changed_elsewhere", title=self.title(exc.item_id)))
                return False
            if undone is None:
                self.sentence(Msg("review.nothing_to_undo"))
                return False
            self.sentence(Msg("review.undone", title=self.title(undone)))
            return True
        if key == "s":
            item_id = s.suspend()
            self.say(
                Msg(
                    "cli.review.suspended",
                    title=self.title(item_id),
                    command=f"studytool unsuspend {item_id}",
                )
            )
            return True
        if key == "b":
            self.sentence(Msg("review.buried", title=self.title(s.bury())))
            return True
        return None

    def back(self, cur: Current, answer_text: str, verdict: bool | None) -> None:
        it, obj = cur.item, cur.item.obj
        lang = self.lang
        total, suggestion = 0, None
        print("──")
        if it.kind == "question":
            if answer_text:
                print(self.t.wrap(self.r("cli.review.your_answer", answer=answer_text)))
            print(self.t(obj.answer))
            total = len(obj.key_points)
            print(self.r("cli.review.key_points"))
            for i, kp in enumerate(obj.key_points, 1):
                print(f"  {i}. " + self.t(kp, indent="     ").lstrip())
            for m in getattr(obj, "misconceptions", ()) or ():
                claim = self.t(m.claim).replace("\n", " / ")
                correction = self.t(m.correction).replace("\n", " / ")
                print(self.t.wrap(self.r("cli.review.misconception", claim=claim, correction=correction)))
        else:
            if it.type == "truefalse" and verdict is not None:
                judgement = self.s.judge(verdict)
                self.say(judgement.msg())
                suggestion = judgement.suggested
            print(self.t.both(obj.reveal))
        choices = self.s.reveal()
        self._notices()
        recalled: list[int] = []
        while True:
            prompt = self.r("cli.review.rate", choices=_choices_line(choices, lang))
            if it.kind == "question":
                prompt += self.r("cli.review.rate_points", total=total)
            if suggestion is not None:
                prompt += self.r("cli.review.rate_suggested", rating=i18n.rating_name(suggestion, lang))
            line = self.read(prompt)
            if line is None:
                raise _Quit
            key = line.strip().lower()
            if key in ("1", "2", "3", "4") or (key == "" and suggestion is not None):
                rating = int(key) if key else suggestion
                assert rating is not None
                answer = (
                    st.QuestionAnswer(answer_text, tuple(recalled), total) if it.kind == "question" else None
                )
                rated = self.s.rate(rating, answer=answer)
                if not rated.applied:
                    self.sentence(rated.msg())
                    return
                when = (
                    ""
                    if rated.due is None
                    else self.r("cli.review.rated_when", when=i18n.when_text(rated.due, self.s.clock(), lang))
                )
                print(
                    self.r(
                        "cli.review.rated",
                        rating=i18n.rating_name(rated.rating, lang),
                        interval=rated.label_in(lang),
                        when=when,
                    )
                )
                return
            if it.kind == "question" and (key == "k" or key.startswith("k ")):
                points = _parse_points(key[1:], total)
                if points is None:
                    self.say(Msg("cli.review.points_usage", total=total))
                    continue
                recalled = points
                suggestion = suggest_rating(len(recalled), total)
                self.say(
                    Msg(
                        "cli.review.points_suggest",
                        n=len(recalled),
                        total=total,
                        r=suggestion,
                        rating=Msg(f"review.rating.{suggestion}"),
                    )
                )
                continue
            handled = self.command(key)
            if handled:
                return
            if handled is not None:
                continue
            self.say(
                Msg("cli.review.rating_keys", **{f"r{k}": Msg(f"review.rating.{k}") for k in (1, 2, 3, 4)})
            )

    def summary_lines(self) -> list[str]:
        """The end of the session (review.summary_msgs), then the ratings in detail."""
        sm = self.s.summary()
        msgs = summary_msgs(sm, self.s.clock())
        lines = [render(m, self.lang) for m in msgs]
        r = sm.by_rating
        if sm.rated:
            done = (
                "review.end.today",
                "review.end.session",
                "review.end.session_plain",
                "review.end.cram_session",
            )
            at = max((i for i, m in enumerate(msgs) if m.key in done), default=0) + 1
            lines.insert(
                at,
                render(
                    Msg(
                        "cli.review.ratings",
                        **{f"r{k}": Msg(f"review.rating.{k}") for k in (1, 2, 3, 4)},
                        **{f"n{k}": r[k] for k in (1, 2, 3, 4)},
                    ),
                    self.lang,
                ),
            )
        return lines


# --------------------------------------------------------------------------- optimize


def cmd_optimize(args: argparse.Namespace) -> int:
    lang = lang_of(args)
    config = _config()
    with Store() as store:
        n = repair.optimizer_review_count(store)
        need = MIN_OPTIMIZER_REVIEWS
        if n < need:
            print(i18n.t("cli.optimize.too_few", lang, need=need, n=n, more=need - n))
            return 0
        try:
            from fsrs import Optimizer  # the optional extra: imports torch

            logs = repair.fsrs_review_logs(store)
            optimizer = Optimizer(logs)
        except ImportError as exc:
            print(
                i18n.t("cli.error", lang, message=i18n.t("cli.optimize.unavailable", lang, why=exc)),
                file=sys.stderr,
            )
            return 1
        print(i18n.t("cli.optimize.fitting", lang, logs=len(logs), n=n), flush=True)
        params = [float(p) for p in optimizer.compute_optimal_parameters()]
        shown = ", ".join(f"{p:.4f}" for p in params)
        if args.dry_run:
            print(i18n.t("cli.optimize.dry_run", lang, params=shown))
            return 0
        changed = repair.save_parameters(store, params, config=config)
        print(i18n.t("cli.optimize.saved", lang, params=shown, changed=changed))
    return 0


# --------------------------------------------------------------------------- unsuspend


def cmd_unsuspend(args: argparse.Namespace) -> int:
    lang = lang_of(args)
    content = _content()
    config = _config()
    items = {it.id: it for it in review_items(content)}
    with Store() as store:
        now = utcnow()
        held = st.held_items(store, content, now)
        if not args.ids and not args.all:
            for h in held:
                print(f"{h.item_id}  {i18n.t('cli.unsuspend.' + h.how, lang)}  {h.title(lang, 60)}")
            n_s = sum(h.how == "suspended" for h in held)
            print(
                i18n.t("cli.unsuspend.totals", lang, s=n_s, b=len(held) - n_s)
                + (
                    i18n.t("cli.unsuspend.how", lang, command="studytool unsuspend ID...", all="--all")
                    if held
                    else ""
                )
            )
            return 0
        by_id = {h.item_id: h for h in held}
        ids = [h.item_id for h in held] if args.all else args.ids
        unknown = [i for i in ids if i not in items and i not in by_id]
        if unknown:
            raise UsageError(i18n.t("cli.unsuspend.no_such", lang, ids=", ".join(unknown)))
        for item_id in ids:
            it = items.get(item_id)
            h = by_id.get(item_id) or st.HeldItem(item_id, it.kind if it else "card", "suspended", None, it)
            restored = st.restore_held(store, h, now=now, config=config)
            title = it.title(lang, 60) if it else item_id
            print(f"{item_id}: " + render(restored.msg(title, now), lang))
    return 0
