"""The end of a review session, as facts and as catalogue messages: what was done today (the whole
day, from the log — Anki's end screen), what this session did when that differs, when the next
card is due, and what to do next. :class:`studytool.review.ReviewSession` fills the facts;
:func:`summary_msgs` words them; the CLI and the app render them in the learner's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from studytool.i18n import Msg, plural, render
from studytool.srs.queue import Counts
from studytool.stats import DayTotals
from studytool.store import utcnow


@dataclass
class Summary:
    """Facts about a session and the study day (:func:`summary_msgs` words them)."""

    rated: int = 0
    by_rating: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0, 3: 0, 4: 0})
    new: int = 0
    undone: int = 0
    suspended: int = 0
    buried: int = 0
    not_applied: int = 0  # ratings not applied: reviewed elsewhere since shown
    cram: bool = False
    seconds: float = 0.0
    next_due: datetime | None = None  # when something is next due (a learning step, tomorrow…)
    finished: bool = False  # nothing left to show now (not stopped by --limit or by quitting)
    # "finished" (nothing left), "limit" (--limit reached), "stopped" (the learner stopped), or
    # "waiting" (the session is open and items are waiting, e.g. a learning step came due)
    ended: str = "waiting"
    limit: int | None = None
    counts: Counts = Counts(0, 0, 0)  # still waiting now, the item on screen included
    now: datetime | None = None  # when the summary was taken
    day: DayTotals | None = None  # the whole study day so far, from the log (None in cram mode)

    @property
    def reviewed(self) -> int:
        return self.rated

    @property
    def again(self) -> int:
        return self.by_rating[1]


# where to go next, as the CLI and as the app (its section keys) name it
_GO: dict[str, dict[str, str | Msg]] = {
    "cli": {  # commands are code: the same in both languages, never words of the catalogue
        "review": "studytool review --plain",
        "exercise": "studytool today",
        "unsuspend": Msg("review.go.cli.unsuspend", command="studytool unsuspend"),
    },
    "app": {
        "review": Msg("review.go.app.review"),
        "exercise": Msg("review.go.app.exercise"),
        "unsuspend": Msg("review.go.app.unsuspend"),
    },
}


def _duration(seconds: float) -> dict[str, str]:
    from studytool.i18n import duration_text

    return {lang: duration_text(seconds, lang) for lang in ("en", "zh")}


def _when(dt: datetime, now: datetime) -> dict[str, str]:
    from studytool.i18n import when_text

    return {lang: when_text(dt, now, lang) for lang in ("en", "zh")}


def summary_msgs(summary: Summary, now: datetime | None = None, *, app: bool = False) -> list[Msg]:
    """The learner-facing end of a session, as in Anki: what was done today (reviews, cards, time
    spent — the whole day, from the log), what this session did when that differs, when the next
    card is due, and what to do next. ``app`` names the app's keys instead of CLI commands."""
    now = now or summary.now or utcnow()
    s = summary
    go = _GO["app" if app else "cli"]
    out: list[Msg] = []
    day = s.day
    if s.ended == "finished":
        if s.cram:
            out.append(Msg("review.end.cram_finished"))
        elif s.rated or s.suspended or s.buried or (day is not None and day.reviews):
            out.append(Msg("review.end.congrats"))
        else:
            out.append(Msg("review.nothing_due"))
    elif s.ended == "limit":
        out.append(Msg("review.end.limit", reviews=plural("review.n_reviews", s.rated)))
    elif s.ended == "stopped":
        out.append(Msg("review.end.stopped"))
    else:
        out.append(Msg("review.end.waiting"))
    if s.cram:
        out.append(
            Msg(
                "review.end.cram_session",
                reviews=plural("review.n_reviews", s.rated),
                again=s.again,
                took=_duration(s.seconds),
            )
        )
    else:
        if day is not None and day.reviews:
            out.append(
                Msg(
                    "review.end.today",
                    reviews=plural("review.n_reviews", day.reviews),
                    cards=plural("review.n_cards", day.cards),
                    again=day.again,
                    new=day.new,
                    took=_duration(day.seconds),
                )
            )
        extra: list[Msg] = []
        if s.suspended:
            extra.append(Msg("review.end.n_suspended", n=s.suspended))
        if s.buried:
            extra.append(Msg("review.end.n_buried", n=s.buried))
        if s.undone:
            extra.append(Msg("review.end.n_undone", n=s.undone))
        if s.not_applied:
            extra.append(Msg("review.end.n_not_applied", n=s.not_applied))
        if extra or (day is not None and s.rated != day.reviews and s.rated):
            out.append(
                Msg(
                    "review.end.session",
                    reviews=plural("review.n_reviews", s.rated),
                    again=s.again,
                    extra=extra if extra else "",
                )
                if extra
                else Msg(
                    "review.end.session_plain", reviews=plural("review.n_reviews", s.rated), again=s.again
                )
            )
    if s.ended != "finished":
        c = s.counts
        if c.total:
            out.append(Msg("review.end.still_waiting", counts=Msg("review.counts", **c.to_json())))
        out.append(Msg("review.end.next_carry_on", go=go["review"]))
    elif s.cram:
        out.append(Msg("review.end.next_cram", go=go["review"]))
    elif s.next_due is not None:
        out.append(Msg("review.end.next_due", when=_when(s.next_due, now)))
        key = "review.end.next_soon" if s.next_due - now <= timedelta(hours=2) else "review.end.next_later"
        out.append(Msg(key, go=go["exercise"]))
    else:
        out.append(Msg("review.end.next_all_suspended", go=go["unsuspend"]))
    return out


def summary_lines(
    summary: Summary, lang: str = "en", now: datetime | None = None, *, app: bool = False
) -> list[str]:
    """:func:`summary_msgs` rendered in ``lang``."""
    return [render(m, lang) for m in summary_msgs(summary, now, app=app)]
