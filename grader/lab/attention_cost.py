"""Attention cost curves: wall time and extra peak memory against N, per implementation.

naive softmax(QKᵀ/√d)V, the learner's ``tiled_attention`` (component "tiled"), the learner's
``linear_attention`` (non-causal, component "linear") and torch's SDPA; one head, d = 64,
float32, one thread. Each (variant, N) runs in a fresh forked child: it makes its inputs, calls
the function once at a small N (warm-up: the allocator's and the libraries' one-time costs),
then times ``repeats`` calls at N. Peak memory is read from outside, by the parent's ``wait4``
(ru_maxrss), minus that of a twin child that does everything but the measured calls.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time

import torch
from studytool.grader.lab import runner

VARIANTS = ["naive", "tiled", "linear", "sdpa"]


def _naive(q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return torch.softmax(s, dim=-1) @ v


def _fn(variant: str, comps: dict):
    if variant == "naive":
        return _naive
    if variant == "sdpa":
        return torch.nn.functional.scaled_dot_product_attention
    if variant == "tiled":
        return comps["tiled"].tiled_attention
    return comps["linear"].linear_attention


def _inputs(n: int, d: int, seed: int):
    g = torch.Generator().manual_seed(seed * 7919 + n)
    return [torch.randn(1, 1, n, d, generator=g) for _ in range(3)]


def _child(variant, comps, n, d, seed, warm_n, repeats, measure, wfd) -> None:
    code = 1
    try:
        runner.set_pdeathsig()
        torch.set_num_threads(1)
        fn = _fn(variant, comps)
        with torch.no_grad():
            wq, wk, wv = _inputs(warm_n, d, seed)
            fn(wq, wk, wv)  # warm-up
            del wq, wk, wv
            q, k, v = _inputs(n, d, seed)
            times = []
            if measure:
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    out = fn(q, k, v)
                    times.append(time.perf_counter() - t0)
                    if not torch.isfinite(torch.as_tensor(out)).all():
                        raise ValueError(f"{variant} returned non-finite values at N = {n}")
                    del out
        os.write(wfd, (json.dumps({"times": times}) + "\n").encode())
        code = 0
    except BaseException as exc:  # noqa: BLE001
        try:
            os.write(wfd, (json.dumps({"error": runner.describe(exc)}) + "\n").encode())
        except Exception:  # noqa: BLE001
            pass
    finally:
        os._exit(code)


def measure(variant, comps, n, d, seed, warm_n, repeats, measure_it) -> tuple[list[float], float]:
    """(times, peak RSS in MiB) of one fresh child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(variant, comps, n, d, seed, warm_n, repeats, measure_it, w)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    _, status, ru = os.wait4(pid, 0)
    try:
        msg = json.loads(data.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        raise RuntimeError(
            f"{variant} at N = {n}: the measuring process died" + (f" (signal {sig})" if sig else "")
        ) from None
    if "error" in msg:
        raise RuntimeError(f"{variant} at N = {n}: {msg['error']}")
    return msg["times"], ru.ru_maxrss / 1024.0


def run(settings: dict, seed: int, comps: dict) -> dict:
    lengths = [int(n) for n in settings["lengths"]]
    d, reps, warm_n = int(settings["d"]), int(settings["repeats"]), int(settings["warmup_n"])
    progress = runner.Progress(len(VARIANTS) * len(lengths))
    progress.set(0, "measuring", force=True)
    time_s = {v: [] for v in VARIANTS}
    peak = {v: [] for v in VARIANTS}
    errors: dict[str, str] = {}
    for n in lengths:  # small to large, variants interleaved: drifting load hits all alike
        for v in VARIANTS:
            if v in errors:  # failed at a smaller N: not tried again (null from here on)
                time_s[v].append(None)
                peak[v].append(None)
            else:
                try:
                    _, base = measure(v, comps, n, d, seed, warm_n, reps, False)
                    times, top = measure(v, comps, n, d, seed, warm_n, reps, True)
                    time_s[v].append(round(statistics.median(times), 6))
                    peak[v].append(round(max(0.0, top - base), 3))
                except RuntimeError as exc:
                    errors[v] = str(exc)[:500]
                    time_s[v].append(None)
                    peak[v].append(None)
            progress.add(1, f"{v} at N = {n}")
    return {"lengths": lengths, "time_s": time_s, "peak_mib": peak, "errors": errors}
