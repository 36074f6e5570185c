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
    return message[len(label) + 2:] if message.startswith(label + ": ") else message


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
            (_run(kind, args, not causal),
             "causal=True is ignored: pass attn_mask (True above the diagonal) to self.attn"
             if causal else "causal=False, but a causal mask is applied"),
            (_run(kind, args, causal, _flipped_mask),
             "the causal mask has the wrong polarity: nn.MultiheadAttention's boolean attn_mask is "
             "True where attention is NOT allowed (above the diagonal)"),
            (_run(kind, args, causal, _ln_on_residual),
             "the LayerNorms sit on the residual path (x = ln1(x); x = x + attn(x) …): in Pre-LN "
             "they only normalise the sublayer's input, x + attn(ln1(x)), so the residual path "
             "stays the identity"),
            (_run(kind, args, causal, _one_ln),
             "ln1 is used where ln2 belongs: each sublayer has its own LayerNorm"),
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
        out = close(got, x, "PreLNBlock with attn and ff zeroed, compared with its input x",
                    atol=1e-6, rtol=1e-5)
        if out.status == "pass":
            return out
        return Outcome.failed(
            "with every parameter of attn and ff set to zero, a Pre-LN block must return x "
            "unchanged (x + 0, then h + 0): the residual path is the identity and carries the "
            "gradient ∂out/∂x = I + … through every layer. Yours changes x — a LayerNorm (or "
            "something else) sits on the residual path, which is Post-LN. " + out.message)

    return judge


def _judge_grads(args):
    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        pre, post = res.data["pre_ln"], res.data["post_ln"]
        if not all(math.isfinite(g) for g in pre + post):
            return Outcome.failed("a gradient norm of the 24-layer stacks is not finite "
                                  f"(Pre-LN {pre[:3]}…, Post-LN {post[:3]}…)")
        figures = {"grad_norm_by_layer": {"layers": list(range(1, len(pre) + 1)),
                                          "pre_ln": [round(g, 4) for g in pre],
                                          "post_ln": [round(g, 4) for g in post]}}
        return Outcome.passed(
            f"‖∂L/∂W2‖ per layer at initialisation, 24 layers: Pre-LN layer 1 {pre[0]:.3f}, "
            f"layer 24 {pre[-1]:.3f}; Post-LN layer 1 {post[0]:.3f}, layer 24 {post[-1]:.3f}. "
            f"Near the output the Post-LN gradients are {post[-1] / pre[-1]:.1f}× larger "
            f"(Xiong et al. 2020: Pre-LN's are scaled down by about 1/√L through the final "
            f"LayerNorm, so it trains without warm-up)", **figures)

    return judge


def _tests() -> list[TestCase]:
    tests = []
    seed = 0
    for kind in ("PreLNBlock", "PostLNBlock"):
        for b, t, d, h, f, causal in ((2, 7, 16, 4, 32, False), (1, 9, 24, 3, 40, True)):
            seed += 1
            g = torch.Generator().manual_seed(100 + seed)
            a = {"kind": kind, "d_model": d, "n_heads": h, "d_ff": f,
                 "x": torch.randn(b, t, d, generator=g), "causal": causal,
                 "state": _state(kind, d, h, f, seed)}
            label = (f"{kind}({d}, {h}, {f}) forward, x [{b}, {t}, {d}]"
                     + (", causal=True" if causal else ""))
            tests.append(TestCase(label, "probe_forward", _judge_forward(a, kind, causal, label), a))
    g = torch.Generator().manual_seed(200)
    a = {"kind": "PreLNBlock", "d_model": 16, "n_heads": 2, "d_ff": 24,
         "x": 3.0 * torch.randn(2, 5, 16, generator=g) + 1.0,
         "state": _state("PreLNBlock", 16, 2, 24, 50)}
    tests.append(TestCase("Pre-LN residual path: with attn and ff zeroed the block is the identity",
                          "probe_zeroed", _judge_identity(a), a))
    a = {"n_layers": 24, "d_model": 64, "n_heads": 4, "d_ff": 256, "seed": 0}
    tests.append(TestCase("gradient norm by layer of 24-layer Pre-LN and Post-LN stacks at "
                          "initialisation (figure)", "probe_grad_norms", _judge_grads(a), a,
                          time_limit_s=30))
    return tests


TESTS = _tests()
