"""Trusted side of the kv_cache checks: references, inputs and verdicts."""

from __future__ import annotations

import functools

import torch
from studytool.grader.checks._measured import cpu_seconds, limit_hit, usable_runs
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
            where = (
                f"after update #{step + 1} (chunks {chunks[: step + 1]}, {end} tokens stored, "
                f"max_len {args['max_len']})"
            )
            for name, full in (("keys", k), ("values", v)):
                got = d[f"{name[0]}_{step}"]
                exp = full[:, :, :end]
                if isinstance(got, torch.Tensor) and got.shape != exp.shape:
                    extra = (
                        " — return only the filled part, buffer[:, :, :len], not the whole buffer"
                        if got.dim() == 4 and got.shape[2] == args["max_len"]
                        else ""
                    )
                    return Outcome.failed(
                        f"{where}: update returned {name} of shape {list(got.shape)}, expected "
                        f"{list(exp.shape)} [B, H, T, D]{extra}"
                    )
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
            when = f"update #{step + 1} (chunks {chunks[: step + 1]})"
            for n, name in (("k", "keys"), ("v", "values")):
                if d[f"{n}_same_{step}"] and d[f"{n}_held_{step}"]:
                    continue
                if not d[f"{n}_held_{step}"]:
                    return Outcome.failed(
                        f"the {name} returned by {when} do not share storage with any buffer the "
                        f"cache holds: they are a copy (torch.cat, .clone(), torch.stack …), which "
                        f"costs O(T) per step. Return a view of the preallocated buffer: "
                        f"self.k[:, :, :len]"
                    )
                if d[f"init_kept_{step}"] and not d[f"{n}_init_{step}"]:
                    return Outcome.failed(
                        f"the {name} returned by {when} are not views of the buffer the cache "
                        f"allocated and writes into: each update returns a new copy (.clone(), "
                        f"torch.cat, torch.stack …), which costs O(T) per step. Return a view: "
                        f"self.k[:, :, :len]"
                    )
                replaced = step > 0 and not d[f"init_kept_{step}"] and d[f"{n}_init_0"]
                return Outcome.failed(
                    f"the {name} returned by {when} live in a different storage from those "
                    f"returned by update #1: the cache reallocated its buffer"
                    + (" (the buffers allocated in __init__ were replaced)" if replaced else "")
                    + " — torch.cat or a new tensor per step copies all T cached tokens every "
                    "time. Allocate [B, H, max_len, D] once and write the new keys into it in "
                    "place, e.g. self.k[:, :, n:n+t] = k_new"
                )
        for step in range(len(chunks)):
            when = f"update #{step + 1} (chunks {chunks[: step + 1]})"
            for n, name in (("k", "keys"), ("v", "values")):
                cap = d[f"{n}_capacity_{step}"]
                if cap < max_len:
                    return Outcome.failed(
                        f"the storage behind the {name} returned by {when} has room for {cap} "
                        f"token(s), not max_len={max_len}: the buffer must be allocated once for "
                        f"max_len tokens (torch.zeros(B, H, max_len, D)) and filled in place — a "
                        f"buffer sized to the tokens so far (torch.cat) has to be reallocated as it "
                        f"grows"
                    )
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
                f"cache to {sum(chunks[: step + 1])} of max_len {max_len} tokens — filling it "
                f"exactly to max_len must work"
            )
        if d["raised_at"] == -1:
            return Outcome.failed(
                f"adding {chunks[-1]} token(s) to a cache holding {stored} of max_len {max_len} "
                f"must raise ValueError; nothing was raised (len is now {d['len']})"
            )
        if d["type"] != "ValueError":
            return Outcome.failed(
                f"adding {chunks[-1]} token(s) to a cache holding {stored} of max_len {max_len} "
                f"raised {d['type']}: {d['message']!r}; the contract says ValueError — check the "
                f"length before writing"
            )
        return Outcome.passed()

    return judge


# --------------------------------------------------------------------------- attention


