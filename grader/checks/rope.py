"""Trusted side of the rope checks."""

from __future__ import annotations

import torch
from studytool.grader.compare import close
from studytool.grader.references.rope import apply_rope as reference
from studytool.grader.spec import Outcome, ProbeResult, TestCase


def _witness(message: str, label: str) -> str:
    """The comparison's witness without the label already said at the start of the message."""
    return message[len(label) + 2 :] if message.startswith(label + ": ") else message


def _error(res: ProbeResult) -> Outcome | None:
    return None if res.ok else Outcome.errored(res.error.describe())


def _angles(n_or_pos, d, base, exponent):
    pos = n_or_pos if isinstance(n_or_pos, torch.Tensor) else torch.arange(n_or_pos)
    inv = base ** (-exponent(torch.arange(0, d, 2, dtype=torch.float64)) / d)
    return pos.double()[:, None] * inv[None, :]


def _interleaved(x, ang):
    cos, sin = ang.cos(), ang.sin()
    out = torch.empty_like(x, dtype=torch.float64)
    xe, xo = x.double()[..., 0::2], x.double()[..., 1::2]
    out[..., 0::2] = xe * cos - xo * sin
    out[..., 1::2] = xe * sin + xo * cos
    return out


def _half_split(x, ang):
    x = x.double()
    half = x.shape[-1] // 2
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rot * sin


def _mistakes(x, positions, base):
    n, d = x.shape[-2], x.shape[-1]
    pos = positions if positions is not None else torch.arange(n)
    two_i = lambda i: i  # noqa: E731 - arange(0, d, 2) already holds 2i
    out = {
        "the pairs are (x[i], x[i + D/2]) — the half-split 'rotate_half' layout of GPT-NeoX / "
        "Hugging Face LLaMA: the same rotations on another pairing of the dimensions, equally "
        "valid for a model trained with it (scores still depend only on m − n), but this "
        "exercise uses RoFormer's interleaved pairs (x[2i], x[2i+1])": _half_split(
            x, _angles(pos, d, base, two_i)
        ),
        "the rotation goes the other way (by −p·θ_i): still a relative encoding — the score "
        "becomes qᵀR(m − n)k instead of qᵀR(n − m)k — but RoFormer rotates by +p·θ_i: "
        "out[2i] = x[2i]·cos − x[2i+1]·sin, out[2i+1] = x[2i]·sin + x[2i+1]·cos": _interleaved(
            x, -_angles(pos, d, base, two_i)
        ),
        "the frequencies use i where 2i belongs: θ_i = base^(−2i/D), i = 0 … D/2−1": _interleaved(
            x, _angles(pos, d, base, lambda i: i / 2)
        ),
        "positions are counted from 1; the first position is 0 (no rotation)": _interleaved(
            x, _angles(pos + 1, d, base, two_i)
        ),
    }
    if positions is not None:
        out["the positions argument is ignored (arange(N) is used instead)"] = _interleaved(
            x, _angles(n, d, base, two_i)
        )
    if base != 10000.0:
        out[f"the base argument is ignored (10000 is used instead of {base:g})"] = _interleaved(
            x, _angles(pos, d, 10000.0, two_i)
        )
    return out


def _judge_values(args, label):
    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        x, positions = args["x"], args.get("positions")
        base = 10000.0 if args.get("base") is None else args["base"]
        exp = reference(x, positions, base)
        got = res.data["out"]
        out = close(got, exp, label, atol=1e-4, rtol=1e-4)
        if out.status == "pass" or not isinstance(got, torch.Tensor) or got.shape != exp.shape:
            return out
        for why, wrong in _mistakes(x, positions, base).items():
            if torch.allclose(got.double(), wrong, atol=1e-4, rtol=1e-3):
                return Outcome.failed(f"{label}: {why}. ({_witness(out.message, label)})")
        return out

    return judge


