"""The first two exercises through the real sandbox: known-wrong answers are rejected with a
message naming the fault, several correct answers pass, and (for every exercise found in
exercises/) the starter fails and the reference passes — rustlings' ``dev check``."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.sandbox


def _failing_messages(result: dict) -> str:
    return "\n".join(t["message"] for t in result["tests"] if t["status"] != "pass")


PE_HEAD = """
import math
import torch

def _check(seq_len, d_model):
    if seq_len <= 0 or d_model <= 0 or d_model % 2:
        raise ValueError("bad size")
"""

PE_WRONG = {
    "sin/cos swapped": (
        """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    _check(seq_len, d_model)
    p = torch.arange(seq_len, dtype=torch.float32)[:, None]
    i2 = torch.arange(0, d_model, 2, dtype=torch.float32)
    a = p / base ** (i2 / d_model)
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.cos(a)
    pe[:, 1::2] = torch.sin(a)
    return pe
""",
        "swapped",
    ),
    "i where 2i belongs": (
        """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    _check(seq_len, d_model)
    p = torch.arange(seq_len, dtype=torch.float32)[:, None]
    i = torch.arange(d_model // 2, dtype=torch.float32)
    a = p / base ** (i / d_model)
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.sin(a)
    pe[:, 1::2] = torch.cos(a)
    return pe
""",
        "i where 2i belongs",
    ),
    "positions from 1": (
        """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    _check(seq_len, d_model)
    p = torch.arange(1, seq_len + 1, dtype=torch.float32)[:, None]
    i2 = torch.arange(0, d_model, 2, dtype=torch.float32)
    a = p / base ** (i2 / d_model)
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.sin(a)
    pe[:, 1::2] = torch.cos(a)
    return pe
""",
        "counted from 1",
    ),
    "concatenated": (
        """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    _check(seq_len, d_model)
    p = torch.arange(seq_len, dtype=torch.float32)[:, None]
    i2 = torch.arange(0, d_model, 2, dtype=torch.float32)
    a = p / base ** (i2 / d_model)
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)
""",
        "concatenated",
    ),
    "base ignored": (
        """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    _check(seq_len, d_model)
    p = torch.arange(seq_len, dtype=torch.float32)[:, None]
    i2 = torch.arange(0, d_model, 2, dtype=torch.float32)
    a = p / 10000.0 ** (i2 / d_model)
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.sin(a)
    pe[:, 1::2] = torch.cos(a)
    return pe
""",
        "base argument is ignored",
    ),
    "no ValueError for odd d": (
        """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    p = torch.arange(seq_len, dtype=torch.float32)[:, None]
    j = torch.arange(d_model)
    a = p / base ** ((j - j % 2).float() / d_model)
    return torch.where(j % 2 == 0, torch.sin(a), torch.cos(a))
""",
        "no ValueError",
    ),
    "float64": (
        """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    _check(seq_len, d_model)
    p = torch.arange(seq_len, dtype=torch.float64)[:, None]
    i2 = torch.arange(0, d_model, 2, dtype=torch.float64)
    a = p / base ** (i2 / d_model)
    pe = torch.zeros(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(a)
    pe[:, 1::2] = torch.cos(a)
    return pe
""",
        "expected torch.float32, got torch.float64",
    ),
    "column index in the exponent": (
        """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    _check(seq_len, d_model)
    p = torch.arange(seq_len, dtype=torch.float32)[:, None]
    j = torch.arange(d_model, dtype=torch.float32)
    a = p / base ** (j / d_model)
    return torch.where(torch.arange(d_model) % 2 == 0, torch.sin(a), torch.cos(a))
""",
        "column index",
    ),
}

PE_RIGHT = {
    "vectorised, float64 then cast": """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    _check(seq_len, d_model)
    p = torch.arange(seq_len, dtype=torch.float64)[:, None]
    i2 = torch.arange(0, d_model, 2, dtype=torch.float64)
    a = p / base ** (i2 / d_model)
    return torch.stack([torch.sin(a), torch.cos(a)], dim=-1).reshape(seq_len, d_model).float()
""",
    "log-space frequencies, float32": """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    if d_model % 2 or d_model <= 0 or seq_len <= 0:
        raise ValueError("d_model must be positive and even, seq_len positive")
    freq = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(base) / d_model))
    a = torch.arange(seq_len).float().unsqueeze(1) * freq
    pe = torch.empty(seq_len, d_model)
    pe[:, 0::2] = a.sin()
    pe[:, 1::2] = a.cos()
    return pe
""",
    "plain loops": """
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    _check(seq_len, d_model)
    rows = []
    for p in range(seq_len):
        row = []
        for i in range(d_model // 2):
            angle = p / base ** (2 * i / d_model)
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float32)
""",
}

CM_HEAD = """
import math
import torch

def causal_mask(seq_len):
    return torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))
"""

CM_WRONG = {
    "mask transposed": (
        """
def causal_mask_(n):
    return torch.triu(torch.ones(n, n, dtype=torch.bool))
causal_mask = causal_mask_

