"""YAML with line numbers, and the readers of one mapping's fields: every problem becomes a
:class:`~studytool.content_model.Problem` with its ``file:line`` (never an exception). Used by the
loader (:mod:`studytool.content`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from studytool.content_model import LANGS, ChecklistItem, ExerciseMeta, Insight, Problem, Question, Text
from studytool.i18n.catalog import Msg, render

# --------------------------------------------------------------------------- YAML with lines


class LMap(dict):
    """A YAML mapping that remembers the line of itself and of each key (1-based)."""

    line: int
    key_lines: dict[str, int]


class LList(list):
    line: int
    item_lines: list[int]


_scalar_constructor = SafeConstructor()
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


MAX_YAML_VALUES = 200_000  # aliases may not expand a file beyond this many values


class _TooLarge(Exception):
    pass


def _convert(node: yaml.Node, ctx: _Ctx) -> Any:
    ctx.values += 1
    if ctx.values > MAX_YAML_VALUES:
        raise _TooLarge
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in ctx.open_nodes:  # an alias inside the collection it names
            ctx.add(node.start_mark.line + 1, Msg("content_load.alias_cycle"))
            return None
        ctx.open_nodes.add(id(node))
        try:
            return _convert_collection(node, ctx)
        finally:
            ctx.open_nodes.discard(id(node))
    try:
        return _scalar_constructor.construct_object(node, deep=True)
    except ConstructorError as exc:
        ctx.add(node.start_mark.line + 1, Msg("content_load.invalid_value", problem=exc.problem))
        return None


def _convert_collection(node: yaml.Node, ctx: _Ctx) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = LMap()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, ctx)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                ctx.add(line, Msg("content_load.key_not_string", got=repr(key)))
                continue
            if key in out:
                ctx.add(line, Msg("content_load.duplicate_key", name=key, first=out.key_lines[key]))
                continue
            out[key] = _convert(value_node, ctx)
            out.key_lines[key] = value_node.start_mark.line + 1
        return out
    seq = LList(_convert(n, ctx) for n in node.value)
    seq.line = node.start_mark.line + 1
    seq.item_lines = [n.start_mark.line + 1 for n in node.value]
    return seq


@dataclass
class _Ctx:
    """Where problems go while one file is read."""

    file: str
    problems: list[Problem]
    severity: str = "error"
    values: int = 0  # values converted so far (aliases count each time they are expanded)
    open_nodes: set[int] = field(default_factory=set)  # collections being converted (cycles)

    def add(self, line: int, message: str | Msg) -> None:
        """One problem at ``line``: a catalogue message (or, from older readers, English text)."""
        if isinstance(message, Msg):
            self.problems.append(Problem(self.file, line, render(message, "en"), self.severity, msg=message))
        else:
            self.problems.append(Problem(self.file, line, message, self.severity))


def _parse(path: Path, ctx: _Ctx) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        ctx.add(1, Msg("content_load.not_utf8", reason=exc.reason))
        return None
    except OSError as exc:
        ctx.add(1, Msg("content_load.cannot_read", reason=exc.strerror))
        return None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        ctx.add(line, Msg("content_load.yaml_syntax", problem=exc.problem or exc.context))
        return None
    except yaml.YAMLError as exc:
        ctx.add(1, Msg("content_load.yaml_error", problem=str(exc)))
        return None
    except RecursionError:
        ctx.add(1, Msg("content_load.too_deep"))
        return None
    if node is None:
        ctx.add(1, Msg("content_load.empty_file"))
        return None
    try:
        return _convert(node, ctx)
    except _TooLarge:
        ctx.add(1, Msg("content_load.too_large", n=MAX_YAML_VALUES))
    except RecursionError:
        ctx.add(1, Msg("content_load.too_deep"))
    return None


# --------------------------------------------------------------------------- field readers


_TYPE_NAMES = {str: "str", int: "int", bool: "bool", list: "list", dict: "dict"}  # content_load.type.*


class _Fields:
    """Reads the fields of one YAML mapping, recording problems with their lines."""

    def __init__(self, m: LMap, ctx: _Ctx, what: str | Msg, allowed: Iterable[str]) -> None:
        # what: the item, as a message ("card x" / "卡片 x"); ``self.what`` is its English text
        self.m, self.ctx = m, ctx
        self.what_msg: str | Msg = what
        self.what = render(what, "en") if isinstance(what, Msg) else what
        self.ok = True
        for key in m:
            if key not in allowed:
                self.problem(key, Msg("content_load.unknown_field", what=what, name=key))

    def line(self, key: str | None = None) -> int:
        if key is not None and key in self.m.key_lines:
            return self.m.key_lines[key]
        return self.m.line

    def problem(self, key: str | None, message: str | Msg) -> None:
        self.ok = False
        self.ctx.add(self.line(key), message)

    def _get(self, key: str, kind: type, required: bool) -> Any:
        if key not in self.m or self.m[key] is None:
            if required:
                self.problem(None, Msg("content_load.missing_field", what=self.what_msg, name=key))
            return None
        value = self.m[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            self.problem(
                key,
                Msg(
                    "content_load.wrong_type",
                    what=self.what_msg,
                    name=key,
                    kind=Msg(f"content_load.type.{_TYPE_NAMES[kind]}"),
                    got=f"{type(value).__name__} {value!r:.40}",
                ),
            )
            return None
        return value

    def get_str(self, key: str, required: bool = True) -> str | None:
        value = self._get(key, str, required)
        if value is not None and not value.strip():
            self.problem(key, Msg("content_load.empty_field", what=self.what_msg, name=key))
            return None
        return value

    def get_int(self, key: str, required: bool = True) -> int | None:
        return self._get(key, int, required)

    def get_bool(self, key: str, required: bool = True) -> bool | None:
        return self._get(key, bool, required)

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        value = self.get_str(key)
        if value is not None and value not in choices:
            self.problem(
                key,
                Msg(
                    "content_load.not_one_of",
                    what=self.what_msg,
                    name=key,
                    value=value,
                    choices=", ".join(choices),
                ),
            )
            return None
        return value

    def text(self, key: str, required: bool = True) -> Text | None:
        value = self._get(key, dict, required)
        if value is None:
            return None
        return self._text_value(value, f"'{key}'", self.line(key))

    def _text_value(self, value: Any, label: str, line: int) -> Text | None:
        if not isinstance(value, dict):
            self.ok = False
            self.ctx.add(line, Msg("content_load.text_not_mapping", what=self.what_msg, label=label))
            return None
        good = True
        for lang in LANGS:
            v = value.get(lang)
            vline = value.key_lines.get(lang, value.line) if isinstance(value, LMap) else line
            if v is None:
                self.ok = good = False
                self.ctx.add(
                    vline,
                    Msg("content_load.text_missing_language", what=self.what_msg, label=label, language=lang),
                )
            elif not isinstance(v, str) or not v.strip():
                self.ok = good = False
                self.ctx.add(
                    vline, Msg("content_load.text_empty", what=self.what_msg, label=label, language=lang)
                )
        for extra in value:
            if extra not in LANGS:
                self.ok = good = False
                self.ctx.add(
                    value.key_lines.get(extra, line) if isinstance(value, LMap) else line,
                    Msg(
                        "content_load.text_unknown_language", what=self.what_msg, label=label, language=extra
                    ),
                )
        return Text(value["en"].strip(), value["zh"].strip()) if good else None

    def texts(self, key: str, required: bool = True) -> tuple[Text, ...]:
        value = self._get(key, list, required)
        if value is None:
            return ()
        out = []
        for i, item in enumerate(value):
            t = self._text_value(item, f"'{key}'[{i + 1}]", value.item_lines[i])
            if t is not None:
                out.append(t)
        return tuple(out)

    def ids(self, key: str) -> tuple[str, ...]:
        value = self._get(key, list, False)
        if value is None:
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.ok = False
                self.ctx.add(
                    value.item_lines[i],
                    Msg("content_load.ids_not_strings", what=self.what_msg, name=key, got=repr(item)),
                )
            else:
                out.append(item)
        return tuple(out)

    def links(self, key: str, links: list[_Link]) -> tuple[str, ...]:
        ids = self.ids(key)
        value = self.m.get(key)
        for i, target in enumerate(ids):
            line = value.item_lines[i] if isinstance(value, LList) else self.line(key)
            links.append(_Link(self.ctx, line, self.what_msg, key, target))
        return ids


@dataclass
class _Link:
    """A link to check once everything is loaded."""

    ctx: _Ctx
    line: int
    what: str | Msg
    field: str
    target: str


_LINK_KINDS = {
    "questions": Question,
    "insights": Insight,
    "exercises": ExerciseMeta,
    "checklist": ChecklistItem,
}


def _items(data: Any, key: str, ctx: _Ctx) -> list[LMap]:
    if data is None:
        return []
    if not isinstance(data, LMap):
        ctx.add(getattr(data, "line", 1), Msg("content_load.top_not_mapping", name=key))
        return []
    if key not in data:
        ctx.add(data.line, Msg("content_load.missing_top_list", name=key))
        return []
    items = data[key]
    if not isinstance(items, LList):
        ctx.add(data.key_lines[key], Msg("content_load.not_a_list", name=key))
        return []
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, LMap):
            ctx.add(items.item_lines[i], Msg("content_load.item_not_mapping", name=key, i=i + 1))
        else:
            out.append(item)
    return out


_T = TypeVar("_T")


def _req(value: _T | None) -> _T:
    """A field the reader found valid (``f.ok``): present."""
    assert value is not None
    return value


class _Ids:
    """Unique ids across every kind of item (they share the progress store's key space)."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def claim(self, f: _Fields, item_id: str | None) -> bool:
        if item_id is None:
            return False
        where = f"{f.ctx.file}:{f.line('id')}"
        if item_id in self.seen:
            f.problem("id", Msg("content_load.duplicate_id", id=item_id, first=self.seen[item_id]))
            return False
        self.seen[item_id] = where
        return True