def _judge_norms(args):
    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        x, got = args["x"], res.data["out"]
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            return Outcome.failed(
                f"apply_rope returned {getattr(got, 'shape', type(got))}, expected shape {list(x.shape)}"
            )
        n_in, n_out = x.double().norm(dim=-1), got.double().norm(dim=-1)
        bad = (n_in - n_out).abs() > 1e-4 * n_in + 1e-5
        if bool(bad.any()):
            b, h, p = torch.nonzero(bad)[0].tolist()
            return Outcome.failed(
                f"a rotation keeps lengths, but at batch {b}, head {h}, position {p} "
                f"‖x‖ = {float(n_in[b, h, p]):.5g} and ‖rope(x)‖ = {float(n_out[b, h, p]):.5g}; "
                f"{int(bad.sum())} of {bad.numel()} vectors changed length. Each pair must be "
                f"rotated by the same angle in both of its components (cos and sin of one angle)"
            )
        return Outcome.passed()

    return judge


def _judge_relative(args):
    groups = args["groups"]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        dots = res.data["dots"]
        pairs = args["pairs"]
        i = 0
        for size in groups:
            chunk = list(zip(pairs[i : i + size], dots[i : i + size]))
            i += size
            (m0, n0), d0 = chunk[0]
            for (m, n), dv in chunk[1:]:
                if abs(dv - d0) > 1e-3 * max(1.0, abs(d0)):
                    return Outcome.failed(
                        f"⟨rope(q, {m0}), rope(k, {n0})⟩ = {d0:.6g} but ⟨rope(q, {m}), rope(k, {n})⟩ "
                        f"= {dv:.6g}: the same offset m − n = {m0 - n0}, a different score. With "
                        f"angles p·θ_i, R(m)ᵀR(n) = R(n − m), so the score may depend on m − n only"
                    )
        return Outcome.passed()

    return judge


def _tests() -> list[TestCase]:
    tests = []
    g = torch.Generator().manual_seed(0)
    for shape, positions, base, what in (
        ((2, 3, 8, 16), None, None, "default positions and base"),
        ((1, 1, 5, 2), None, None, "D=2: a single pair"),
        (
            (1, 2, 6, 8),
            torch.tensor([5, 0, 17, 3, 1000, 42]),
            500.0,
            "explicit positions [5, 0, 17, 3, 1000, 42], base=500",
        ),
        ((2, 5, 7, 12), torch.arange(7) + 100, None, "positions 100…106, 5 heads, D=12"),
    ):
        x = torch.randn(*shape, generator=g)
        a = {"x": x, "positions": positions, "base": base}
        label = f"values: {what}, x {list(shape)}"
        tests.append(TestCase(label, "probe_values", _judge_values(a, label), a))
    x = torch.randn(1, 2, 4, 6, generator=g).double()
    a = {"x": x, "positions": None, "base": None}
    label = "values: float64 input stays float64, x [1, 2, 4, 6]"
    tests.append(TestCase(label, "probe_values", _judge_values(a, label), a))
    a = {"x": 3 * torch.randn(2, 3, 40, 32, generator=g), "positions": None, "base": None}
    tests.append(
        TestCase("property: norms are preserved (x [2, 3, 40, 32])", "probe_values", _judge_norms(a), a)
    )
    pairs = [
        (3, 1),
        (13, 11),
        (102, 100),
        (1002, 1000),
        (0, 5),
        (7, 12),
        (500, 505),
        (9, 9),
        (0, 0),
        (250, 250),
    ]
    a = {
        "q": torch.randn(16, generator=g),
        "k": torch.randn(16, generator=g),
        "pairs": pairs,
        "groups": [4, 3, 3],
    }
    tests.append(
        TestCase(
            "property: ⟨rope(q, m), rope(k, n)⟩ depends only on m − n",
            "probe_relative",
            _judge_relative(a),
            {"q": a["q"], "k": a["k"], "pairs": pairs},
        )
    )
    return tests


TESTS = _tests()
