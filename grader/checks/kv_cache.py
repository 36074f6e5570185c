"""Trusted side of the kv_cache checks: references, inputs and verdicts."""

from __future__ import annotations

import torch

from studytool.grader.compare import check_tensor, close
from studytool.grader.references import kv_cache as ref
from studytool.grader.spec import Outcome, ProbeResult, TestCase


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _error(res: ProbeResult) -> Outcome | None:
    return None if res.ok else Outcome.errored(res.error.describe())


# --------------------------------------------------------------------------- KVCache itself

def _cache_case(b, h, d, chunks, max_len, dtype, seed):
    g = _gen(seed)
    t = sum(chunks)
    k = torch.randn(b, h, t, d, generator=g)
    v = torch.randn(b, h, t, d, generator=g)
    return {"k": k, "v": v, "chunks": list(chunks), "max_len": max_len, "dtype": dtype}


def _judge_cache_values(args):
    dt = {"float32": torch.float32, "float64": torch.float64}[args["dtype"]]
    k, v, chunks = args["k"].to(dt), args["v"].to(dt), args["chunks"]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        d = res.data
        if d["len_init"] != 0:
            return Outcome.failed(f"len() of a new KVCache is {d['len_init']}, expected 0")
        end = 0
        for step, size in enumerate(chunks):
            end += size
            where = (f"after update #{step + 1} (chunks {chunks[:step + 1]}, {end} tokens stored, "
                     f"max_len {args['max_len']})")
            for name, full in (("keys", k), ("values", v)):
                got = d[f"{name[0]}_{step}"]
                exp = full[:, :, :end]
                if isinstance(got, torch.Tensor) and got.shape != exp.shape:
                    extra = (" — return only the filled part, buffer[:, :, :len], not the whole buffer"
                             if got.dim() == 4 and got.shape[2] == args["max_len"] else "")
                    return Outcome.failed(
                        f"{where}: update returned {name} of shape {list(got.shape)}, expected "
                        f"{list(exp.shape)} [B, H, T, D]{extra}")
                out = close(got, exp, f"{where}: {name} returned by update")
                if out.status != "pass":
                    return out
            if d[f"len_{step}"] != end:
                return Outcome.failed(f"{where}: len(cache) is {d[f'len_{step}']}, expected {end}")
        return Outcome.passed()

    return judge


def _judge_in_place(args):
    chunks, max_len = args["chunks"], args["max_len"]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        d = res.data
        for step in range(len(chunks)):
            when = f"update #{step + 1} (chunks {chunks[:step + 1]})"
            for n, name in (("k", "keys"), ("v", "values")):
                if d[f"{n}_same_{step}"] and d[f"{n}_held_{step}"]:
                    continue
                if not d[f"{n}_held_{step}"]:
                    return Outcome.failed(
                        f"the {name} returned by {when} do not share storage with any buffer the "
                        f"cache holds: they are a copy (torch.cat, .clone(), torch.stack …), which "
                        f"costs O(T) per step. Return a view of the preallocated buffer: "
                        f"self.k[:, :, :len]")
                replaced = step > 0 and not d[f"init_kept_{step}"] and d[f"{n}_init_0"]
                return Outcome.failed(
                    f"the {name} returned by {when} live in a different storage from those "
                    f"returned by update #1: the cache reallocated its buffer"
                    + (" (the buffers allocated in __init__ were replaced)" if replaced else "")
                    + " — torch.cat or a new tensor per step copies all T cached tokens every "
                    "time. Allocate [B, H, max_len, D] once and write the new keys into it in "
                    "place, e.g. self.k[:, :, n:n+t] = k_new")
        for step in range(len(chunks)):
            when = f"update #{step + 1} (chunks {chunks[:step + 1]})"
            for n, name in (("k", "keys"), ("v", "values")):
                cap = d[f"{n}_capacity_{step}"]
                if cap < max_len:
                    return Outcome.failed(
                        f"the storage behind the {name} returned by {when} has room for {cap} "
                        f"token(s), not max_len={max_len}: the buffer must be allocated once for "
                        f"max_len tokens (torch.zeros(B, H, max_len, D)) and filled in place — a "
                        f"buffer sized to the tokens so far (torch.cat) has to be reallocated as it "
                        f"grows")
        return Outcome.passed()

    return judge


