"""The grading client (core: never imports torch).

It starts the trusted grading service ``python -m studytool.grader.service`` as a subprocess and
talks JSON lines with it (docs/DESIGN.md). ``Grader`` keeps one service warm (the TUI, ``watch``);
``check_once`` is the cold path of ``studytool check``. Every attempt is stored with its code.

    with Grader() as g:
        result = g.check("sinusoidal_pe", path, on_test=print)

``isolation_report()`` asks a service which isolation is in force here (for ``studytool doctor``).
"""

from __future__ import annotations

import collections
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from studytool import protocol
from studytool.protocol import MAX_SOURCE, service_argv

__all__ = ["MAX_SOURCE", "GradingError", "Grader", "SourceTooLarge", "read_source", "isolation_report"]

TestEvent = Callable[[dict], None]
DEFAULT_TIMEOUT_S = 600.0  # the service enforces the real limits; this only guards a hung service


class GradingError(RuntimeError):
    """The grading service could not grade (it failed to start, crashed, or refused the request)."""


def service_command() -> list[str]:
    """The service's command line; the learner's data directory is hidden from its sandbox."""
    from studytool import locations

    try:
        hide = [str(locations.data_dir(create=False))]
    except OSError:
        hide = []
    return service_argv(sys.executable, hide)


class Grader:
    """A warm grading service. Thread-safe for one check at a time (calls are serialised)."""

    def __init__(
        self, timeout_s: float = DEFAULT_TIMEOUT_S, record: bool = True, env: dict[str, str] | None = None
    ) -> None:
        self.timeout_s = timeout_s
        self.env = env
        self.record = record
        self._proc: subprocess.Popen | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._lock = threading.Lock()
        self.last_output = ""

    # -- process ---------------------------------------------------------------------------
    def start(self) -> Grader:
        if self._proc is not None and self._proc.poll() is None:
            return self
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._proc = subprocess.Popen(
            service_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=env,
            close_fds=True,
        )
        self._lines = queue.Queue()
        proc = self._proc
        threading.Thread(target=self._pump, args=(proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=self._pump_err, args=(proc.stderr,), daemon=True).start()
        return self

    @staticmethod
    def _pump(stream, q: queue.Queue) -> None:
        try:
            for line in stream:
                q.put(line)
        except (OSError, ValueError):
            pass
        q.put(None)

    def _pump_err(self, stream) -> None:
        try:
            for line in stream:
                self._stderr.append(line.rstrip()[:500])
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write(json.dumps({"op": "shutdown"}) + "\n")
                proc.stdin.flush()
                proc.wait(timeout=5)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for f in (proc.stdin, proc.stdout, proc.stderr):
            try:
                if f is not None:
                    f.close()
            except (OSError, ValueError):
                pass

    def abort(self) -> None:
        """Stop the service at once (its sandbox dies with it)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self.close()

    def __enter__(self) -> Grader:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- protocol --------------------------------------------------------------------------
    def _send(self, obj: dict) -> None:
        self.start()
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(obj) + "\n")
            self._proc.stdin.flush()
        except (OSError, ValueError) as exc:
            self.close()
            raise GradingError(f"the grading service is not running ({exc})") from None

    def _next(self, deadline: float) -> dict:
        while True:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                self.close()
                raise GradingError("the grading service did not answer in time")
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                continue
            if line is None:
                tail = " | ".join(list(self._stderr)[-3:])
                self.close()
                raise GradingError(f"the grading service stopped{': ' + tail if tail else ''}")
            line = line.strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict):
                return ev

    def ping(self) -> None:
        with self._lock:
            self._send({"op": "ping"})
            ev = self._next(time.monotonic() + self.timeout_s)
            if ev.get("event") != "pong":
                raise GradingError(str(ev.get("message", ev)))

    def report(self) -> dict:
        with self._lock:
            self._send({"op": "report"})
            ev = self._next(time.monotonic() + self.timeout_s)
            if ev.get("event") != "report":
                raise GradingError(str(ev.get("message", ev)))
            return ev["report"]

    def check(
        self,
        exercise_id: str,
        file: str | os.PathLike | None = None,
        *,
        source: str | None = None,
        on_test: TestEvent | None = None,
        limits: dict | None = None,
        record: bool | None = None,
    ) -> dict:
        """Grade ``file`` (or ``source``); return the ``check --json`` object and store the attempt."""
        if source is None:
            if file is None:
                raise ValueError("give a file or a source")
            source = read_source(file)
        req: dict[str, Any] = {"op": "check", "exercise": exercise_id, "source": source}
        if file is not None:
            req["display"] = str(file)  # for messages only: the service grades ``source``
        if limits:
            req["limits"] = limits
        with self._lock:
            self._send(req)
            deadline = time.monotonic() + self.timeout_s
            while True:
                ev = self._next(deadline)
                kind = ev.get("event")
                if kind == "test":
                    if on_test is not None:
                        on_test({k: ev.get(k) for k in ("name", "status", "message")})
                elif kind == "done":
                    result = ev["result"]
                    self.last_output = str(ev.get("output") or "")
                    break
                elif kind == "error":
                    raise GradingError(str(ev.get("message", "grading failed")))
        if self.record if record is None else record:
            from studytool.store import Store

            with Store() as store:
                store.record_exercise_attempt(exercise_id, source, result)
        return result

    def cancel(self) -> None:
        """Stop a running check now, from any thread, without waiting: the service (and its
        sandbox) is killed, the waiting ``check`` raises GradingError, and the next call starts
        a fresh service. (Added for the app's esc; issue 11.)"""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.kill()
            except OSError:
                pass


class SourceTooLarge(GradingError, protocol.SourceTooLarge):
    """The learner's file is larger than the grader reads (checked before reading it)."""


def read_source(file: str | os.PathLike) -> str:
    """The file's text (:func:`studytool.protocol.read_source`, as a :class:`GradingError`)."""
    try:
        return protocol.read_source(file)
    except protocol.SourceTooLarge as exc:
        raise SourceTooLarge(str(exc)) from None


def check_once(
    exercise_id: str,
    file: str | os.PathLike | None = None,
    *,
    source: str | None = None,
    on_test: TestEvent | None = None,
    record: bool = True,
) -> dict:
    """The cold path: start a service, grade once, stop it."""
    with Grader(record=record) as g:
        return g.check(exercise_id, file, source=source, on_test=on_test)


def error_result(exercise_id: str, message: str, duration_s: float = 0.0) -> dict:
    """A ``check --json`` object for a grade that could not run at all."""
    return {
        "exercise": exercise_id,
        "status": "error",
        "passed": 0,
        "total": 1,
        "duration_s": round(duration_s, 4),
        "tests": [{"name": "grading", "status": "error", "message": message[:500]}],
    }


def isolation_report() -> dict:
    """Which isolation the grader uses here (starts a service: about one import of torch).

    Keys: ``mode`` ("bwrap" | "fallback"), ``uid`` (the uid learner code runs as),
    ``unprivileged``, ``nproc_binds``, ``pid_namespace``, ``network`` ("none" | "host"),
    ``filesystem``, ``notes`` (list of str), ``zygote`` (what the running sandbox reported),
    ``seccomp`` (bool: children are confined by the seccomp filter) and ``seccomp_note``, and
    ``ok`` (False when the sandbox could not start; ``error`` says why).
    """
    try:
        with Grader(timeout_s=120, record=False) as g:
            rep = g.report()
    except GradingError as exc:
        return {"ok": False, "mode": "unknown", "error": str(exc), "notes": []}
    z = rep.get("zygote") or {}
    rep["ok"] = "error" not in z
    if "error" in z:
        rep["error"] = z["error"]
    rep["summary"] = summarize(rep)
    return rep


def summarize(rep: dict) -> str:
    """One line for humans: which isolation is in force."""
    if not rep.get("ok", True):
        return f"sandbox NOT working: {rep.get('error', 'unknown error')}"
    parts = ["bubblewrap" if rep.get("mode") == "bwrap" else "fallback (rlimits + new session)"]
    parts.append(f"uid {rep.get('uid')}" + ("" if rep.get("unprivileged") else " (root!)"))
    if rep.get("pid_namespace"):
        parts.append("PID namespace")
    parts.append("no network" if rep.get("network") == "none" else "network reachable")
    parts.append(str(rep.get("filesystem", "")))
    parts.append("process limit binds" if rep.get("nproc_binds") else "process limit does not bind")
    if "seccomp" in rep:
        parts.append(
            "children non-dumpable and seccomp-filtered (no signals, ptrace or "
            "process_vm_* to other processes; measured runs cannot fork)"
            if rep["seccomp"]
            else f"NO seccomp filter ({rep.get('seccomp_note') or 'unavailable'}): a "
            "submission could signal the grader's processes, and property checks are "
            "measured without that protection"
        )
    text = ", ".join(p for p in parts if p)
    notes = rep.get("notes") or []
    return text + (" — " + "; ".join(notes) if notes else "")
