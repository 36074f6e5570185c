"""`review` (the line-mode review, ``--plain``), `optimize` and `unsuspend`.

The plain review reads one line per key, from a terminal or from a pipe alike:

- at the front: Enter reveals (a question takes an optional typed answer first; a true/false card
  takes the verdict ``t``/``f`` first); ``u`` undo, ``s`` suspend, ``b`` bury, ``q`` quit;
- after the reveal: ``1``-``4`` rate (the intervals shown are the ones applied); for a question,
  ``k 1 3`` marks the key points recalled and suggests a rating, which Enter then accepts; ``u``,
  ``s``, ``b``, ``q`` as above.

So ``printf '\\n3\\n\\n1\\n' | studytool review --plain --limit 2`` rates two items Good and Again.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from studytool import scheduler as sch
from studytool.cli import UsageError
from studytool.config import ConfigError, load_config
from studytool.review import Choice, ReviewSession, suggest_rating
from studytool.store import Store, utcnow


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "review", help="spaced-repetition review of the flashcards and questions",
        description="Review what is due (FSRS), then new items up to the daily limit.")
    p.add_argument("--plain", action="store_true",
                   help="line mode for plain terminals, screen readers and scripts (this "
                   "command's only mode; the app's review is `studytool`, then 2)")
    p.add_argument("--limit", type=int, metavar="N", help="stop after N ratings")
    p.add_argument("--cram", action="store_true",
                   help="review everything without touching the schedule or the log")
    p.add_argument("--topic", metavar="T", help="only items of this topic")
    p.add_argument("--lang", choices=["en", "zh", "both"], default="both",
                   help="language of the texts (default: both)")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser(
        "optimize", help="fit personal FSRS parameters from your review log",
        description="Fit FSRS parameters to your own reviews with fsrs' Optimizer (needs the "
        f"optional extra and at least {sch.MIN_OPTIMIZER_REVIEWS} reviews), then reschedule.")
    p.add_argument("--dry-run", action="store_true", help="print the parameters, keep nothing")
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser("unsuspend", help="put suspended or buried items back into review",
                       description="Without ids: list the suspended items.")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every suspended item")
    p.set_defaults(func=cmd_unsuspend)


# --------------------------------------------------------------------------- helpers


def _content() -> Any:
    from studytool.content import default_content

    content, problems = default_content()
    for problem in problems:
        print(problem, file=sys.stderr)
    return content


def _config():
    try:
        return load_config()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _local(dt: datetime, now: datetime) -> str:
    local, here = dt.astimezone(), now.astimezone()
    if local.date() == here.date():
        return local.strftime("%H:%M")
    if local.year == here.year:
        return local.strftime("%a %d %b %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


class _Text:
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, text: Any) -> str:
        if text is None:
            return ""
        if self.lang == "both":
            return text.en if text.en == text.zh else f"{text.en}\n{text.zh}"
        return text.get(self.lang)

    def both(self, fn) -> str:
        """For the content's own renderers, which take a language."""
        if self.lang == "both":
            en, zh = fn("en"), fn("zh")
            return en if en == zh else f"{en}\n{zh}"
        return fn(self.lang)


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


def _choices_line(choices: dict[int, Choice]) -> str:
    return "  ".join(f"{r} {c.name} {c.label}" for r, c in sorted(choices.items()))


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
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    config = _config()
    content = _content()
    topics = sorted({it.topic for it in sch.review_items(content)})
    if args.topic is not None and args.topic not in topics:
        raise UsageError(f"unknown topic {args.topic!r} (topics: {', '.join(topics)})")
    with Store() as store:
        session = ReviewSession(store, content, config=config, topic=args.topic, cram=args.cram,
                                limit=args.limit)
        _PlainReview(session, _Text(args.lang), _Input()).run()
    return 0


class _Quit(Exception):
    pass