def _judge_overflow(args):
    max_len, chunks = args["max_len"], args["chunks"]
    full_at = len(chunks) - 1  # the last chunk is the one that overflows

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        d = res.data
        stored = sum(chunks[:full_at])
        if 0 <= d["raised_at"] < full_at:
            step = d["raised_at"]
            return Outcome.failed(
                f"update #{step + 1} raised {d['type']}: {d['message']!r}, but it only brings the "
                f"cache to {sum(chunks[:step + 1])} of max_len {max_len} tokens — filling it "
                f"exactly to max_len must work")
        if d["raised_at"] == -1:
            return Outcome.failed(
                f"adding {chunks[-1]} token(s) to a cache holding {stored} of max_len {max_len} "
                f"must raise ValueError; nothing was raised (len is now {d['len']})")
        if d["type"] != "ValueError":
            return Outcome.failed(
                f"adding {chunks[-1]} token(s) to a cache holding {stored} of max_len {max_len} "
                f"raised {d['type']}: {d['message']!r}; the contract says ValueError — check the "
                f"length before writing")
        return Outcome.passed()

    return judge


# --------------------------------------------------------------------------- attention

def _attn_case(b, t, d_model, n_heads, seed, chunks=None):
    g = _gen(seed)
    ws = {f"w_{n}": torch.randn(d_model, d_model, generator=g) / d_model ** 0.5 for n in "qkvo"}
    args = {"x": torch.randn(b, t, d_model, generator=g), "d_model": d_model, "n_heads": n_heads,
            **ws}
    if chunks is not None:
        args["chunks"] = list(chunks)
        args["max_len"] = t + 3
    return args


def _reference_full(args) -> torch.Tensor:
    m = ref.CachedSelfAttention(args["d_model"], args["n_heads"])
    with torch.no_grad():
        for n, name in zip("qkvo", ("q_proj", "k_proj", "v_proj", "out_proj")):
            getattr(m, name).weight.copy_(args[f"w_{n}"])
        return m(args["x"])


def _judge_full(args):
    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        exp = _reference_full(args)
        got = res.data["out"]
        if (bad := check_tensor(got, "forward(x) without a cache", shape=tuple(exp.shape))):
            return bad
        # A leak of the future: does position 0 differ while the last position still matches?
        out = close(got, exp, f"forward(x) without a cache (B={args['x'].shape[0]}, "
                              f"T={args['x'].shape[1]}, d_model={args['d_model']}, "
                              f"n_heads={args['n_heads']})")
        if out.status != "pass":
            first_ok = bool(torch.allclose(got[:, 0], exp[:, 0], atol=1e-5, rtol=1e-4))
            last_ok = bool(torch.allclose(got[:, -1], exp[:, -1], atol=1e-5, rtol=1e-4))
            if last_ok and not first_ok:
                return Outcome.failed(out.message + " — the last position matches but the first "
                                      "does not: early positions see later tokens (causal mask?)")
        return out

    return judge


