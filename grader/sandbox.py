"""The live sandbox: start the zygote in isolation (with :mod:`.sandbox_plan`'s command), send it
grades, read its events, reap what it leaves.

The launch plan (isolation modes, limits, the bwrap command) is :mod:`studytool.grader.sandbox_plan`;
its names are re-exported here for the grader's own code.
"""

from __future__ import annotations

import collections
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .sandbox_plan import (  # noqa: F401 -- re-exported for the grader's modules and tests
    _BIND_IN_NS,
    _DROP,
    NOBODY,
    PACKAGE_ROOT,
    Limits,
    _bind_in_args,
    _bind_ins,
    _source_checkout,
    build_command,
    plan,
    popen_user,
    spawn,
)


class SandboxDied(Exception):
    pass


@dataclass
class Zygote:
    """A running zygote process and its pipes (trusted side)."""

    proc: subprocess.Popen
    scratch: str
    stderr_tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=50))
    info: dict = field(default_factory=dict)
    buf: Any = None

    def __post_init__(self) -> None:
        from . import wire

        self.buf = wire.FrameReader(max_frame=wire.MAX_RESULT + (4 << 20))
        self.pending: list[bytes] = []
        os.set_blocking(self.proc.stdout.fileno(), False)
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        try:
            for line in self.proc.stderr:
                self.stderr_tail.append(line.decode(errors="replace").rstrip()[:300])
        except (OSError, ValueError):
            pass

    def send(self, obj: Any) -> None:
        from . import wire

        try:
            self.proc.stdin.write(wire.frame(obj))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise SandboxDied(f"the sandbox is gone ({exc})") from None

    def recv(self, deadline: float) -> Any | None:
        """The next event (decoded outer frame), None on timeout; SandboxDied at EOF."""
        from . import wire

        fd = self.proc.stdout.fileno()
        while True:
            if self.pending:
                return wire.decode(self.pending.pop(0))
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                return None
            r, _, _ = select.select([fd], [], [], timeout)
            if not r:
                return None
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                raise SandboxDied("the sandbox process ended")
            self.buf.feed(chunk)
            self.pending.extend(self.buf.frames())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:  # noqa: BLE001
                pass
        if self.scratch != "/tmp":
            shutil.rmtree(self.scratch, ignore_errors=True)
        _LIVE.discard(self.proc.pid)
        reap_orphans(keep=_LIVE)


_SUBREAPER = [False]
_LIVE: set[int] = set()  # pids of the zygote processes we started and have not killed


def _become_subreaper() -> None:
    """Orphans of our sandbox (bwrap's PID-namespace init, when bwrap itself is killed) become our
    children instead of init's, so that we reap them: no defunct bwrap is left behind, even in a
    container whose init never reaps."""
    if _SUBREAPER[0]:
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        _SUBREAPER[0] = True
    except (OSError, AttributeError):
        pass


def _sandbox_children() -> list[tuple[int, str]]:
    """(pid, state) of our children that the sandbox started (bwrap, setpriv, unshare)."""
    me = os.getpid()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.find("(") + 1 : st.rfind(")")]
        rest = st[st.rfind(")") + 1 :].split()
        if len(rest) > 1 and rest[1] == str(me) and comm in ("bwrap", "setpriv", "unshare"):
            out.append((int(name), rest[0]))
    return out


def reap_orphans(timeout: float = 1.0, keep: set[int] | None = None) -> int:
    """Reap the sandbox processes that were re-parented to us (see _become_subreaper); wait up to
    ``timeout`` for dying ones. Returns how many were reaped."""
    reaped = 0
    end = time.monotonic() + timeout
    while True:
        kids = [(p, s) for p, s in _sandbox_children() if not keep or p not in keep]
        for pid, state in kids:
            if state in ("Z", "X"):
                try:
                    if os.waitpid(pid, os.WNOHANG)[0]:
                        reaped += 1
                except ChildProcessError:
                    pass
        if not kids or time.monotonic() > end:
            return reaped
        time.sleep(0.01)


def start_zygote(limits: Limits, hide: list[str] | None = None) -> Zygote:
    """Start a zygote (returns at once; it announces itself with a 'ready' event)."""
    p = plan()
    _become_subreaper()
    argv, env, scratch = build_command(p, limits, hide)
    proc = spawn(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd="/",
        start_new_session=True,
        close_fds=True,
        **popen_user(p),
    )
    _LIVE.add(proc.pid)
    return Zygote(proc, scratch)


def wait_ready(z: Zygote, timeout: float = 60.0) -> dict:
    try:
        ev = z.recv(time.monotonic() + timeout)
    except SandboxDied:
        ev = None
    if not isinstance(ev, dict) or ev.get("ev") != "ready":
        tail = " | ".join(list(z.stderr_tail)[-5:])
        z.kill()
        raise SandboxDied(f"the sandbox did not start: {tail or 'no output'}")
    z.info = ev
    return ev


def run_grade(
    z: Zygote, request: dict, backstop_s: float, first_s: float | None = None, step: Any = None
) -> Iterator[dict]:
    """Send one grade request; yield the zygote's 'test' events, then its 'done' event.

    Each event is due within ``step(previous event)`` seconds (the first within ``first_s``), and
    the whole grade within ``backstop_s``: a zygote that stops answering (stopped, hung) ends the
    grade at the test's own limit. Raises SandboxDied (after killing it) when the zygote dies or
    stops answering; the caller marks the tests it did not hear about.
    """
    z.send(request)
    end = time.monotonic() + backstop_s
    deadline = min(end, time.monotonic() + first_s) if first_s else end
    while True:
        try:
            ev = z.recv(deadline)
        except SandboxDied:
            z.kill()
            raise
        if ev is None:
            z.kill()
            raise SandboxDied("the sandbox stopped responding and was killed")
        if not isinstance(ev, dict):
            continue
        if step is not None:
            deadline = min(end, time.monotonic() + float(step(ev)))
        yield ev
        if ev.get("ev") == "done":
            return
