"""Reference matrices for the heatmaps, in pure Python (``math``): the TUI never imports torch.

Each function returns a list of rows (lists of floats, or of bools for the mask). ``None`` in a
matrix means "masked" (drawn dark). The conventions are the exercises' contracts (issue 4/5).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

Matrix = list[list[float | None]]


def sinusoidal_pe(seq_len: int, d_model: int, base: float = 10000.0) -> Matrix:
    """PE[p, 2i] = sin(p / base^(2i/d)), PE[p, 2i+1] = cos(p / base^(2i/d)) — interleaved."""
    rows = []
    for p in range(seq_len):
        row = []
        for j in range(d_model):
            i2 = j - (j % 2)
            angle = p / base ** (i2 / d_model)
            row.append(math.sin(angle) if j % 2 == 0 else math.cos(angle))
        rows.append(row)
    return rows


def causal_mask(seq_len: int) -> Matrix:
    """1.0 where query i may attend key j (j ≤ i), 0.0 elsewhere (torch SDPA's convention)."""
    return [[1.0 if j <= i else 0.0 for j in range(seq_len)] for i in range(seq_len)]


def rope_angles(seq_len: int, d_model: int, base: float = 10000.0) -> Matrix:
    """The rotation angle p·θ_i (mod 2π) of pair i at position p, θ_i = base^(-2i/d)."""
    half = d_model // 2
    return [[(p * base ** (-2 * i / d_model)) % (2 * math.pi) for i in range(half)] for p in range(seq_len)]


def alibi_slopes(n_heads: int) -> list[float]:
    """m_h = 2^(-8h/H), h = 1..H (Press et al.; for H a power of two)."""
    return [2 ** (-8 * h / n_heads) for h in range(1, n_heads + 1)]


def alibi_bias(seq_len: int, slope: float) -> Matrix:
    """bias[i, j] = -m·(i - j) for j ≤ i; future keys are masked (None)."""
    return [[-slope * (i - j) if j <= i else None for j in range(seq_len)] for i in range(seq_len)]


@dataclass(frozen=True)
class Panel:
    title: str
    matrix: Matrix
    vmin: float
    vmax: float
    cmap: str  # "diverging" | "sequential" | "binary" | "cyclic"


@dataclass(frozen=True)
class Figure:
    kind: str
    title: tuple[str, str]  # en, zh
    caption: tuple[str, str]
    panels: list[Panel] = field(default_factory=list)
    axes: tuple[str, str] = ("rows", "columns")


def _pe(seq_len: int = 32, d_model: int = 32) -> Figure:
    return Figure(
        "pe",
        ("Sinusoidal position encoding", "正弦位置编码"),
        (
            f"PE[p, 2i] = sin(p/10000^(2i/d)), PE[p, 2i+1] = cos(...); {seq_len} positions × "
            f"d={d_model}. Fast columns on the left, slow on the right.",
            f"PE[p, 2i] = sin(p/10000^(2i/d))，PE[p, 2i+1] = cos(...)；{seq_len} 个位置 × d={d_model}。"
            "左侧维度变化快，右侧变化慢。",
        ),
        [Panel("reference", sinusoidal_pe(seq_len, d_model), -1.0, 1.0, "diverging")],
        ("position p ↓", "dimension →"),
    )


def _mask(seq_len: int = 16) -> Figure:
    return Figure(
        "mask",
        ("Causal mask", "因果掩码"),
        (
            "True (bright) where query i may attend key j ≤ i; the upper triangle — the future — is hidden.",
            "亮色表示查询 i 可以关注键 j ≤ i；上三角（未来）被遮住。",
        ),
        [Panel("mask", causal_mask(seq_len), 0.0, 1.0, "binary")],
        ("query i ↓", "key j →"),
    )


def _rope(seq_len: int = 32, d_model: int = 64) -> Figure:
    return Figure(
        "rope",
        ("RoPE rotation angles", "RoPE 旋转角度"),
        (
            "Angle p·θ_i mod 2π of each 2-D pair i at position p, θ_i = 10000^(-2i/d). "
            "Early pairs spin fast, late pairs barely turn.",
            "位置 p 上第 i 对维度的旋转角 p·θ_i mod 2π，θ_i = 10000^(-2i/d)。前面的维度对转得快，后面的几乎不转。",
        ),
        [Panel("angle", rope_angles(seq_len, d_model), 0.0, 2 * math.pi, "cyclic")],
        ("position p ↓", "pair i →"),
    )


def _alibi(seq_len: int = 8, n_heads: int = 8) -> Figure:
    slopes = alibi_slopes(n_heads)
    lo = -slopes[0] * (seq_len - 1)
    return Figure(
        "alibi",
        ("ALiBi bias per head", "ALiBi 每个头的偏置"),
        (
            f"Heads 1–{n_heads}, left to right. bias = −m_h·(i − j), m_h = 2^(−8h/H): steep heads "
            "look local, gentle heads look far. No rotation, no embedding — a parallel alternative "
            "to RoPE.",
            f"从左到右为第 1–{n_heads} 个头。偏置 = −m_h·(i − j)，m_h = 2^(−8h/H)：陡的头关注近处，缓的头看得远。"
            "不旋转、不加嵌入——是 RoPE 的并列替代方案。",
        ),
        [Panel(f"m={m:.2g}", alibi_bias(seq_len, m), lo, 0.0, "sequential") for m in slopes],
        ("query i ↓", "key j →"),
    )


FIGURES: dict[str, Callable[[], Figure]] = {"pe": _pe, "mask": _mask, "rope": _rope, "alibi": _alibi}

# Which exercise each figure belongs to; questions and insights reach a figure through their links.
EXERCISE_FIGURE = {"sinusoidal_pe": "pe", "causal_mask": "mask", "rope": "rope", "alibi": "alibi"}


def figure(kind: str) -> Figure:
    return FIGURES[kind]()


def figures_for(content, item_id: str) -> list[str]:
    """The figure kinds linked to an exercise, question, card or insight (in a stable order):
    an exercise's own figure; a question's through its exercises; a card's or an insight's
    through the questions it links to."""
    item = content.item(item_id)
    if item is None:
        return []
    exercises: list[str] = []
    if hasattr(item, "entry"):  # an exercise
        exercises.append(item.id)
    elif hasattr(item, "key_points"):  # a question
        exercises.extend(item.exercises)
    else:  # a card or an insight
        for qid in getattr(item, "questions", ()) or ():
            q = content.item(qid)
            exercises.extend(getattr(q, "exercises", ()) or ())
    kinds = []
    for eid in exercises:
        k = EXERCISE_FIGURE.get(eid)
        if k and k not in kinds:
            kinds.append(k)
    return kinds


def learner_panel(result: dict | None, kind: str) -> Panel | None:
    """The learner's own matrix from a grading result's ``figures``, when the grader sent one."""
    if not result:
        return None
    figs = result.get("figures") or {}
    m = figs.get(kind) or figs.get("output")
    if m is None:  # the grader files figures under the test that produced them
        m = next((f[kind] for f in figs.values() if isinstance(f, dict) and kind in f), None)
    if not isinstance(m, list) or not m or not isinstance(m[0], list):
        return None
    try:
        matrix = [[None if v is None else float(v) for v in row] for row in m]
    except (TypeError, ValueError):
        return None
    ref = figure(kind).panels[0]
    return Panel("yours", matrix, ref.vmin, ref.vmax, ref.cmap)
