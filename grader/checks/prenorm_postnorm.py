"""Trusted side of the prenorm_postnorm checks."""

from __future__ import annotations

import math

import torch
from studytool.grader.compare import close
from studytool.grader.references import prenorm_postnorm as ref
from studytool.grader.spec import Outcome, ProbeResult, TestCase

FORMULA = {
    "PreLNBlock": "Pre-LN: h = x + attn(ln1(x)), out = h + ff(ln2(h))",
    "PostLNBlock": "Post-LN: h = ln1(x + attn(x)), out = ln2(h + ff(h))",
}
OTHER = {"PreLNBlock": "PostLNBlock", "PostLNBlock": "PreLNBlock"}


def _witness(message: str, label: str) -> str:
    """The comparison's witness without the label already said at the start of the message."""
    return message[len(label) + 2 :] if message.startswith(label + ": ") else message


def _error(res: ProbeResult) -> Outcome | None:
    return None if res.ok else Outcome.errored(res.error.describe())


def _state(kind, d_model, n_heads, d_ff, seed):
    """Reference weights, LayerNorm affine parameters included (so they matter)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        block = getattr(ref, kind)(d_model, n_heads, d_ff)
        with torch.no_grad():
            for name, p in block.named_parameters():
                if name.startswith("ln"):
                    p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.3 * torch.randn_like(p))
                elif name.endswith("bias"):
                    p.copy_(0.1 * torch.randn_like(p))
    return {k: v.detach().clone() for k, v in block.state_dict().items()}


def _run(kind, args, causal, variant=None):
    block = getattr(ref, kind)(args["d_model"], args["n_heads"], args["d_ff"])
    block.load_state_dict(args["state"])
    block.eval()
    x = args["x"]
    with torch.no_grad():
        if variant is None:
            return block(x, causal=causal)
        return variant(block, x, causal)


def _flipped_mask(block, x, causal):
    n = x.shape[1]
    allowed = torch.ones(n, n, dtype=torch.bool).tril()  # True = may attend: the wrong polarity
    mask = allowed if causal else None
    if isinstance(block, ref.PreLNBlock):
        h = block.ln1(x)
        x = x + block.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + block.ff(block.ln2(x))
    h = block.ln1(x + block.attn(x, x, x, attn_mask=mask, need_weights=False)[0])
    return block.ln2(h + block.ff(h))


def _one_ln(block, x, causal):
    mask = ref._causal_mask(x.shape[1], x.device) if causal else None
    if isinstance(block, ref.PreLNBlock):
        h = block.ln1(x)
        x = x + block.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + block.ff(block.ln1(x))
    h = block.ln1(x + block.attn(x, x, x, attn_mask=mask, need_weights=False)[0])
    return block.ln1(h + block.ff(h))


def _ln_on_residual(block, x, causal):
    mask = ref._causal_mask(x.shape[1], x.device) if causal else None
    x = block.ln1(x)
    x = x + block.attn(x, x, x, attn_mask=mask, need_weights=False)[0]
    x = block.ln2(x)
    return x + block.ff(x)


def _judge_forward(args, kind, causal, label):
    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        exp = _run(kind, args, causal)
        got = res.data["out"]
        out = close(got, exp, label, atol=1e-5, rtol=1e-4)
        if out.status == "pass" or not isinstance(got, torch.Tensor) or got.shape != exp.shape:
            return out
        other = OTHER[kind]
        other_block = getattr(ref, other)(args["d_model"], args["n_heads"], args["d_ff"])
        other_block.load_state_dict(args["state"])
        with torch.no_grad():
            swapped = other_block.eval()(args["x"], causal=causal)
        hints = [
            (swapped, f"{kind} computes the {other} block: {FORMULA[kind]}"),
            (
                _run(kind, args, not causal),
                "causal=True is ignored: pass attn_mask (True above the diagonal) to self.attn"
                if causal
                else "causal=False, but a causal mask is applied",
            ),
            (
                _run(kind, args, causal, _flipped_mask),
                "the causal mask has the wrong polarity: nn.MultiheadAttention's boolean attn_mask is "
                "True where attention is NOT allowed (above the diagonal)",
            ),
            (
                _run(kind, args, causal, _ln_on_residual),
                "the LayerNorms sit on the residual path (x = ln1(x); x = x + attn(x) …): in Pre-LN "
                "they only normalise the sublayer's input, x + attn(ln1(x)), so the residual path "
                "stays the identity",
            ),
            (
                _run(kind, args, causal, _one_ln),
                "ln1 is used where ln2 belongs: each sublayer has its own LayerNorm",
            ),
        ]
        for wrong, why in hints:
            if torch.allclose(got, wrong, atol=1e-4, rtol=1e-3):
                return Outcome.failed(f"{label}: {why}. ({_witness(out.message, label)})")
        return Outcome.failed(f"{out.message}. Expected {FORMULA[kind]}")

    return judge


def _judge_identity(args):
    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        x, got = args["x"], res.data["out"]
        out = close(
            got, x, "PreLNBlock with attn and ff zeroed, compared with its input x", atol=1e-6, rtol=1e-5
        )
        if out.status == "pass":
            return out
        return Outcome.failed(
            "with every parameter of attn and ff set to zero, a Pre-LN block must return x "
            "unchanged (x + 0, then h + 0): the residual path is the identity and carries the "
            "gradient ∂out/∂x = I + … through every layer. Yours changes x — a LayerNorm (or "
            "something else) sits on the residual path, which is Post-LN. " + out.message
        )

    return judge


def _loglog_slope(xs, ys) -> float:
    """Least-squares slope of log y against log x."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def _judge_depth(args):
    depths, seeds = args["depths"], args["seeds"]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        mean = {}
        for name in ("pre_ln", "post_ln"):
            per_seed = res.data.get(name)
            if (
                not isinstance(per_seed, list)
                or len(per_seed) != len(seeds)
                or any(not isinstance(r, list) or len(r) != len(depths) for r in per_seed)
            ):
                return Outcome.errored("the gradient measurement came back incomplete")
            vals = [[float(g) for g in r] for r in per_seed]
            if not all(math.isfinite(g) and g > 0 for r in vals for g in r):
                return Outcome.failed(
                    f"the last layer's gradient norm of a {'Pre' if name == 'pre_ln' else 'Post'}"
                    f"-LN stack is not a positive finite number (depths {depths}: {vals[0]}) — "
                    "the blocks must pass gradients to W2 of ff"
                )
            mean[name] = [sum(col) / len(col) for col in zip(*vals)]
        pre, post = mean["pre_ln"], mean["post_ln"]
        s_pre, s_post = _loglog_slope(depths, pre), _loglog_slope(depths, post)
        figures = {
            "grad_norm_by_depth": {
                "depths": list(depths),
                "pre_ln": [round(g, 4) for g in pre],
                "post_ln": [round(g, 4) for g in post],
                "slope_pre_ln": round(s_pre, 2),
                "slope_post_ln": round(s_post, 2),
                "what": "‖∂L/∂W2‖ of the last layer at initialisation (Xavier), mean of "
                f"{len(seeds)} seeds, against the number of layers L",
            }
        }

        def trend(s: float) -> str:
            slope = f"{s:+.2f}".replace("-", "−")
            if s <= -0.25:
                return f"shrinks with depth (log-log slope {slope}; 1/√L is −0.5)"
            if s >= -0.1:
                return f"does not shrink with depth (slope {slope})"
            return f"shrinks a little with depth (slope {slope})"

        return Outcome.passed(
            f"measured on stacks of {', '.join(map(str, depths))} of your blocks at "
            f"initialisation (Xavier, mean of {len(seeds)} seeds): the last layer's ‖∂L/∂W2‖ goes "
            f"{pre[0]:.3f} → {pre[-1]:.3f} for Pre-LN, which {trend(s_pre)}, and "
            f"{post[0]:.3f} → {post[-1]:.3f} for Post-LN, which {trend(s_post)}. Xiong et al. "
            f"2020, Theorem 1: Post-LN's does not shrink with L, Pre-LN's scales like 1/√L",
            **figures,
        )

    return judge


