"""The message catalogue: every word a learner reads, in English and Chinese, in one place.

Catalogue files are YAML under ``studytool/i18n/messages/``, one file per area (a *namespace*:
``review.yaml``, ``cli.yaml``, ``grader_alibi.yaml`` …). Each top-level key is one message with
both languages::

    rated:
      en: "{rating} → {interval}: {title}"
      zh: "{rating} → {interval}：{title}"

A message is addressed as ``"<namespace>.<key>"`` (``"review.rated"``); a key may contain further
dots for grouping (``"grader_alibi.test.slopes_other.name"``). Fields are ``str.format`` fields and
must be the same in both languages (checked by :func:`problems`, which ``studytool validate`` and
the tests run together with the content rules).

Code that decides *what* to say returns a :class:`Msg` (a key and its fields) or plain facts; the
interface renders it in the learner's language with :func:`render` / :func:`t`. A field may itself
be a :class:`Msg`, a ``{"en": …, "zh": …}`` mapping (content text), or a list of those (joined
with the language's separator).

Dependency-free apart from PyYAML (the grader's trusted side imports it too; see the import
contracts in pyproject.toml). Files are read lazily, one namespace at a time, and cached.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LANGS = ("en", "zh")
MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
LIST_SEP = {"en": ", ", "zh": "、"}

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CACHE: dict[str, dict[str, dict[str, str]]] = {}


class CatalogError(KeyError):
    """An unknown namespace or key, or a catalogue file that cannot be read."""


@dataclass(frozen=True)
class Msg:
    """A message to be rendered later, in whichever language the reader asks for."""

    key: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, **fields: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "fields", dict(fields))

    def render(self, lang: str) -> str:
        return render(self, lang)

    def both(self) -> dict[str, str]:
        """Rendered in every language: ``{"en": …, "zh": …}`` (what crosses a process boundary)."""
        return {lang: render(self, lang) for lang in LANGS}

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "fields": {k: _jsonable(v) for k, v in self.fields.items()}}


def _jsonable(v: Any) -> Any:
    if isinstance(v, Msg):
        return v.to_json()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def norm_lang(lang: str | None) -> str:
    return "zh" if lang == "zh" else "en"


def _split(key: str) -> tuple[str, str]:
    ns, dot, name = key.partition(".")
    if not dot or not ns or not name:
        raise CatalogError(f"message key {key!r} is not '<namespace>.<key>'")
    return ns, name


def namespace_file(ns: str) -> Path:
    return MESSAGES_DIR / f"{ns}.yaml"


def namespaces() -> list[str]:
    return sorted(p.stem for p in MESSAGES_DIR.glob("*.yaml"))


def _load(ns: str) -> dict[str, dict[str, str]]:
    cached = _CACHE.get(ns)
    if cached is not None:
        return cached
    path = namespace_file(ns)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_Loader) or {}
    except FileNotFoundError:
        raise CatalogError(f"no message catalogue '{ns}' ({path})") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: a catalogue is a mapping of keys to {{en, zh}}")
    _CACHE[ns] = data
    return data


def entry(key: str) -> dict[str, str]:
    ns, name = _split(key)
    found = _load(ns).get(name)
    if not isinstance(found, dict):
        raise CatalogError(f"unknown message '{key}' (not in {namespace_file(ns).name})")
    return found


def has(key: str) -> bool:
    try:
        entry(key)
    except CatalogError:
        return False
    return True


def _field(v: Any, lang: str) -> Any:
    if isinstance(v, Msg):
        return render(v, lang)
    if isinstance(v, Mapping) and "en" in v:
        return v.get(lang) or v.get("en")
    if hasattr(v, "get") and hasattr(v, "en") and hasattr(v, "zh"):  # content.Text
        return v.get(lang)
    if isinstance(v, (list, tuple)):
        return LIST_SEP[lang].join(str(_field(x, lang)) for x in v)
    return v


def t(key: str, lang: str | None, **fields: Any) -> str:
    """The message ``key`` in ``lang`` ("en" or "zh"; anything else is English), filled in."""
    lang = norm_lang(lang)
    text = entry(key).get(lang) or entry(key)["en"]
    if not fields:
        return text
    return text.format_map({k: _field(v, lang) for k, v in fields.items()})


def render(msg: Msg | str | Mapping[str, str], lang: str | None) -> str:
    """A :class:`Msg`, a ``{"en", "zh"}`` mapping or a plain string (code, numbers) in ``lang``."""
    lang = norm_lang(lang)
    if isinstance(msg, Msg):
        return t(msg.key, lang, **msg.fields)
    if isinstance(msg, Mapping):
        return str(msg.get(lang) or msg.get("en") or "")
    return str(msg)


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Entry:
    """One message of a catalogue file, with the line it starts on (for ``file:line`` problems)."""

    file: Path
    line: int
    key: str  # "<namespace>.<key>"
    texts: dict[str, str]


def entries(directory: Path | None = None) -> Iterator[Entry]:
    """Every message of every catalogue file, with line numbers (slower than :func:`t`: it keeps
    the YAML nodes; for checking, not for rendering)."""
    for path in sorted((directory or MESSAGES_DIR).glob("*.yaml")):
        try:
            root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            continue  # problems() reports it
        if not isinstance(root, yaml.MappingNode):
            continue
        for knode, vnode in root.value:
            texts: dict[str, str] = {}
            if isinstance(vnode, yaml.MappingNode):
                for lk, lv in vnode.value:
                    if isinstance(lv, yaml.ScalarNode):
                        texts[str(lk.value)] = str(lv.value)
            yield Entry(path, knode.start_mark.line + 1, f"{path.stem}.{knode.value}", texts)


_FORMATTER = string.Formatter()


def fields_of(text: str) -> set[str]:
    """The ``str.format`` field names of a template ("{n}", "{x:.2f}" → {"n", "x"})."""
    out: set[str] = set()
    for _lit, name, _spec, _conv in _FORMATTER.parse(text):
        if name is not None and name != "":
            out.add(re.split(r"[.\[]", name, maxsplit=1)[0])
    return out


def problems(directory: Path | None = None) -> list[tuple[Path, int, str]]:
    """Structural problems of the catalogue: not a mapping, a message without both languages, an
    empty text, different fields in English and Chinese, a template that does not parse, a key
    given twice in one file. (The language rules — glossary, punctuation, no English prose in
    Chinese — run over :func:`entries` with the content rules.)"""
    out: list[tuple[Path, int, str]] = []
    for path in sorted((directory or MESSAGES_DIR).glob("*.yaml")):
        try:
            root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            out.append((path, (mark.line + 1) if mark else 1, f"not valid YAML: {exc}"))
            continue
        if root is None:
            continue
        if not isinstance(root, yaml.MappingNode):
            out.append((path, root.start_mark.line + 1, "a catalogue is a mapping of keys to {en, zh}"))
            continue
        seen: dict[str, int] = {}
        for knode, vnode in root.value:
            line = knode.start_mark.line + 1
            key = str(knode.value)
            if key in seen:
                out.append((path, line, f"duplicate key '{key}' (first on line {seen[key]})"))
            seen.setdefault(key, line)
            if not isinstance(vnode, yaml.MappingNode):
                out.append((path, line, f"'{key}': a message is a mapping with 'en' and 'zh'"))
                continue
            texts = {str(lk.value): lv.value for lk, lv in vnode.value if isinstance(lv, yaml.ScalarNode)}
            for lang in LANGS:
                if not str(texts.get(lang, "")).strip():
                    out.append((path, line, f"'{key}': no {lang} text"))
            extra = sorted(set(texts) - set(LANGS))
            if extra:
                out.append((path, line, f"'{key}': unknown language(s) {', '.join(extra)}"))
            try:
                f_en, f_zh = fields_of(str(texts.get("en", ""))), fields_of(str(texts.get("zh", "")))
            except ValueError as exc:
                out.append((path, line, f"'{key}': the template does not parse ({exc})"))
                continue
            if f_en != f_zh:
                out.append(
                    (
                        path,
                        line,
                        f"'{key}': fields differ between en {sorted(f_en)} and zh {sorted(f_zh)}",
                    )
                )
    return out


def missing_keys(keys: Sequence[str]) -> list[str]:
    """The keys of ``keys`` that no catalogue defines (for tests of code that names keys)."""
    return [k for k in keys if not has(k)]
