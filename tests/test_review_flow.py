"""The review session's flow: the Again card waits, counts and states, three counts with one
definition (the card on screen included, as Anki counts), the end of a session (the day's totals),
suspended and buried items (what a restore will actually do), the shared en/zh words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from studytool import i18n
from studytool import srs as sch
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


def test_burying_a_new_card_frees_its_place_among_todays_new_cards(store):
    """As in Anki, the daily limit counts new cards introduced (rated), not shown: a new card
    buried or suspended gives its place to the next one, and every build of the queue agrees."""
    content = make_content(12)  # 13 items, all new
    cfg = Config(new_per_day=5)
    s = ReviewSession(store, content, config=cfg, clock=Clock())
    before = s.next().counts
    assert before.new == 5
    s.bury()
    assert s.next().counts.new == 5  # the limit binds: the next new card takes the place
    s.suspend()
    assert s.next().counts.new == 5
    rebuilt = ReviewSession(store, content, config=cfg, clock=Clock())  # cram off, a restore …
    assert rebuilt.counts().new == 5
    rate_current(s, 3)
    assert s.counts().new == 4 == ReviewSession(store, content, config=cfg, clock=Clock()).counts().new


def test_burying_takes_one_off_the_remaining_count_when_the_limit_does_not_bind(store):
    content = make_content(12)  # 13 items
    s = ReviewSession(store, content, config=Config(new_per_day=50), clock=Clock())
    before = s.next().remaining
    s.bury()
    assert s.next().remaining == before - 1
    s.suspend()
    assert s.next().remaining == before - 2


def test_the_counts_include_the_card_on_screen_as_anki_counts_it(store):
    content = make_content(3)  # 4 new items
    s = ReviewSession(store, content, config=Config(new_per_day=20), clock=Clock())
    assert s.counts().new == 4
    cur = s.next()
    assert cur.counts.new == 4 and cur.counting == "new" and cur.remaining == 3
    assert s.counts().new == 4  # asked while it is on screen: still counted
    rate_current(s, 3)  # into its 10-minute step: a learning card, waiting
    assert s.counts() == sch.Counts(3, 1, 0)


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
    # while an item is on screen the counts include it (Anki's); remaining is what is left after it
    cur = session.next()
    assert cur.counts == counts and cur.remaining == counts.total - 1


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
    assert (sm.reviewed, sm.again, sm.seconds, sm.finished, sm.ended) == (3, 1, 110.0, True, "finished")
    assert sm.next_due is not None and sm.next_due > clock()
    en = summary_lines(sm, "en")
    assert en[0] == "Congratulations! You have finished this deck for now."
    assert en[1] == "Today: 3 reviews of 2 cards (again 1, new 2) in 50 s."
    assert en[2].startswith("Next card due: ") and en[3].startswith("What next: ")
    zh = summary_lines(sm, "zh")
    assert zh[0] == "恭喜！这一组内容现在已经全部学完。"
    assert zh[1] == "今天：复习 3 次，共 2 张卡片（重来 1 次，新卡片 2 张），用时 50 秒。"
    assert zh[2].startswith("下一张到期：") and zh[3].startswith("接下来：")
    for line in zh:  # Chinese throughout: no English words but the command names
        words = re.findall(r"[A-Za-z]+", line.replace("studytool today", ""))
        assert not words, (line, words)
    app = summary_lines(sm, "zh", app=True)
    assert app[:3] == zh[:3] and "按 5 进入练习" in app[3] and "studytool" not in "".join(app)
    assert "5: Exercises" in summary_lines(sm, "en", app=True)[3]


def test_the_end_of_a_session_gives_the_days_totals_not_the_sessions(store):
    """Anki's end screen states the day: sessions ended by a cram toggle, a restore or a new
    session all count (the walkthrough: "Reviewed 17" after about 45 ratings)."""
    content = make_content(6)
    clock = Clock()
    first = ReviewSession(store, content, clock=clock)
    for rating in (3, 1, 3, 4):
        first.next()
        clock.advance(seconds=5)
        rate_current(first, rating)
    ReviewSession(store, content, cram=True, clock=clock)  # cram on and off: a new session
    second = ReviewSession(store, content, clock=clock)
    for _ in range(2):
        second.next()
        clock.advance(seconds=5)
        rate_current(second, 3)
    sm = second.summary()
    assert (sm.day.reviews, sm.day.again, sm.day.new, sm.day.cards) == (6, 1, 6, 6)
    lines = summary_lines(sm, "en")
    assert "Today: 6 reviews of 6 cards (again 1, new 6) in 30 s." in lines
    assert "This session: 2 reviews (again 0)." in lines


def test_a_session_stopped_by_its_limit_says_what_is_still_waiting(store):
    content = make_content(4)
    s = ReviewSession(store, content, clock=Clock(), limit=1)
    s.next()
    rate_current(s, 3)
    assert s.next() is None
    sm = s.summary()
    assert not sm.finished and sm.ended == "limit" and sm.next_due == T0
    lines = summary_lines(sm, "en")
    assert lines[0] == "Stopped after 1 review, as --limit asked."
    assert "Still waiting: 4 new · 1 learning · 0 review." in lines


def test_session_stopped_is_said_only_after_something_was_stopped(store, tmp_path):
    content = Content(cards=make_content(1).cards)
    clock = Clock()
    s = ReviewSession(store, content, clock=clock)
    s.next()
    rate_current(s, 3)  # into the 10-minute step
    clock.advance(minutes=30)  # the step is past its learn-ahead window: nothing now
    with Store(tmp_path / "fresh.sqlite3") as fresh:
        nothing = ReviewSession(fresh, Content(), clock=clock)
        assert nothing.next() is None
        assert summary_lines(nothing.summary(), "en")[0] == "Nothing is due right now."
    # the open session: its learning step came due while the learner was away — not "stopped"
    sm = s.summary()
    assert sm.ended == "waiting"
    assert summary_lines(sm, "en")[0] == "More cards are due now."
    assert "Session stopped." not in summary_lines(sm, "en")
    s.stop()
    assert summary_lines(s.summary(), "en")[0] == "Session stopped."


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


def test_a_restored_card_is_told_when_it_will_actually_come(store):
    """The walkthrough's bug: a buried new card restored after the day's new cards were used up
    was announced as back "today" and never came. Say what will happen."""
    content = make_content(4)  # 5 new items
    cfg = Config(new_per_day=2)
    clock = Clock()
    s = ReviewSession(store, content, config=cfg, clock=clock)
    buried = s.next().item
    s.bury()
    for _ in range(2):  # the two places of the day go to the next two new cards
        s.next()
        rate_current(s, 3)
    held = sch.held_items(store, content, clock())
    (h,) = [h for h in held if h.item_id == buried.id]
    restored = sch.restore_held(store, h, now=clock(), config=cfg)
    assert restored.comes == "tomorrow" and restored.new_limit == 2
    assert restored.at == sch.day_start(clock(), cfg) + timedelta(days=1)
    line = i18n.render(restored.msg("front 0", clock()), "en")
    assert line.startswith("Back in review: front 0 comes tomorrow ") and "2 new cards are used up" in line
    zh = i18n.render(restored.msg("front 0", clock()), "zh")
    assert "今天的 2 张新卡片已经用完" in zh and "明天" in zh
    # and it does not come today: the new count says 0, before and after a rebuild
    again = ReviewSession(store, content, config=cfg, clock=clock)
    assert again.counts().new == 0
    # with a free place, it comes today; a reviewed card due now, now; one not due, at its date
    sch.bury(store, buried.id, now=clock(), config=cfg)
    roomy = Config(new_per_day=20)
    (h,) = [h for h in sch.held_items(store, content, clock()) if h.item_id == buried.id]
    assert sch.restore_held(store, h, now=clock(), config=roomy).comes == "today"
    reviewed = sch.review_items(content)[1]
    sch.rate(store, reviewed, 4, now=clock() - timedelta(days=40), config=cfg)
    sch.suspend(store, reviewed.id, now=clock())
    (h,) = [h for h in sch.held_items(store, content, clock()) if h.item_id == reviewed.id]
    assert sch.restore_held(store, h, now=clock(), config=cfg).comes == "now"
    sch.rate(store, reviewed, 4, now=clock(), config=cfg)
    sch.suspend(store, reviewed.id, now=clock())
    (h,) = [h for h in sch.held_items(store, content, clock()) if h.item_id == reviewed.id]
    later = sch.restore_held(store, h, now=clock(), config=cfg)
    assert later.comes == "later" and later.at > clock() + timedelta(days=1)


# --------------------------------------------------------------------------- i18n


def test_shared_words_in_both_languages():
    assert [i18n.rating_name(r, "zh") for r in (1, 2, 3, 4)] == ["重来", "困难", "良好", "简单"]
    assert [i18n.rating_name(r, "en") for r in (1, 2, 3, 4)] == ["Again", "Hard", "Good", "Easy"]
    assert [i18n.count_name(k, "zh") for k in ("new", "learning", "review")] == ["新卡片", "学习中", "复习"]
    assert i18n.interval_label(timedelta(minutes=10), "zh") == "10分钟"
    assert i18n.interval_label(timedelta(days=4), "zh") == "4天"
    assert i18n.interval_label(timedelta(days=4)) == "4d"
    assert i18n.duration_text(3725, "zh") == "1 小时 02 分"
    assert i18n.when_text(T0 + timedelta(days=1), T0, "zh").startswith("明天")
    from studytool.i18n import catalog

    review = [e for e in catalog.entries() if e.key.startswith("review.")]
    assert len(review) > 100
    for e in review:  # every status string has a Chinese twin with the same fields
        assert e.texts["zh"] and (e.texts["zh"] != e.texts["en"] or e.key.startswith("review.go.cli")), e.key
        assert catalog.fields_of(e.texts["en"]) == catalog.fields_of(e.texts["zh"]), e.key
