"""An exercise prompt (Markdown) as wrapped text blocks, so that its Chinese wraps like Chinese.

Textual's Markdown widget breaks lines only at spaces; the prompts are drawn here instead, through
the one line-breaking function (:mod:`studytool.textwrap_cjk`, via :class:`Wrapped`). What the
prompts use is supported: headings, paragraphs, bullet and numbered lists, code blocks, inline
code, bold, italics, block quotes, links (their text).
"""

from __future__ import annotations

import unicodedata

from markdown_it import MarkdownIt
from rich.text import Text as RichText

from studytool.tui.wrapping import Stack, Wrapped


def _wide(ch: str) -> bool:
    return bool(ch) and unicodedata.east_asian_width(ch) in ("W", "F")


def _inline(token, base: str = "") -> RichText:
    t = RichText(style=base)
    styles: list[str] = []
    for child in token.children or []:
        kind = child.type
        if kind == "text":
            t.append(child.content, style=" ".join(styles))
        elif kind == "code_inline":
            t.append(child.content, style="bold cyan")
        elif kind in ("softbreak", "hardbreak"):
            if kind == "hardbreak":
                t.append("\n")
            else:  # a source line break: a space in English, nothing between Chinese characters
                t.append("\x00")
        elif kind == "strong_open":
            styles.append("bold")
        elif kind == "em_open":
            styles.append("italic")
        elif kind == "link_open":
            styles.append("underline")
        elif kind in ("strong_close", "em_close", "link_close"):
            if styles:
                styles.pop()
        elif kind == "image":
            t.append(child.content or "")
        elif child.content:
            t.append(child.content, style=" ".join(styles))
    # resolve the soft breaks now that both neighbours are known
    plain = t.plain
    out = RichText(style=base)
    start = 0
    for k, ch in enumerate(plain):
        if ch == "\x00":
            out.append_text(t[start:k])
            before = plain[k - 1] if k else ""
            after = plain[k + 1] if k + 1 < len(plain) else ""
            out.append("" if _wide(before) or _wide(after) else " ")
            start = k + 1
    out.append_text(t[start:])
    return out


def markdown_blocks(md: str) -> Stack:
    tokens = MarkdownIt("commonmark").parse(md)
    blocks: list = []
    lists: list[list] = []  # [ordered, next number]
    quote = 0
    heading: str | None = None
    pending_item = False

    def gap() -> None:
        if blocks and not (isinstance(blocks[-1], RichText) and not blocks[-1].plain):
            blocks.append(RichText(""))

    for tok in tokens:
        kind = tok.type
        if kind == "heading_open":
            gap()
            heading = tok.tag
        elif kind == "heading_close":
            heading = None
            blocks.append(RichText(""))
        elif kind in ("bullet_list_open", "ordered_list_open"):
            if not lists:
                gap()
            start = int(tok.attrGet("start") or 1) if kind == "ordered_list_open" else 0
            lists.append([kind == "ordered_list_open", start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                blocks.append(RichText(""))
        elif kind == "list_item_open":
            pending_item = True
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "paragraph_open" and not lists:
            gap()
        elif kind == "inline":
            if heading is not None:
                style = "bold yellow" if heading == "h1" else "bold"
                blocks.append(Wrapped(_inline(tok, style)))
                continue
            text = _inline(tok)
            indent = 0
            prefix = ""
            if lists:
                depth = len(lists) - 1
                ordered, number = lists[-1]
                if pending_item:
                    marker = f"{number}. " if ordered else "• "
                    if ordered:
                        lists[-1][1] += 1
                    prefix = "  " * depth + marker
                    pending_item = False
                else:
                    prefix = "  " * depth + " " * 2
                indent = len(prefix)
            if quote:
                prefix = "▌ " * quote + prefix
                indent = len(prefix)
            if prefix:
                text = RichText(prefix, style="bold" if lists else "dim") + text
            blocks.append(Wrapped(text, indent=indent))
        elif kind in ("fence", "code_block"):
            gap()
            code = tok.content.rstrip("\n")
            for line in code.split("\n"):
                blocks.append(Wrapped(RichText("  " + line, style="cyan"), indent=4))
            blocks.append(RichText(""))
        elif kind == "hr":
            blocks.append(RichText("─" * 20, style="dim"))
    while blocks and isinstance(blocks[-1], RichText) and not blocks[-1].plain:
        blocks.pop()
    return Stack(blocks)
