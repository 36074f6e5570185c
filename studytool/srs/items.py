"""The reviewable items: every flashcard and every question, keyed by its content id."""

from __future__ import annotations

from typing import Any, NamedTuple


class ReviewItem(NamedTuple):
    """A reviewable content item: a flashcard or a question (``obj``: the content object)."""

    id: str
    kind: str  # "card" | "question"
    type: str  # "basic" | "cloze" | "truefalse" | "question"
    topic: str
    order: float  # position among new items
    obj: Any

    def title(self, lang: str = "en", width: int = 48) -> str:
        """What the learner knows the item by (for status lines such as "undid …"): a question's
        number and title ("Q13 Why scale by √d_k?"); a card's prompt, first line, shortened to
        ``width`` characters."""
        return item_title(self.obj, self.kind, lang, width, fallback=self.id)


def item_title(obj: Any, kind: str, lang: str = "en", width: int = 48, *, fallback: str = "") -> str:
    lang = "zh" if lang == "zh" else "en"
    try:
        if kind == "question":
            text = f"Q{obj.number} {obj.title.get(lang)}"
        else:
            text = obj.prompt(lang)
    except (AttributeError, AssertionError, KeyError, TypeError):
        return fallback
    text = " ".join(text.split()) or fallback
    return text if len(text) <= width else text[: max(1, width - 1)].rstrip() + "…"


_ITEMS_CACHE: dict[str, tuple[Any, tuple[int, int], list[ReviewItem]]] = {}


def review_items(content: Any, topic: str | None = None) -> list[ReviewItem]:
    """Every card and question, in the order new ones are introduced: cards in deck order, each
    question right after the last card that links to it (so the cards prepare the question)."""
    cached = _ITEMS_CACHE.get("last")
    if (
        cached is not None
        and cached[0] is content
        and cached[1] == (len(content.cards), len(content.questions))
    ):
        items = cached[2]
    else:
        items = _review_items(content)
        _ITEMS_CACHE["last"] = (content, (len(content.cards), len(content.questions)), items)
    if topic is not None:
        return [it for it in items if it.topic == topic]
    return list(items)


def _review_items(content: Any) -> list[ReviewItem]:
    cards = list(content.cards)
    questions = list(content.questions)
    last_card: dict[str, int] = {}
    for i, c in enumerate(cards):
        for q in getattr(c, "questions", ()) or ():
            last_card[q] = i
    items = [ReviewItem(c.id, "card", c.type, c.topic, float(i), c) for i, c in enumerate(cards)]
    for j, q in enumerate(questions):
        order = last_card[q.id] + 0.5 if q.id in last_card else float(len(cards) + j)
        items.append(ReviewItem(q.id, "question", "question", q.topic, order, q))
    items.sort(key=lambda it: it.order)
    return items