def _tests() -> list[TestCase]:
    tests = []
    seed = 0
    for kind in ("PreLNBlock", "PostLNBlock"):
        for b, t, d, h, f, causal in ((2, 7, 16, 4, 32, False), (1, 9, 24, 3, 40, True)):
            seed += 1
            g = torch.Generator().manual_seed(100 + seed)
            a = {
                "kind": kind,
                "d_model": d,
                "n_heads": h,
                "d_ff": f,
                "x": torch.randn(b, t, d, generator=g),
                "causal": causal,
                "state": _state(kind, d, h, f, seed),
            }
            label = f"{kind}({d}, {h}, {f}) forward, x [{b}, {t}, {d}]" + (", causal=True" if causal else "")
            tests.append(TestCase(label, "probe_forward", _judge_forward(a, kind, causal, label), a))
    g = torch.Generator().manual_seed(200)
    a = {
        "kind": "PreLNBlock",
        "d_model": 16,
        "n_heads": 2,
        "d_ff": 24,
        "x": 3.0 * torch.randn(2, 5, 16, generator=g) + 1.0,
        "state": _state("PreLNBlock", 16, 2, 24, 50),
    }
    tests.append(
        TestCase(
            "Pre-LN residual path: with attn and ff zeroed the block is the identity",
            "probe_zeroed",
            _judge_identity(a),
            a,
        )
    )
    a = {"depths": [2, 4, 8, 16, 32], "d_model": 64, "n_heads": 4, "d_ff": 256, "seeds": [0, 1]}
    tests.append(
        TestCase(
            "gradient of the last layer against depth (2 to 32 layers), Pre-LN and "
            "Post-LN at initialisation (figure)",
            "probe_grad_by_depth",
            _judge_depth(a),
            a,
            time_limit_s=30,
        )
    )
    return tests


TESTS = _tests()