def _judge_decode(args):
    chunks = args["chunks"]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        exp = _reference_full(args)
        got = res.data["out"]
        what = f"outputs of prefill + decode in chunks {chunks}"
        if (bad := check_tensor(got, what, shape=tuple(exp.shape))):
            return bad
        diff = (got - exp).abs().amax(dim=(0, 2))  # per position
        tol = 1e-5 + 1e-4 * exp.abs().amax(dim=(0, 2))
        bad_pos = torch.nonzero(diff > tol).flatten()
        if len(bad_pos):
            p = int(bad_pos[0])
            starts, s = [], 0
            for c in chunks:
                starts.append(s)
                s += c
            step = max(i for i, st in enumerate(starts) if st <= p)
            return Outcome.failed(
                f"{what}: position {p} (fed in call #{step + 1}, {chunks[step]} new token(s) after "
                f"{starts[step]} cached) differs from full recomputation by "
                f"{float(diff[p]):.3g}; {len(bad_pos)} of {exp.shape[1]} positions differ. "
                f"A new token at position len(cache)+r sees every cached key and the new keys "
                f"0..r, not the later ones")
        lens = res.data["lens"]
        exp_lens = [sum(chunks[:i + 1]) for i in range(len(chunks))]
        if lens != exp_lens:
            return Outcome.failed(f"len(cache) after each call was {lens}, expected {exp_lens}: "
                                  f"forward must add the new keys and values to the cache")
        return Outcome.passed()

    return judge


def _judge_projected_once(args):
    chunks = args["chunks"]
    b = args["x"].shape[0]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        expected = [b * c for c in chunks]
        for name in ("k_proj", "v_proj"):
            rows = res.data[name[0] + "_rows"]
            if rows != expected:
                total, tokens = sum(rows), b * sum(chunks)
                return Outcome.failed(
                    f"{name} saw {rows} rows in the calls of a decode in chunks {chunks} "
                    f"(batch {b}): {total} rows for {tokens} token(s) — expected {expected}, each "
                    f"token once. Re-projecting earlier tokens at every step makes decoding "
                    f"O(T²): project only the new x and read the old keys and values from the "
                    f"cache")
        return Outcome.passed()

    return judge


def _tests() -> list[TestCase]:
    tests = []
    a = _cache_case(2, 3, 4, [3, 1, 2, 1, 1], 10, "float32", 0)
    tests.append(TestCase("KVCache: update returns all keys and values so far, and len() counts them",
                          "probe_cache", _judge_cache_values(a), a))
    a = _cache_case(1, 5, 6, [1, 1, 1, 2, 1], 6, "float64", 1)
    tests.append(TestCase("KVCache: dtype float64, 5 heads, filled exactly to max_len",
                          "probe_cache", _judge_cache_values(a), a))
    a = _cache_case(2, 3, 4, [3, 1, 1, 2], 8, "float32", 2)
    tests.append(TestCase("KVCache: storage for max_len tokens allocated once; update writes in "
                          "place and returns views of it", "probe_cache", _judge_in_place(a), a))
    a = {"max_len": 6, "chunks": [4, 2, 1]}
    tests.append(TestCase("KVCache: adding past max_len raises ValueError",
                          "probe_overflow", _judge_overflow(a), a))
    for b, t, dm, h, seed in ((2, 7, 24, 3, 3), (1, 10, 20, 5, 4)):
        a = _attn_case(b, t, dm, h, seed)
        tests.append(TestCase(f"CachedSelfAttention without a cache: causal self-attention "
                              f"(B={b}, T={t}, d_model={dm}, n_heads={h})",
                              "probe_full", _judge_full(a), a))
    a = _attn_case(2, 10, 24, 3, 5, chunks=[4, 1, 1, 1, 1, 1, 1])
    tests.append(TestCase("prefill of 4, then one token at a time: equals full recomputation at "
                          "every position", "probe_decode", _judge_decode(a), a))
    a = _attn_case(1, 10, 20, 5, 6, chunks=[3, 4, 1, 2])
    tests.append(TestCase("chunks of several new tokens (3, 4, 1, 2): causal among the new tokens",
                          "probe_decode", _judge_decode(a), a))
    a = _attn_case(2, 10, 24, 3, 7, chunks=[4, 1, 1, 1, 1, 1, 1])
    tests.append(TestCase("over a whole decode each token passes through k_proj and v_proj "
                          "exactly once", "probe_decode", _judge_projected_once(a), a))
    return tests


TESTS = _tests()