def _attn_case(b, t, d_model, n_heads, seed, chunks=None):
    g = _gen(seed)
    ws = {f"w_{n}": torch.randn(d_model, d_model, generator=g) / d_model**0.5 for n in "qkvo"}
    args = {"x": torch.randn(b, t, d_model, generator=g), "d_model": d_model, "n_heads": n_heads, **ws}
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
        if bad := check_tensor(got, "forward(x) without a cache", shape=tuple(exp.shape)):
            return bad
        # A leak of the future: does position 0 differ while the last position still matches?
        out = close(
            got,
            exp,
            f"forward(x) without a cache (B={args['x'].shape[0]}, "
            f"T={args['x'].shape[1]}, d_model={args['d_model']}, "
            f"n_heads={args['n_heads']})",
        )
        if out.status != "pass":
            first_ok = bool(torch.allclose(got[:, 0], exp[:, 0], atol=1e-5, rtol=1e-4))
            last_ok = bool(torch.allclose(got[:, -1], exp[:, -1], atol=1e-5, rtol=1e-4))
            if last_ok and not first_ok:
                return Outcome.failed(
                    out.message + " — the last position matches but the first "
                    "does not: early positions see later tokens (causal mask?)"
                )
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
        if bad := check_tensor(got, what, shape=tuple(exp.shape)):
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
                f"0..r, not the later ones"
            )
        lens = res.data["lens"]
        exp_lens = [sum(chunks[: i + 1]) for i in range(len(chunks))]
        if lens != exp_lens:
            return Outcome.failed(
                f"len(cache) after each call was {lens}, expected {exp_lens}: "
                f"forward must add the new keys and values to the cache"
            )
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
                    f"(batch {b}; counted in your process by a forward hook on {name}): {total} "
                    f"rows for {tokens} token(s) — expected {expected}, each token once. "
                    f"Re-projecting earlier tokens at every step makes decoding O(T²): project "
                    f"only the new x and read the old keys and values from the cache"
                )
        return Outcome.passed()

    return judge


HOW_CPU = "CPU time measured by the grader outside your process, one fresh process per run"


@functools.lru_cache(maxsize=4)
def _decode_reference(d_model, n_heads, prefill, steps, seed):
    """The output for the last token of a prefill + decode, by full recomputation (trusted)."""
    gen = torch.Generator().manual_seed(seed)
    ws = [torch.randn(d_model, d_model, generator=gen) / d_model**0.5 for _ in range(4)]
    x = torch.randn(1, prefill + max(steps, 1), d_model, generator=gen)
    t = prefill + steps if steps else prefill
    args = {
        "x": x[:, :t],
        "d_model": d_model,
        "n_heads": n_heads,
        **{f"w_{n}": w for n, w in zip("qkvo", ws)},
    }
    return _reference_full(args)[:, -1:]


def _reprojection_seconds(d_model, tokens) -> float:
    """CPU seconds this machine takes (one thread, trusted side) to project ``tokens`` tokens
    through k_proj and v_proj: what re-projecting that many cached tokens costs per step."""
    x, w = torch.randn(tokens, d_model), torch.randn(d_model, d_model)
    return cpu_seconds(
        ("kv_reproject", d_model, tokens),
        lambda: (torch.nn.functional.linear(x, w), torch.nn.functional.linear(x, w)),
    )


def _judge_decode_cost(args):
    """Verdict from CPU time measured outside the learner's process: the cost of one decode step
    with P1 and with P2 tokens cached (each from two fresh children, with and without the decode
    steps, so the prefill and import cancel). With a cache, a step does one projection and reads
    the cached keys: its growth from P1 to P2 is a small part of re-projecting the P2 − P1 extra
    tokens, which this machine's speed is measured for here. The in-process row counter is a
    diagnostic only: it can add a failure, never remove one."""
    p1, p2, k = args["runs"][0]["prefill"], args["runs"][2]["prefill"], args["runs"][1]["steps"]
    d_model = args["d_model"]

    def judge(res: ProbeResult) -> Outcome:
        if (hit := limit_hit(res)) is not None:
            at, err = hit
            return Outcome.failed(
                f"{err.kind} hit with a prefill of {at.get('prefill')} tokens and "
                f"{at.get('steps')} decode steps (d_model={d_model}), in a process of its own "
                f"measured by the grader: with a cache this takes well under a second. Project "
                f"only the new token at each step and read the cached keys and values"
            )
        runs, bad = usable_runs(res, 4)
        if bad is not None:
            return bad
        cpu = [float(r.usage.cpu_s) for r in runs]
        step1 = (cpu[1] - cpu[0]) / k
        step2 = (cpu[3] - cpu[2]) / k
        grew = step2 - step1
        reproj = _reprojection_seconds(d_model, p2 - p1)
        figures = {
            "step_ms": [round(1e3 * step1, 3), round(1e3 * step2, 3)],
            "cached": [p1, p2],
            "reprojection_ms": round(1e3 * reproj, 3),
        }
        where = (
            f"{HOW_CPU}: a decode step takes {1e3 * step1:.2f} ms with {p1} tokens cached "
            f"and {1e3 * step2:.2f} ms with {p2} (d_model={d_model})"
        )
        if grew > 0.3 * reproj:
            return Outcome.failed(
                f"decoding cost grows with the cached tokens as if they were projected again — "
                f"{where}. The {p2 - p1} extra cached tokens add {1e3 * grew:.1f} ms per step; "
                f"projecting them through k_proj and v_proj takes about {1e3 * reproj:.1f} ms "
                f"here. Project only the new token; read earlier keys and values from the cache",
                **figures,
            )
        for i in (1, 3):  # the runs with decode steps: doing less there would hide a cost
            run, pre, steps = runs[i], args["runs"][i]["prefill"], args["runs"][i]["steps"]
            exp = _decode_reference(d_model, args["n_heads"], pre, steps, args["seed"])
            out = close(
                run.data.get("last"),
                exp,
                f"the output for the last token (prefill {pre}, then {steps} decode steps)",
                atol=1e-4,
                rtol=1e-3,
            )
            if out.status != "pass":
                return out
        rows = _rows_note(runs)
        if rows:  # the diagnostic can only add a failure
            return Outcome.failed(
                f"the decoding cost looks right ({where}), but the in-process diagnostic disagrees{rows}",
                **figures,
            )
        return Outcome.passed(
            f"{where}: {1e3 * grew:.2f} ms more per step for {p2 - p1} more "
            f"cached tokens (re-projecting them would take about "
            f"{1e3 * reproj:.2f} ms)",
            **figures,
        )

    return judge


