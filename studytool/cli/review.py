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
from typing import Any

from studytool import i18n
from studytool import scheduler as sch
from studytool.cli import UsageError
from studytool.config import ConfigError, load_config
from studytool.review import Choice, ReviewSession, suggest_rating, summary_lines
from studytool.store import Store, utcnow


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
        "--lang", choices=["en", "zh", "both"], default="both", help="language of the texts (default: both)"
    )
    p.set_defaults(func=cmd_review)

    p = sub.add_parser(
        "optimize",
        help="fit personal FSRS parameters from your review log",
        description="Fit FSRS parameters to your own reviews with fsrs' Optimizer (needs the "
        f"optional extra and at least {sch.MIN_OPTIMIZER_REVIEWS} reviews), then reschedule.",
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
    p.add_argument("--lang", choices=["en", "zh"], default="en")
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


def _choices_line(choices: dict[int, Choice], lang: str) -> str:
    lang = "zh" if lang == "zh" else "en"
    if any(c.cram for c in choices.values()):  # one note instead of four identical labels
        names = "  ".join(f"{r} {c.name_in(lang)}" for r, c in sorted(choices.items()))
        return names + (" — " if lang == "en" else "——") + i18n.tr("cram_label", lang)
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
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    config = _config()
    content = _content()
    topics = sorted({it.topic for it in sch.review_items(content)})
    if args.topic is not None and args.topic not in topics:
        raise UsageError(f"unknown topic {args.topic!r} (topics: {', '.join(topics)})")
    with Store() as store:
        session = ReviewSession(
            store, content, config=config, topic=args.topic, cram=args.cram, limit=args.limit
        )
        _PlainReview(session, _Text(args.lang), _Input()).run()
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
        self._seen_changes = session.changed_elsewhere

    def w(self, en: str, zh: str) -> str:
        return zh if self.lang == "zh" else en

    def title(self, item_id: str) -> str:
        return self.s.title(item_id, self.lang)

    def run(self) -> None:
        s = self.s
        c = s.counts()
        counts = i18n.tr("counts", self.lang, new=c.new, learning=c.learning, review=c.review)
        if s.cram:
            print(
                self.w(
                    f"Review (cram: the schedule and the log stay untouched): {counts}.",
                    f"复习（突击模式：日程和记录都不改动）：{counts}。",
                )
            )
        else:
            print(self.w(f"Review: {counts}.", f"复习：{counts}。"))
        print(
            self.w(
                "Keys: Enter reveal, 1-4 rate, u undo, s suspend, b bury, q quit.",
                "按键：回车 翻面，1-4 评分，u 撤销，s 暂停，b 搁置，q 退出。",
            )
        )
        try:
            while True:
                cur = s.next()
                self._notice_changes()
                if cur is None:
                    break
                self.item(cur)
        except _Quit:
            pass
        self._notice_changes()
        print()
        for line in self.summary_lines():
            print(line)

    def _notice_changes(self) -> None:
        if self.s.changed_elsewhere != self._seen_changes:
            self._seen_changes = self.s.changed_elsewhere
            print(i18n.tr("changed_elsewhere", self.lang) + self.w(".", "。"))

    # -- one item

    def item(self, cur) -> None:
        it = cur.item
        lang = self.lang
        recall = (
            self.w(f" · recall {cur.retrievability:.0%}", f" · 记忆 {cur.retrievability:.0%}")
            if cur.retrievability is not None
            else ""
        )
        kind = (
            self.w("question", "问题")
            if it.kind == "question"
            else self.w(
                f"{it.type} card",
                {"basic": "问答卡", "cloze": "填空卡", "truefalse": "判断卡"}.get(it.type, "卡片"),
            )
        )
        c = cur.counts
        counts = i18n.tr("counts", lang, new=c.new, learning=c.learning, review=c.review)
        from studytool.content import TOPIC_LABELS

        topic = TOPIC_LABELS.get(it.topic, (it.topic, it.topic))[1 if lang == "zh" else 0]
        print(
            f"\n── {kind} {it.id} · {topic} · {i18n.state_name(cur.state, lang)}{recall}"
            f" · {self.w('left: ', '剩余：')}{counts} ──"
        )
        obj = it.obj
        answer_text, verdict = "", None
        if it.kind == "question":
            print(self.t(obj.question))
            prompt = self.w(
                "Type your answer (optional), Enter to reveal", "输入你的答案（可选），回车显示答案"
            )
        elif it.type == "truefalse":
            print(self.t(obj.statement))
            prompt = self.w("True or false? t/f, or Enter to reveal", "正确还是错误？t/f，或回车直接显示")
        else:
            print(self.t.both(obj.prompt))
            prompt = self.w("Enter to reveal", "回车翻面")
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
        lang = self.lang
        if key == "q":
            raise _Quit
        if key == "u":
            try:
                undone = s.undo()
            except sch.ChangedElsewhere as exc:
                print(
                    i18n.tr("undo_changed_elsewhere", lang, title=self.title(exc.item_id)) + self.w(".", "。")
                )
                return False
            if undone is None:
                print(i18n.tr("nothing_to_undo", lang) + self.w(".", "。"))
                return False
            print(i18n.tr("undone", lang, title=self.title(undone)) + self.w(".", "。"))
            return True
        if key == "s":
            item_id = s.suspend()
            print(
                self.w(
                    f"Suspended: {self.title(item_id)} (studytool unsuspend {item_id} brings it back).",
                    f"已暂停：{self.title(item_id)}（studytool unsuspend {item_id} 可以恢复）。",
                )
            )
            return True
        if key == "b":
            print(i18n.tr("buried", lang, title=self.title(s.bury())) + self.w(".", "。"))
            return True
        return None

    def back(self, cur, answer_text: str, verdict: bool | None) -> None:
        it, obj = cur.item, cur.item.obj
        lang = self.lang
        total, suggestion = 0, None
        print("──")
        if it.kind == "question":
            if answer_text:
                print(self.w(f"Your answer: {answer_text}", f"你的答案：{answer_text}"))
            print(self.t(obj.answer))
            total = len(obj.key_points)
            print(self.w("Key points:", "要点："))
            for i, kp in enumerate(obj.key_points, 1):
                print(f"  {i}. " + self.t(kp).replace("\n", "\n     "))
            for m in getattr(obj, "misconceptions", ()) or ():
                print(
                    self.w("Misconception: ", "常见误解：")
                    + self.t(m.claim).replace("\n", " / ")
                    + " → "
                    + self.t(m.correction).replace("\n", " / ")
                )
        else:
            if it.type == "truefalse" and verdict is not None:
                right = verdict == bool(obj.answer)
                said = self.w("true" if verdict else "false", "正确" if verdict else "错误")
                print(
                    self.w(
                        f"You said {said}: {'right' if right else 'wrong'}.",
                        f"你的判断是“{said}”：{'答对了' if right else '答错了'}。",
                    )
                )
                suggestion = 3 if right else 1
            print(self.t.both(obj.reveal))
        choices = self.s.reveal()
        self._notice_changes()
        recalled: list[int] = []
        while True:
            prompt = self.w("Rate: ", "评分：") + _choices_line(choices, lang)
            if it.kind == "question":
                prompt += self.w(
                    f"   (k 1 3: mark recalled key points of 1-{total})",
                    f"   （k 1 3：标记回忆起的要点，编号 1-{total}）",
                )
            if suggestion is not None:
                name = i18n.rating_name(suggestion, lang)
                prompt += self.w(f"   Enter: {name} (suggested)", f"   回车：{name}（建议）")
            line = self.read(prompt)
            if line is None:
                raise _Quit
            key = line.strip().lower()
            if key in ("1", "2", "3", "4") or (key == "" and suggestion is not None):
                rating = int(key) if key else suggestion
                answer = (
                    sch.QuestionAnswer(answer_text, tuple(recalled), total) if it.kind == "question" else None
                )
                rated = self.s.rate(rating, answer=answer)
                when = (
                    ""
                    if rated.due is None
                    else self.w(
                        f", due {i18n.when_text(rated.due, self.s.clock(), lang)}",
                        f"，到期：{i18n.when_text(rated.due, self.s.clock(), lang)}",
                    )
                )
                name = i18n.rating_name(rated.rating, lang)
                line = f"→ {name}{self.w(':', '：')}{' ' if lang == 'en' else ''}{rated.label_in(lang)}{when}"
                if rated.recomputed:
                    line += self.w(f" ({i18n.tr('recomputed', lang)})", f"（{i18n.tr('recomputed', lang)}）")
                print(line)
                return
            if it.kind == "question" and (key == "k" or key.startswith("k ")):
                points = _parse_points(key[1:], total)
                if points is None:
                    print(
                        self.w(
                            f"Key points are numbered 1-{total}, e.g. k 1 3 (or k all, k none).",
                            f"要点编号为 1-{total}，例如 k 1 3（或 k all、k none）。",
                        )
                    )
                    continue
                recalled = points
                suggestion = suggest_rating(len(recalled), total)
                name = i18n.rating_name(suggestion, lang)
                print(
                    self.w(
                        f"Recalled {len(recalled)}/{total} key points: suggests {suggestion} {name}.",
                        f"回忆起 {len(recalled)}/{total} 个要点：建议 {suggestion} {name}。",
                    )
                )
                continue
            handled = self.command(key)
            if handled:
                return
            if handled is not None:
                continue
            n = {r: i18n.rating_name(r, lang) for r in (1, 2, 3, 4)}
            print(
                self.w(
                    f"Keys: 1 {n[1]}, 2 {n[2]}, 3 {n[3]}, 4 {n[4]}; u undo, s suspend, b bury, q quit.",
                    f"按键：1 {n[1]}，2 {n[2]}，3 {n[3]}，4 {n[4]}；u 撤销，s 暂停，b 搁置，q 退出。",
                )
            )

    def summary_lines(self) -> list[str]:
        """The end of the session (review.summary_lines), then the ratings in detail."""
        sm = self.s.summary()
        lines = summary_lines(sm, self.lang)
        r = sm.by_rating
        n = {k: i18n.rating_name(k, self.lang) for k in (1, 2, 3, 4)}
        if sm.rated:
            lines.insert(
                min(2, len(lines)),
                self.w(
                    f"Ratings: {n[1]} {r[1]}, {n[2]} {r[2]}, {n[3]} {r[3]}, {n[4]} {r[4]}.",
                    f"评分：{n[1]} {r[1]}，{n[2]} {r[2]}，{n[3]} {r[3]}，{n[4]} {r[4]}。",
                ),
            )
        return lines


# --------------------------------------------------------------------------- optimize


def cmd_optimize(args: argparse.Namespace) -> int:
    config = _config()
    with Store() as store:
        n = sch.optimizer_review_count(store)
        need = sch.MIN_OPTIMIZER_REVIEWS
        if n < need:
            print(
                f"FSRS fits personal parameters from at least {need} reviews made on a later day "
                f"than the item's previous review; you have {n}, so {need - n} more are needed. "
                "Until then fsrs' default parameters are used."
            )
            return 0
        try:
            from fsrs import Optimizer  # the optional extra: imports torch

            logs = sch.fsrs_review_logs(store)
            optimizer = Optimizer(logs)
        except ImportError as exc:
            print(
                f"studytool: error: fsrs' Optimizer is not available ({exc}); install the "
                "extra: pip install 'studytool[optimizer]'",
                file=sys.stderr,
            )
            return 1
        print(f"Fitting FSRS parameters to {len(logs)} reviews ({n} count for fitting)...", flush=True)
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
    zh = args.lang == "zh"
    items = {it.id: it for it in sch.review_items(content)}
    with Store() as store:
        now = utcnow()
        held = sch.held_items(store, content, now)
        if not args.ids and not args.all:
            for h in held:
                how = {"suspended": "已暂停", "buried": "已搁置"}[h.how] if zh else h.how
                print(f"{h.item_id}  {how}  {h.title(args.lang, 60)}")
            n_s = sum(h.how == "suspended" for h in held)
            n_b = len(held) - n_s
            if zh:
                print(
                    f"暂停 {n_s} 张，搁置 {n_b} 张"
                    + ("（studytool unsuspend ID… 或 --all 恢复）" if held else "")
                )
            else:
                print(
                    f"{n_s} suspended, {n_b} buried"
                    + (" (studytool unsuspend ID... or --all)" if held else "")
                )
            return 0
        by_id = {h.item_id: h for h in held}
        ids = [h.item_id for h in held] if args.all else args.ids
        unknown = [i for i in ids if i not in items and i not in by_id]
        if unknown:
            raise UsageError(f"no such item: {', '.join(unknown)}")
        for item_id in ids:
            it = items.get(item_id)
            sch.unsuspend(store, item_id, it.kind if it else by_id[item_id].kind, now=now)
            title = it.title(args.lang, 60) if it else item_id
            print(f"已恢复复习 {item_id}：{title}" if zh else f"unsuspended {item_id}: {title}")
    return 0
