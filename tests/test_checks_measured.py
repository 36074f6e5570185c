"""Judges of the measured property checks (issue 9 §2), fed the way the zygote feeds them.

Each measured test (``TestCase.runs``) gets one fresh child per run; the peak memory and CPU time
come from the kernel (``os.wait4``), outside the learner's process. Here a small harness does the
same thing without the sandbox: it forks a torch-warm child per run, imports the submission, runs
the real probe and reads ``wait4``'s rusage, then hands a ``ProbeResult`` to the real judge. So
these tests exercise the probes, the numbers the kernel reports and the verdict rules, for the
hostile members of each class as well as for correct answers:

* flash_attention: a naive N×N answer, and one that hides it under a constant "ballast"
  allocation (which would defeat a check on differences between sizes alone);
* linear_attention: the quadratic answer, and a quadratic one that keeps O(N) memory and runs
  inside ``DisableTorchFunction`` (0 FLOPs for an in-process counter);
* kv_cache: re-projecting every cached token with ``F.linear(x, self.k_proj.weight)`` (skips
  forward hooks, so the in-process row counter sees 1 row per step).

Fabricated results check the rules that need no learner at all: a missing or zero measurement is
never a pass.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import torch
from studytool.grader import wire
from studytool.grader.spec import MeasuredRun, ProbeError, ProbeResult, Usage

# A child forked from a process whose torch already ran a multi-threaded op can hang in its first
# matmul (measured-facts.md): keep this process on one thread from collection on, and give every
# child an alarm so that a hang fails a test instead of stalling the suite.
torch.set_num_threads(1)
CHILD_ALARM_S = 120

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT / "tests" / "wrong_answers"
REFS = ROOT / "grader" / "references"


def _child(path: Path | None, exercise: str, probe: str | None, args: dict, fd: int) -> None:
    try:
        signal.alarm(CHILD_ALARM_S)
        torch.set_num_threads(1)
        data = None
        if path is not None:
            spec = importlib.util.spec_from_file_location("solution", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            if probe:
                pm = importlib.import_module(f"studytool.grader.probes.{exercise}")
                data = getattr(pm, probe)(mod, **args)
        os.write(fd, wire.encode(data) if data is not None else b"")
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001
        os.write(fd, f"ERR {type(exc).__name__}: {exc}".encode()[:2000])
        os._exit(1)


def _measure(path: Path | None, exercise: str, probe: str | None, args: dict):
    r, w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(path, exercise, probe, args, w)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 1 << 20)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status, ru = os.wait4(pid, 0)
    usage = Usage(
        peak_rss_mib=ru.ru_maxrss / 1024, cpu_s=ru.ru_utime + ru.ru_stime, wall_s=time.monotonic() - t0
    )
    raw = b"".join(chunks)
    if status != 0 or raw.startswith(b"ERR"):
        return None, ProbeError("exception", message=raw.decode(errors="replace")), usage
    return (wire.decode(raw) if raw else None), None, usage


def measured(exercise: str, path: Path, test_prefix: str) -> tuple[object, ProbeResult]:
    """Run the named measured test of ``exercise`` on ``path`` the way the zygote does."""
    torch.set_num_threads(1)
    checks = importlib.import_module(f"studytool.grader.checks.{exercise}")
    tc = next(t for t in checks.TESTS if t.name.startswith(test_prefix))
    assert tc.runs, f"{tc.name} is not a measured test"
    _, _, baseline = _measure(None, exercise, None, {})
    _, _, imp = _measure(path, exercise, None, {})
    runs = []
    for entry in tc.runs:
        args = {**tc.args, **entry}
        data, err, usage = _measure(path, exercise, tc.probe, args)
        runs.append(MeasuredRun(args=args, data=data, error=err, usage=usage))
    first_err = next((r.error for r in runs if r.error is not None), None)
    res = ProbeResult(data=runs[-1].data, error=first_err, runs=runs, baseline=baseline, import_only=imp)
    return tc, res


def verdict(exercise: str, path: Path, test_prefix: str):
    tc, res = measured(exercise, path, test_prefix)
    return tc.judge(res)


pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="wait4 rusage as on Linux")

FLASH = "memory grows like N·block_size"
LINEAR_COST = "cost grows linearly in N (causal"
LINEAR_COST_NC = "cost grows linearly in N (non-causal"
LINEAR_MEM = "no N×N matrix: peak memory measured outside your process at N=16384 (causal"
KV = "decoding reuses the cache"


# -- flash_attention: peak memory --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        REFS / "flash_attention.py",
        ANSWERS / "flash_attention" / "ok_2d_tiles.py",
        ANSWERS / "flash_attention" / "ok_logsumexp.py",
    ],
    ids=lambda p: p.stem,
)
def test_flash_memory_passes_tiled_answers(path):
    out = verdict("flash_attention", path, FLASH)
    assert out.status == "pass", out.message
    assert "measured by the grader outside your process" in out.message


def test_flash_memory_fails_the_naive_answer_saying_what_was_measured():
    out = verdict("flash_attention", ANSWERS / "flash_attention" / "wrong_naive.py", FLASH)
    assert out.status == "fail"
    assert "peak memory measured by the grader outside your process: +" in out.message
    assert "MiB at N=8192" in out.message and "a tiled version needs about +25 MiB" in out.message
    grew = out.figures["peak_growth_mib"]
    assert grew > 400, grew  # 512 MiB of scores (float32 8192²) and its exp


def test_flash_memory_ballast_cannot_hide_the_nxn_matrix():
    out = verdict("flash_attention", ANSWERS / "flash_attention" / "wrong_naive_ballast.py", FLASH)
    assert out.status == "fail", out.message
    assert "whatever N is" in out.message or "MiB at N=8192" in out.message


def test_flash_memory_right_peak_but_rows_skipped_fails():
    """Only the rows a grader would print computed: the sum over all rows gives it away."""
    out = verdict("flash_attention", ANSWERS / "flash_attention" / "wrong_sample_rows_only.py", FLASH)
    assert out.status == "fail", out.message
    assert "every row of the output must be right" in out.message


# -- linear_attention: CPU-time growth and peak memory -------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        REFS / "linear_attention.py",
        ANSWERS / "linear_attention" / "ok_chunked.py",
        ANSWERS / "linear_attention" / "ok_loop_rnn.py",
    ],
    ids=lambda p: p.stem,
)
@pytest.mark.parametrize("test", [LINEAR_COST, LINEAR_COST_NC])
def test_linear_cost_passes_linear_answers(path, test):
    out = verdict("linear_attention", path, test)
    assert out.status == "pass", out.message
    assert "CPU time measured by the grader outside your process" in out.message


@pytest.mark.parametrize("stem", ["wrong_quadratic", "wrong_quadratic_chunked"])
def test_linear_cost_fails_quadratic_answers_even_unseen_by_counters(stem):
    out = verdict("linear_attention", ANSWERS / "linear_attention" / f"{stem}.py", LINEAR_COST)
    assert out.status == "fail", out.message
    assert "cost grows like N²" in out.message and "CPU time measured by the grader" in out.message


def test_linear_memory_passes_the_reference():
    out = verdict("linear_attention", REFS / "linear_attention.py", LINEAR_MEM)
    assert out.status == "pass", out.message


# -- kv_cache: decoding cost against the cached tokens ----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        REFS / "kv_cache.py",
        ANSWERS / "kv_cache" / "ok_einsum.py",
        ANSWERS / "kv_cache" / "ok_static_layers.py",
    ],
    ids=lambda p: p.stem,
)
def test_kv_decode_cost_passes_correct_caches(path):
    out = verdict("kv_cache", path, KV)
    assert out.status == "pass", out.message
    assert "CPU time measured by the grader outside your process" in out.message


@pytest.mark.parametrize("stem", ["wrong_reproject_flinear", "wrong_recompute"])
def test_kv_decode_cost_fails_reprojection_hooks_or_not(stem):
    out = verdict("kv_cache", ANSWERS / "kv_cache" / f"{stem}.py", KV)
    assert out.status == "fail", out.message
    assert "decoding cost grows with the cached tokens" in out.message


# -- rules that need no learner ---------------------------------------------------------------


def _fake(runs_usage, data=None, baseline=150.0):
    runs = [
        MeasuredRun(
            args={},
            data=data if data is not None else {},
            error=None,
            usage=Usage(peak_rss_mib=m, cpu_s=c, wall_s=c),
        )
        for m, c in runs_usage
    ]
    return ProbeResult(
        data=runs[-1].data if runs else None,
        runs=runs,
        baseline=Usage(baseline, 0.004, 0.01),
        import_only=Usage(baseline, 0.004, 0.01),
    )


@pytest.mark.parametrize(
    "exercise,test,n",
    [
        ("flash_attention", FLASH, 2),
        ("linear_attention", LINEAR_COST, 3),
        ("linear_attention", LINEAR_MEM, 2),
        ("kv_cache", KV, 4),
    ],
)
def test_zero_or_missing_measurements_are_never_a_pass(exercise, test, n):
    checks = importlib.import_module(f"studytool.grader.checks.{exercise}")
    tc = next(t for t in checks.TESTS if t.name.startswith(test))
    assert tc.judge(ProbeResult(data={})).status == "error"  # no runs at all
    assert tc.judge(_fake([(200.0, 0.1)] * (n - 1))).status == "error"  # one run missing
    assert tc.judge(_fake([(200.0, 0.0)] * n)).status == "error"  # zero CPU: not measured
    assert tc.judge(_fake([(0.0, 0.1)] * n)).status == "error"  # zero memory: not measured