def _rows_note(runs) -> str:
    """The in-process row counter, as a diagnostic: rows through k_proj/v_proj per decode step
    (one new token each). Empty when it shows nothing wrong — a zero count is not evidence."""
    for run in runs:
        for name in ("k_rows", "v_rows"):
            rows = run.data.get(name) if isinstance(run.data, dict) else None
            if isinstance(rows, list) and rows and any(r != 1 for r in rows):
                bad = next(r for r in rows if r != 1)
                return f" (rows through {name[0]}_proj per step, seen by its forward hook: {bad}, expected 1)"
    return ""


def _tests() -> list[TestCase]:
    tests = []
    a = _cache_case(2, 3, 4, [3, 1, 2, 1, 1], 10, "float32", 0)
    tests.append(
        TestCase(
            "KVCache: update returns all keys and values so far, and len() counts them",
            "probe_cache",
            _judge_cache_values(a),
            a,
        )
    )
    a = _cache_case(1, 5, 6, [1, 1, 1, 2, 1], 6, "float64", 1)
    tests.append(
        TestCase(
            "KVCache: dtype float64, 5 heads, filled exactly to max_len",
            "probe_cache",
            _judge_cache_values(a),
            a,
        )
    )
    a = _cache_case(2, 3, 4, [3, 1, 1, 2], 8, "float32", 2)
    tests.append(
        TestCase(
            "KVCache: storage for max_len tokens allocated once; update writes in "
            "place and returns views of it",
            "probe_cache",
            _judge_in_place(a),
            a,
        )
    )
    a = {"max_len": 6, "chunks": [4, 2, 1]}
    tests.append(
        TestCase("KVCache: adding past max_len raises ValueError", "probe_overflow", _judge_overflow(a), a)
    )
    for b, t, dm, h, seed in ((2, 7, 24, 3, 3), (1, 10, 20, 5, 4)):
        a = _attn_case(b, t, dm, h, seed)
        tests.append(
            TestCase(
                f"CachedSelfAttention without a cache: causal self-attention "
                f"(B={b}, T={t}, d_model={dm}, n_heads={h})",
                "probe_full",
                _judge_full(a),
                a,
            )
        )
    a = _attn_case(2, 10, 24, 3, 5, chunks=[4, 1, 1, 1, 1, 1, 1])
    tests.append(
        TestCase(
            "prefill of 4, then one token at a time: equals full recomputation at every position",
            "probe_decode",
            _judge_decode(a),
            a,
        )
    )
    a = _attn_case(1, 10, 20, 5, 6, chunks=[3, 4, 1, 2])
    tests.append(
        TestCase(
            "chunks of several new tokens (3, 4, 1, 2): causal among the new tokens",
            "probe_decode",
            _judge_decode(a),
            a,
        )
    )
    a = {"d_model": 1024, "n_heads": 8, "seed": 11}
    runs = [
        {"prefill": 64, "steps": 0},
        {"prefill": 64, "steps": 16},
        {"prefill": 1024, "steps": 0},
        {"prefill": 1024, "steps": 16},
    ]
    tests.append(
        TestCase(
            "decoding reuses the cache: the cost of a step barely grows with the "
            "tokens cached (CPU time measured outside your process with 64 and "
            "1024 tokens cached, d_model=1024)",
            "probe_decode_cost",
            _judge_decode_cost({**a, "runs": runs}),
            a,
            time_limit_s=20,
            runs=runs,
        )
    )
    a = _attn_case(2, 10, 24, 3, 7, chunks=[4, 1, 1, 1, 1, 1, 1])
    tests.append(
        TestCase(
            "diagnostic: over a whole decode each token passes through k_proj and "
            "v_proj once (rows counted by forward hooks)",
            "probe_decode",
            _judge_projected_once(a),
            a,
        )
    )
    return tests


TESTS = _tests()