def causal_attention(q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    s = s.masked_fill(~causal_mask(q.shape[-2]), float('-inf'))
    return s.softmax(-1) @ v
""",
        "transposed",
    ),
    "no 1/sqrt(D)": (
        """
def causal_attention(q, k, v):
    s = q @ k.transpose(-2, -1)
    s = s.masked_fill(~causal_mask(q.shape[-2]), float('-inf'))
    return s.softmax(-1) @ v
""",
        "no 1/√D scaling",
    ),
    "mask after softmax": (
        """
def causal_attention(q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    w = s.softmax(-1) * causal_mask(q.shape[-2])
    return w @ v
""",
        "after the softmax",
    ),
    "softmax over the wrong axis": (
        """
def causal_attention(q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    s = s.masked_fill(~causal_mask(q.shape[-2]), float('-inf'))
    return s.softmax(-2) @ v
""",
        "wrong axis",
    ),
    "forbidden call": (
        """
import torch.nn.functional as F

def causal_attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)
""",
        "your code ran aten::scaled_dot_product_attention (torch's fused attention)",
    ),
    "forbidden call hidden from the AST scan": (
        """
import torch.nn.functional as F

def causal_attention(q, k, v):
    return getattr(F, "scaled_dot_" + "product_attention")(q, k, v, is_causal=True)
""",
        "your code ran aten::scaled_dot_product_attention",
    ),
    "masked scores set to 0": (
        """
def causal_attention(q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    s = s * causal_mask(q.shape[-2])
    return s.softmax(-1) @ v
""",
        "instead of -inf",
    ),
    "no mask": (
        """
def causal_attention(q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return s.softmax(-1) @ v
""",
        "later position leaked",
    ),
    "inverted mask": (
        """
def causal_mask_(n):
    return ~torch.tril(torch.ones(n, n, dtype=torch.bool))
causal_mask = causal_mask_

def causal_attention(q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    s = s.masked_fill(causal_mask(q.shape[-2]), float('-inf'))
    return s.softmax(-1) @ v
""",
        "inverted",
    ),
    "in-place scaling of q": (
        """
def causal_attention(q, k, v):
    q /= math.sqrt(q.shape[-1])
    s = q @ k.transpose(-2, -1)
    s = s.masked_fill(~causal_mask(q.shape[-2]), float('-inf'))
    return s.softmax(-1) @ v
""",
        "in place",
    ),
}

CM_RIGHT = {
    "masked_fill + softmax": """
def causal_attention(q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    s = s.masked_fill(~causal_mask(q.shape[-2]), float('-inf'))
    return torch.softmax(s, dim=-1) @ v
""",
    "additive bias, einsum, manual stable softmax": """
def causal_attention(q, k, v):
    n, d = q.shape[-2], q.shape[-1]
    bias = torch.zeros(n, n).masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float('-inf'))
    s = torch.einsum('bhid,bhjd->bhij', q, k) * d ** -0.5 + bias
    s = s - s.amax(dim=-1, keepdim=True)
    e = s.exp()
    return torch.einsum('bhij,bhjd->bhid', e / e.sum(-1, keepdim=True), v)
""",
    "one query at a time": """
def causal_attention(q, k, v):
    outs = []
    for i in range(q.shape[-2]):
        s = (q[..., i:i + 1, :] @ k[..., : i + 1, :].transpose(-2, -1)) / math.sqrt(q.shape[-1])
        outs.append(torch.softmax(s, dim=-1) @ v[..., : i + 1, :])
    return torch.cat(outs, dim=-2)
""",
}


@pytest.mark.parametrize("name", list(PE_WRONG))
def test_sinusoidal_wrong_answer_named(grade, name):
    body, expected = PE_WRONG[name]
    r = grade("sinusoidal_pe", PE_HEAD + body)
    assert r["status"] != "pass"
    assert expected in _failing_messages(r), _failing_messages(r)


@pytest.mark.parametrize("name", list(PE_RIGHT))
def test_sinusoidal_correct_answers_pass(grade, name):
    r = grade("sinusoidal_pe", PE_HEAD + PE_RIGHT[name])
    assert r["status"] == "pass", _failing_messages(r)


@pytest.mark.parametrize("name", list(CM_WRONG))
def test_causal_wrong_answer_named(grade, name):
    body, expected = CM_WRONG[name]
    r = grade("causal_mask", CM_HEAD + body)
    assert r["status"] != "pass"
    assert expected in _failing_messages(r), _failing_messages(r)


@pytest.mark.parametrize("name", list(CM_RIGHT))
def test_causal_correct_answers_pass(grade, name):
    r = grade("causal_mask", CM_HEAD + CM_RIGHT[name])
    assert r["status"] == "pass", _failing_messages(r)


def test_causality_witness_names_first_leaking_pair(grade):
    r = grade("causal_mask", CM_HEAD + CM_WRONG["no mask"][0])
    msg = next(t["message"] for t in r["tests"] if t["name"].startswith("no output depends"))
    assert "first leaking (query, key) pair: (0, 1)" in msg


def test_value_mismatch_gives_index_and_error(grade):
    r = grade("sinusoidal_pe", PE_HEAD + PE_WRONG["positions from 1"][0])
    msg = _failing_messages(r)
    assert "values differ at index" in msg and "largest absolute error" in msg


# -- self-check over every exercise in exercises/ -----------------------------------------------


def _all_exercises() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "exercises").glob("*/exercise.yaml"))


@pytest.mark.parametrize("exercise", _all_exercises())
def test_dev_check_starter_fails_reference_passes(grade, exercise):
    starter = ROOT / "exercises" / exercise / "starter.py"
    reference = ROOT / "grader" / "references" / f"{exercise}.py"
    for piece in (
        starter,
        reference,
        ROOT / "grader" / "checks" / f"{exercise}.py",
        ROOT / "grader" / "probes" / f"{exercise}.py",
    ):
        assert piece.is_file(), f"{exercise}: missing {piece.relative_to(ROOT)}"
    r = grade(exercise, reference.read_text())
    assert r["status"] == "pass", f"reference of {exercise} fails:\n{_failing_messages(r)}"
    r = grade(exercise, starter.read_text())
    assert r["status"] != "pass", f"starter of {exercise} passes"
    assert r["passed"] < r["total"]