class _PlainReview:
    def __init__(self, session: ReviewSession, text: _Text, read: _Input) -> None:
        self.s = session
        self.t = text
        self.read = read

    def run(self) -> None:
        s = self.s
        now = s.clock()
        c = s.queue.counts(now)
        mode = " — cram: the schedule and the log stay untouched" if s.cram else ""
        print(f"Review: {c['due']} due, {c['learning']} learning, {c['new']} new{mode}. "
              "Keys: Enter reveal, 1-4 rate, u undo, s suspend, b bury, q quit.")
        try:
            while True:
                cur = s.next()
                if cur is None:
                    break
                self.item(cur)
        except _Quit:
            pass
        print(self.summary_line())

    # -- one item

    def item(self, cur) -> None:
        it = cur.item
        recall = (f" · recall {cur.retrievability:.0%}" if cur.retrievability is not None else "")
        kind = "question" if it.kind == "question" else f"{it.type} card"
        print(f"\n── {kind} {it.id} · {it.topic} · {cur.state}{recall} · {cur.remaining} more ──")
        obj = it.obj
        answer_text, verdict = "", None
        if it.kind == "question":
            print(self.t(obj.question))
            prompt = "Type your answer (optional), Enter to reveal"
        elif it.type == "truefalse":
            print(self.t(obj.statement))
            prompt = "True or false? t/f, or Enter to reveal"
        else:
            print(self.t.both(obj.prompt))
            prompt = "Enter to reveal"
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
            undone = s.undo()
            print(f"Undone: {undone} is back." if undone else "Nothing to undo in this session.")
            return undone is not None
        if key == "s":
            print(f"Suspended {s.suspend()} (studytool unsuspend ID brings it back).")
            return True
        if key == "b":
            print(f"Buried {s.bury()} until tomorrow.")
            return True
        return None

    def back(self, cur, answer_text: str, verdict: bool | None) -> None:
        it, obj = cur.item, cur.item.obj
        total, suggestion = 0, None
        print("──")
        if it.kind == "question":
            if answer_text:
                print(f"Your answer: {answer_text}")
            print(self.t(obj.answer))
            total = len(obj.key_points)
            print("Key points:")
            for i, kp in enumerate(obj.key_points, 1):
                print(f"  {i}. " + self.t(kp).replace("\n", "\n     "))
            for m in getattr(obj, "misconceptions", ()) or ():
                print("Misconception: " + self.t(m.claim).replace("\n", " / ") + " → "
                      + self.t(m.correction).replace("\n", " / "))
        else:
            if it.type == "truefalse" and verdict is not None:
                right = verdict == bool(obj.answer)
                print(f"You said {'true' if verdict else 'false'}: "
                      f"{'right' if right else 'wrong'}.")
                suggestion = 3 if right else 1
            print(self.t.both(obj.reveal))
        choices = self.s.reveal()
        recalled: list[int] = []
        while True:
            prompt = "Rate: " + _choices_line(choices)
            if it.kind == "question":
                prompt += f"   (k 1 3: mark recalled key points of 1-{total})"
            if suggestion is not None:
                prompt += f"   Enter: {sch.RATING_NAMES[suggestion]} (suggested)"
            line = self.read(prompt)
            if line is None:
                raise _Quit
            key = line.strip().lower()
            if key in ("1", "2", "3", "4") or (key == "" and suggestion is not None):
                rating = int(key) if key else suggestion
                answer = (sch.QuestionAnswer(answer_text, tuple(recalled), total)
                          if it.kind == "question" else None)
                rated = self.s.rate(rating, answer=answer)
                when = "" if rated.due is None else f", due {_local(rated.due, self.s.clock())}"
                print(f"→ {rated.name}: {rated.label}{when}")
                return
            if it.kind == "question" and (key == "k" or key.startswith("k ")):
                points = _parse_points(key[1:], total)
                if points is None:
                    print(f"Key points are numbered 1-{total}, e.g. k 1 3 (or k all, k none).")
                    continue
                recalled = points
                suggestion = suggest_rating(len(recalled), total)
                print(f"Recalled {len(recalled)}/{total} key points: suggests "
                      f"{suggestion} {sch.RATING_NAMES[suggestion]}.")
                continue
            handled = self.command(key)
            if handled:
                return
            if handled is not None:
                continue
            print("Keys: 1 Again, 2 Hard, 3 Good, 4 Easy; u undo, s suspend, b bury, q quit.")

    def summary_line(self) -> str:
        sm = self.s.summary()
        r = sm.by_rating
        verb = "Crammed" if sm.cram else "Reviewed"
        mins, secs = divmod(int(sm.seconds), 60)
        parts = [f"{verb} {sm.rated} (again {r[1]}, hard {r[2]}, good {r[3]}, easy {r[4]})",
                 f"{sm.new} new"]
        if sm.undone:
            parts.append(f"{sm.undone} undone")
        if sm.suspended:
            parts.append(f"{sm.suspended} suspended")
        if sm.buried:
            parts.append(f"{sm.buried} buried")
        line = ", ".join(parts) + f" in {mins}:{secs:02d}"
        if sm.next_due is not None and not sm.cram:
            line += f"; next step due {_local(sm.next_due, self.s.clock())}"
        elif sm.rated == 0 and not sm.cram:
            line += "; nothing more due now"
        return line + "."


# --------------------------------------------------------------------------- optimize


def cmd_optimize(args: argparse.Namespace) -> int:
    config = _config()
    with Store() as store:
        n = sch.optimizer_review_count(store)
        need = sch.MIN_OPTIMIZER_REVIEWS
        if n < need:
            print(f"FSRS fits personal parameters from at least {need} reviews made on a later day "
                  f"than the item's previous review; you have {n}, so {need - n} more are needed. "
                  "Until then fsrs' default parameters are used.")
            return 0
        try:
            from fsrs import Optimizer  # the optional extra: imports torch

            logs = sch.fsrs_review_logs(store)
            optimizer = Optimizer(logs)
        except ImportError as exc:
            print(f"studytool: error: fsrs' Optimizer is not available ({exc}); install the "
                  "extra: pip install 'studytool[optimizer]'", file=sys.stderr)
            return 1
        print(f"Fitting FSRS parameters to {len(logs)} reviews ({n} count for fitting)...",
              flush=True)
        params = [float(p) for p in optimizer.compute_optimal_parameters()]
        shown = ", ".join(f"{p:.4f}" for p in params)
        if args.dry_run:
            print(f"Parameters (not saved): [{shown}]")
            return 0
        changed = sch.save_parameters(store, params, config=config)
        print(f"Saved parameters [{shown}]; rescheduled {changed} items from the review log.")
    return 0


# --------------------------------------------------------------------------- unsuspend


def cmd_unsuspend(args: argparse.Namespace) -> int:
    content = _content()
    kinds = {it.id: it.kind for it in sch.review_items(content)}
    with Store() as store:
        suspended = sch.suspended_items(store)
        if not args.ids and not args.all:
            for item_id in suspended:
                print(item_id)
            print(f"{len(suspended)} suspended" + (" (studytool unsuspend ID... or --all)"
                                                   if suspended else ""))
            return 0
        ids = suspended if args.all else args.ids
        unknown = [i for i in ids if i not in kinds and i not in suspended]
        if unknown:
            raise UsageError(f"no such item: {', '.join(unknown)}")
        now = utcnow()
        for item_id in ids:
            sch.unsuspend(store, item_id, kinds.get(item_id, "card"), now=now)
            print(f"unsuspended {item_id}")
    return 0
