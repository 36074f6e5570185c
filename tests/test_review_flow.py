"""Issue 11 core: the Again card waits (bug 6), counts and states (bug 7), three counts with one
definition, the end of a session, suspended and buried items, the shared en/zh words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from studytool import i18n
from studytool import scheduler as sch
from studytool.config import Config
from studytool.content import Card, Content, Question, Text, default_content
from studytool.review import ReviewSession, summary_lines
from studytool.store import Store
from studytool.today import today

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def _t(s: str) -> Text:
    return Text(s, s + "（中）")


def make_content(n: int = 12) -> Content:
    topics = ("alpha", "beta", "gamma")
    cards = [
        Card(
            id=f"c{i:02d}",
            type="basic",
            topic=topics[i % 3],
            deck="t",
            front=_t(f"front {i}"),
            back=_t(f"back {i}"),
        )
        for i in range(n)
    ]
    questions = [
        Question(
            id="q13",
            number=13,
            topic="alpha",
            title=_t("Why PE?"),
            question=_t("Why?"),
            answer=_t("Because."),
            key_points=(_t("one"), _t("two")),
        )
    ]
    return Content(questions=questions, cards=cards)


class Clock:
    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw) -> None:
        self.t += timedelta(**kw)


@pytest.fixture
def store():
    with Store() as s:
        yield s


def rate_current(session: ReviewSession, rating: int):
    session.reveal()
    return session.rate(rating)


# --------------------------------------------------------------------------- bug 6


def test_an_again_card_waits_for_its_step_while_others_come_first(store):
    """Shown at T0, answer read for three minutes, rated Again: its 1-minute step counts from the
    rating, so the eleven others waiting come first; it returns once the step is due."""
    content = make_content(12)
    clock = Clock()
    s = ReviewSession(store, content, config=Config(new_per_day=20), clock=clock)
    first = s.next().item.id
    s.reveal()
    clock.advance(minutes=3)  # reading the answer
    s.rate(1)
    shown = []
    for _ in range(3):  # the next ones, a few seconds each
        cur = s.next()
        shown.append(cur.item.id)
        clock.advance(seconds=10)
        rate_current(s, 3)
    assert first not in shown
    clock.advance(minutes=1)  # now the step is due: a due learning step goes first, as in Anki
    assert s.next().item.id == first


def test_the_card_just_answered_does_not_come_straight_back_when_only_steps_remain(store):
    content = make_content(2)  # two cards and a question
    clock = Clock()
    s = ReviewSession(store, content, config=Config(new_per_day=3), clock=clock)
    ids = []
    for rating in (3, 3, 3):  # all three into their 10-minute step
        ids.append(s.next().item.id)
        rate_current(s, rating)
    # nothing new is left: learning steps within the learn-ahead window come, earliest first
    a = s.next().item.id
    assert a == ids[0]
    rate_current(s, 1)  # Again: back in 1 minute — but the other steps are waiting
    b = s.next().item.id
    assert b != a and b == ids[1]


def test_a_lone_again_card_still_comes_back_within_the_learn_ahead_window(store):
    content = Content(cards=make_content(1).cards)
    s = ReviewSession(store, content, clock=Clock())
    a = s.next().item.id
    rate_current(s, 1)
    assert s.next().item.id == a  # nothing else is waiting: learn ahead, as Anki does


# --------------------------------------------------------------------------- bug 7


@pytest.mark.parametrize("new_per_day", [5, 50])
def test_burying_takes_one_off_the_remaining_count(store, new_per_day):
    content = make_content(12)  # 13 items
    s = ReviewSession(store, content, config=Config(new_per_day=new_per_day), clock=Clock())
    before = s.next().remaining
    s.bury()
    assert s.next().remaining == before - 1
    s.suspend()
    assert s.next().remaining == before - 2


def test_cram_previews_say_that_nothing_is_scheduled(store):
    content = make_content(3)
    s = ReviewSession(store, content, cram=True, clock=Clock())
    s.next()
    choices = s.reveal()
    assert {c.label for c in choices.values()} == {"no change (cram)"}
    assert choices[3].label_in("zh") == "不改日程（突击模式）"
    rated = s.rate(3)
    assert rated.due is None and rated.label_in("en") == "no change (cram)"
    assert "cram" in rated.status("en") and "突击模式" in rated.status("zh")


def test_status_lines_name_the_card_by_its_title_not_its_id(store):
    content = make_content(3)
    s = ReviewSession(store, content, clock=Clock())
    cur = s.next()
    assert cur.title("en") == "front 0" and cur.title("zh") == "front 0（中）"
    rated = rate_current(s, 3)
    assert rated.title("en") == "front 0"
    assert rated.status("en") == "Good → 10m: front 0"
    assert rated.status("zh") == "良好 → 10分钟：front 0（中）"
    undone = s.undo()
    assert i18n.tr("undone", "en", title=s.title(undone, "en")) == "Undone: front 0 is back"
    q = sch.review_items(content)
    question = next(it for it in q if it.kind == "question")
    assert question.title("en") == "Q13 Why PE?" and question.title("zh") == "Q13 Why PE?（中）"
    assert len(question.title("en", width=6)) == 6 and question.title("en", width=6).endswith("…")


# --------------------------------------------------------------------------- three counts


def test_today_and_review_count_the_same_three_numbers(store):
    content, _ = default_content()
    items = sch.review_items(content)
    config = Config()
    for it in items[:3]:
        sch.rate(store, it, 3, now=T0, config=config)  # learning: 10-minute step
    for it in items[3:5]:
        sch.rate(store, it, 4, now=T0 - timedelta(days=30), config=config)  # review, overdue
    now = T0 + timedelta(minutes=5)  # the steps are within the learn-ahead window
    session = ReviewSession(store, content, config=config, clock=lambda: now)
    counts = session.counts()
    assert counts == sch.review_counts(store, content, now=now, config=config)
    assert (counts.learning, counts.review) == (3, 2)
    assert counts.new == config.new_per_day - 3
    day = today(store, content, now=now, config=config)
    assert day.counts == counts and day.due_now == 5 and day.new_today == counts.new
    assert day.stats["cards"]["due"] == 5 and day.stats["queue"] == counts.to_json()
    review_step = next(s for s in day.next_steps if s.kind == "review")
    assert review_step.due == 5
    # the counts Review shows while an item is on screen are what is left after it
    cur = session.next()
    assert cur.counts.total == counts.total - 1 == cur.remaining


def test_counts_keep_the_old_dictionary_keys():
    c = sch.Counts(new=3, learning=2, review=1)
    assert (c["new"], c["learning"], c["review"], c["due"]) == (3, 2, 1, 1)
    assert c[0] == 3 and tuple(c) == (3, 2, 1) and c.total == 6 and c.due_now == 3


# --------------------------------------------------------------------------- end of session


def test_summary_and_lines_at_the_end_of_a_session(store):
    content = Content(cards=make_content(2).cards)
    clock = Clock()
    s = ReviewSession(store, content, clock=clock)
    s.next()
    clock.advance(seconds=20)
    rate_current(s, 1)
    s.next()
    clock.advance(seconds=30)
    rate_current(s, 4)
    clock.advance(minutes=1)
    s.next()
    rate_current(s, 4)  # the Again card graduates
    assert s.next() is None
    sm = s.summary()
    assert (sm.reviewed, sm.again, sm.seconds, sm.finished) == (3, 1, 110.0, True)
    assert sm.next_due is not None and sm.next_due > clock()
    en = summary_lines(sm, "en")
    assert en[0] == "Congratulations! You have finished this deck for now."
    assert en[1] == "Reviewed 3 (again 1; 2 new) in 1 min 50 s."
    assert en[2].startswith("Next card due: ") and en[3].startswith("What next: ")
    zh = summary_lines(sm, "zh")
    assert zh[0] == "恭喜！这一组内容现在已经全部学完。"
    assert zh[1] == "本轮复习 3 张（重来 1 张；新卡片 2 张），用时 1 分 50 秒。"
    assert zh[2].startswith("下一张到期：") and zh[3].startswith("接下来：")
    for line in zh:  # Chinese throughout: no English words but the command names
        words = re.findall(r"[A-Za-z]+", line.replace("studytool today", ""))
        assert not words, (line, words)
    app = summary_lines(sm, "zh", app=True)
    assert app[:3] == zh[:3] and "按 5 进入练习" in app[3] and "studytool" not in "".join(app)
    assert "5: Exercises" in summary_lines(sm, "en", app=True)[3]


def test_a_stopped_session_says_what_is_still_waiting(store):
    content = make_content(4)
    s = ReviewSession(store, content, clock=Clock(), limit=1)
    s.next()
    rate_current(s, 3)
    assert s.next() is None
    sm = s.summary()
    assert not sm.finished and sm.next_due == T0
    lines = summary_lines(sm, "en")
    assert lines[0] == "Session stopped."
    assert "Still waiting: 4 new · 1 learning · 0 review." in lines


# --------------------------------------------------------------------------- held items


def test_buried_and_suspended_items_are_listed_with_titles_and_restored(store):
    content = make_content(4)
    cfg = Config()
    items = sch.review_items(content)
    sch.bury(store, items[1].id, now=T0, config=cfg)
    sch.suspend(store, items[2].id, now=T0)
    sch.bury(store, items[3].id, now=T0, config=cfg)
    sch.suspend(store, items[3].id, now=T0)  # suspended and buried: listed as suspended
    assert sch.buried_items(store, T0) == [items[1].id]
    assert sch.suspended_items(store) == sorted([items[2].id, items[3].id])
    held = sch.held_items(store, content, T0)
    assert [(h.item_id, h.how) for h in held] == [
        (items[2].id, "suspended"),
        (items[3].id, "suspended"),
        (items[1].id, "buried"),
    ]
    assert held[2].title("en") == "front 1" and held[2].until > T0

    def queued() -> set[str]:
        q = sch.build_queue(store, content, now=T0, config=cfg)
        return {e[1] for g in q.new.groups.values() for e in g}

    assert items[1].id not in queued()
    sch.restore_held(store, held[2], now=T0)  # unbury
    assert items[1].id in queued() and sch.buried_items(store, T0) == []
    sch.unbury(store, items[3].id, now=T0)  # unbury keeps a suspension
    assert sch.suspended_items(store) == sorted([items[2].id, items[3].id])
    sch.restore_held(store, held[0], now=T0)
    assert sch.suspended_items(store) == [items[3].id]


# --------------------------------------------------------------------------- i18n


def test_shared_words_in_both_languages():
    assert [i18n.rating_name(r, "zh") for r in (1, 2, 3, 4)] == ["重来", "困难", "良好", "简单"]
    assert [i18n.rating_name(r, "en") for r in (1, 2, 3, 4)] == ["Again", "Hard", "Good", "Easy"]
    assert i18n.interval_label(timedelta(minutes=10), "zh") == "10分钟"
    assert i18n.interval_label(timedelta(days=4), "zh") == "4天"
    assert i18n.interval_label(timedelta(days=4)) == sch.interval_label(timedelta(days=4)) == "4d"
    assert i18n.duration_text(3725, "zh") == "1 小时 02 分"
    assert i18n.when_text(T0 + timedelta(days=1), T0, "zh").startswith("明天")
    review = [e for e in i18n.catalog.entries() if e.key.startswith("review.")]
    assert review
    for e in review:  # every status string has a Chinese twin
        en, zh = e.texts["en"], e.texts["zh"]
        assert zh and zh != en, e.key
        assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", zh)), e.key
