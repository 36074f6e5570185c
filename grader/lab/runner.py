"""The lab runner: runs one experiment inside the sandbox and reports plain numbers.

Started by studytool/lab.py through ``sandbox.build_command(..., module=RUNNER)``. Reads one JSON
request on stdin: the experiment id, its settings, the seed and each component's source text
(the reference, or the learner's code from a passing attempt — the references themselves are
hidden in here). Loads each component as its own module, runs the experiment and writes JSON
lines on its stdout: ``{"ev": "progress", "done", "total", "stage"}`` while it works, then
``{"ev": "result", "results": {...}, "env": {...}}`` or ``{"ev": "error", "message"}``.

It computes no verdict: the trusted side checks the numbers and decides. Learner code runs in
this process (and in the workers it forks), under the rlimits set here before it is loaded.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback
import types

from studytool.grader.zygote import _status_kib

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_OUT: int = 1


def set_pdeathsig() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0)


def emit(obj: dict) -> None:
    data = (json.dumps(obj, allow_nan=False, default=_jsonable) + "\n").encode()
    while data:
        n = os.write(_OUT, data)
        data = data[n:]


def _jsonable(x):
    try:
        return float(x)
    except Exception:  # noqa: BLE001
        return str(x)


class Progress:
    """Throttled progress lines (at most ~5 a second, and always the last one)."""

    def __init__(self, total: int) -> None:
        self.total = max(1, int(total))
        self.done = 0
        self._last = 0.0

    def add(self, n: int, stage: str = "", force: bool = False) -> None:
        self.done = min(self.total, self.done + n)
        self.set(self.done, stage, force)

    def set(self, done: int, stage: str = "", force: bool = False) -> None:
        self.done = min(self.total, int(done))
        now = time.monotonic()
        if force or now - self._last >= 0.2 or self.done >= self.total:
            self._last = now
            emit({"ev": "progress", "done": self.done, "total": self.total, "stage": stage})


def _set_limits(req: dict) -> None:
    mem = int(req.get("mem_bytes") or 1024**3)
    data_now = _status_kib("VmData") * 1024
    limits = [
        (resource.RLIMIT_DATA, (data_now + mem, data_now + mem)),
        (resource.RLIMIT_FSIZE, (1 << 20, 1 << 20)),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NOFILE, (256, 256)),
        (resource.RLIMIT_CPU, (1800, 1800)),  # the trusted side's wall clock is the real limit
    ]
    if os.getuid() != 0:
        limits.append((resource.RLIMIT_NPROC, (64, 64)))
    for which, value in limits:
        try:
            resource.setrlimit(which, value)
        except (ValueError, OSError):
            pass


def component_file(comp: str, spec: dict) -> str:
    origin = "yours" if spec.get("origin") == "yours" else "reference"
    return f"{origin}/{spec.get('exercise', comp)}.py"


def load_components(req: dict) -> dict[str, types.ModuleType]:
    import linecache

    mods = {}
    for comp, spec in (req.get("components") or {}).items():
        fname = component_file(comp, spec)
        source = str(spec["source"])
        linecache.cache[fname] = (len(source), None, source.splitlines(True), fname)
        mod = types.ModuleType(f"lab_{comp}")
        mod.__file__ = fname
        sys.modules[mod.__name__] = mod
        try:
            exec(compile(source, fname, "exec", dont_inherit=True), mod.__dict__)
        except BaseException as exc:  # noqa: BLE001
            raise ComponentError(comp, spec, exc) from None
        mods[comp] = mod
    return mods


class ComponentError(Exception):
    def __init__(self, comp: str, spec: dict, exc: BaseException) -> None:
        who = (
            f"your {spec.get('exercise', comp)} code (attempt #{spec.get('attempt')})"
            if spec.get("origin") == "yours"
            else f"the reference {spec.get('exercise', comp)}"
        )
        super().__init__(f"{who} failed to load: {type(exc).__name__}: {str(exc)[:300]}")


def describe(exc: BaseException) -> str:
    """A one-paragraph description naming the component file where the error was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    comp = [f for f in frames if f.filename.startswith(("yours/", "reference/"))]
    where = ""
    if comp:
        f = comp[-1]
        where = f" (in {f.filename}, line {f.lineno}, in {f.name})"
    text = f"{type(exc).__name__}: {str(exc)[:500]}{where}"
    if isinstance(exc, MemoryError) or "can't allocate memory" in str(exc):
        text = "the experiment ran out of its memory allowance: " + text
    return text


def _cpu_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 2)


def _worker_cpu() -> list[float]:
    from studytool.grader.lab import common

    return list(common.WORKER_CPU)


def main() -> None:
    global _OUT
    _OUT = os.dup(1)
    os.dup2(2, 1)  # stray prints go to stderr, never into the result channel
    set_pdeathsig()
    import torch

    torch.set_num_threads(1)  # before any op: forked workers of a threaded parent hang
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    try:
        req = json.loads(sys.stdin.buffer.read(64 * 1024 * 1024) or b"{}")
        exp_id = str(req["experiment"])
        if not exp_id.replace("_", "").isalnum():
            raise ValueError(f"bad experiment id {exp_id!r}")
        exp = importlib.import_module(f"studytool.grader.lab.{exp_id}")
        _set_limits(req)
        mods = load_components(req)
        results = exp.run(req["settings"], int(req.get("seed", 0)), mods)
        emit(
            {
                "ev": "result",
                "results": results,
                "env": {
                    "torch": torch.__version__,
                    "python": sys.version.split()[0],
                    "threads": torch.get_num_threads(),
                    "workers": int(req["settings"].get("workers", 1)),
                    "cpu_count": os.cpu_count() or 1,
                    "cpu_s": _cpu_s(),
                    "worker_cpu_s": _worker_cpu(),
                },
            }
        )
        code = 0
    except ComponentError as exc:
        emit({"ev": "error", "message": str(exc)})
        code = 1
    except BaseException as exc:  # noqa: BLE001
        try:
            emit({"ev": "error", "message": describe(exc)})
        except Exception:  # noqa: BLE001
            pass
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    # run the imported module's main, not this __main__ copy: the experiments import
    # studytool.grader.lab.runner, and its _OUT must be the result channel
    from studytool.grader.lab import runner as _runner

    _runner.main()
