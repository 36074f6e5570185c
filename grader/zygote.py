"""The sandbox side: a torch-warm zygote that forks a fresh child per grade.

Started by ``grader/sandbox.py`` inside the sandbox (bubblewrap, or the rlimit fallback) as
``python -m studytool.grader.zygote``. It imports torch once (one thread, so forks never hang),
then reads grade requests as wire frames on stdin and writes events as wire frames on stdout.

Per grade it forks a child that sets its rlimits, imports the learner's source as module
``solution`` and runs the probes in order, sending each probe's plain data back over a pipe. The
zygote enforces the wall-clock limits, reads the child's stdout/stderr into a bounded buffer, and
kills everything left in the sandbox when the grade ends. It computes no verdict: the trusted
service does, from the data. A child that dies in a test is replaced by a fresh one for the next
test (after a time or output limit the rest of the tests are not run).
"""

from __future__ import annotations

import ctypes
import errno
import io
import linecache
import os
import resource
import select
import signal
import sys
import time
import traceback
import types

OUT_FD = 1
IN_FD = 0

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36

_libc = ctypes.CDLL(None, use_errno=True)
SOURCE_NAME = "solution.py"
OUTPUT_KEEP = 4000  # characters of learner output kept for display
GARBLED = {"kind": "no result",
           "message": "the program garbled the sandbox's result channel (it wrote to a file "
                      "descriptor it does not own)"}


def _prctl(option: int, value: int) -> None:
    _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------- child side


def _install_guards(forbidden: list[str]) -> None:
    import functools
    import importlib

    import torch  # noqa: F401

    from studytool.grader import sandbox_api

    for dotted in forbidden:
        parts = dotted.split(".")
        obj = None
        for cut in range(len(parts) - 1, 0, -1):
            try:
                owner = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            obj = owner
            for p in parts[cut:]:
                obj = getattr(obj, p, None)
            break
        if obj is None:
            continue
        name = dotted
        if isinstance(obj, type):
            class Guard(obj):  # type: ignore[misc, valid-type]
                def __init__(self, *a, **k):
                    sandbox_api.FORBIDDEN_HITS.append(name)
                    raise sandbox_api.ForbiddenCall(name)

            Guard.__name__ = Guard.__qualname__ = obj.__name__
            guard = Guard
        else:
            def guard(*a, _name=name, **k):
                sandbox_api.FORBIDDEN_HITS.append(_name)
                raise sandbox_api.ForbiddenCall(_name)

            try:
                functools.update_wrapper(guard, obj)
            except Exception:
                pass
        # replace the object wherever torch exposes it under its own name
        for modname in ("torch", "torch.nn", "torch.nn.functional", "torch._C._nn",
                        "torch.nn.modules", "torch.nn.modules.activation", ".".join(parts[:-1])):
            m = sys.modules.get(modname)
            if m is not None and getattr(m, parts[-1], None) is obj:
                try:
                    setattr(m, parts[-1], guard)
                except Exception:
                    pass


def _learner_traceback(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == SOURCE_NAME]
    lines = [f"  {SOURCE_NAME}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}"
             for f in frames[-5:]]
    return "\n".join(lines)[:1500]


def _classify(exc: BaseException) -> dict:
    from studytool.grader import sandbox_api

    msg = str(exc)[:1000]
    if isinstance(exc, sandbox_api.ForbiddenCall):
        return {"kind": "forbidden call", "message": msg}
    if isinstance(exc, MemoryError) or (
            isinstance(exc, RuntimeError) and "can't allocate memory" in msg):
        return {"kind": "memory limit",
                "message": "the program ran out of its memory allowance "
                           f"({type(exc).__name__}: {msg[:200]})"}
    if isinstance(exc, OSError) and exc.errno in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT):
        return {"kind": "file size limit",
                "message": f"writing a file hit the sandbox's disk limit ({msg[:200]})"}
    if isinstance(exc, BlockingIOError) or (isinstance(exc, OSError) and exc.errno == errno.EAGAIN
                                             and "fork" in "".join(traceback.format_tb(exc.__traceback__))):
        return {"kind": "process limit",
                "message": f"the program started too many processes ({msg[:200]})"}
    if isinstance(exc, SystemExit):
        return {"kind": "no result",
                "message": f"the program called sys.exit({exc.code!r}) — a test needs a returned value, "
                           "and exiting ends the test without one"}
    if isinstance(exc, KeyboardInterrupt):
        return {"kind": "no result", "message": "the program raised KeyboardInterrupt"}
    return {"kind": "exception", "type": type(exc).__name__, "message": msg,
            "traceback": _learner_traceback(exc)}


def _error_info(err) -> dict:
    """The child's description of an error as plain strings (the child is untrusted)."""
    if not isinstance(err, dict):
        return dict(GARBLED)
    out = {"kind": str(err.get("kind") or "crashed")[:40]}
    for key, limit in (("type", 100), ("message", 1000), ("traceback", 1500)):
        if err.get(key):
            out[key] = str(err[key])[:limit]
    return out


def _child_main(req: dict, start: int, res_w: int, out_w: int, scratch: str) -> None:
    """Runs in the forked child; never returns."""
    code = 70
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _prctl(PR_SET_DUMPABLE, 1)  # lets the child read/reset its own /proc memory counters
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.dup2(res_w, 3)
        os.closerange(4, 65536)
        res_fd = 3
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True,
                                      errors="replace")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True,
                                      errors="replace")
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        os.chdir(scratch)

        from studytool.grader import sandbox_api, wire

        tests = req["tests"]
        remaining = tests[start:]
        cpu = int(req.get("import_time_s", 5) + sum(t["time_s"] for t in remaining)) + 1
        mem = max([int(req["mem_bytes"])] + [int(t.get("mem_bytes") or 0) for t in remaining])
        limits = [
            (resource.RLIMIT_CPU, (cpu, cpu + 1)),
            (resource.RLIMIT_FSIZE, (int(req["fsize"]), int(req["fsize"]))),
            (resource.RLIMIT_CORE, (0, 0)),
            (resource.RLIMIT_NOFILE, (256, 256)),
        ]
        if os.getuid() != 0:
            limits.append((resource.RLIMIT_NPROC, (int(req["nproc"]), int(req["nproc"]))))
        data_now = _status_kib("VmData") * 1024
        limits.append((resource.RLIMIT_DATA, (data_now + mem, data_now + mem)))
        for which, value in limits:
            try:
                resource.setrlimit(which, value)
            except (ValueError, OSError):
                pass

        me = os.getpid()

        def send(obj) -> None:
            if os.getpid() == me:  # a process the learner forked must not talk for the child
                wire.write_frame(res_fd, obj)

        _install_guards(req.get("forbidden", []))
        import importlib

        probes = importlib.import_module(f"studytool.grader.probes.{req['exercise']}")
        reserve = bytearray(16 * 1024 * 1024)  # freed to report a MemoryError

        source = req["source"]
        linecache.cache[SOURCE_NAME] = (len(source), None, source.splitlines(True), SOURCE_NAME)
        mod = types.ModuleType("solution")
        mod.__file__ = SOURCE_NAME
        sys.modules["solution"] = mod
        try:
            compiled = compile(source, SOURCE_NAME, "exec", dont_inherit=True)
            exec(compiled, mod.__dict__)
        except BaseException as exc:  # noqa: BLE001 — everything becomes a reported error
            del reserve
            info = _classify(exc)
            if info["kind"] == "exception":
                info["message"] = f"while importing your file: {info['message']}"
            elif info["kind"] == "no result":
                info["message"] = "while importing your file, " + info["message"]
            send({"ev": "import_error", "error": info})
            code = 0
            raise SystemExit
        send({"ev": "imported"})
        for i in range(start, len(tests)):
            t = tests[i]
            send({"ev": "start", "i": i})
            sandbox_api.FORBIDDEN_HITS.clear()
            try:
                try:
                    soft = data_now + int(t.get("mem_bytes") or req["mem_bytes"])
                    resource.setrlimit(resource.RLIMIT_DATA, (soft, data_now + mem))
                except (ValueError, OSError):
                    pass
                fn = getattr(probes, t["probe"])
                data = fn(mod, **t["args"])
                if sandbox_api.FORBIDDEN_HITS:
                    raise sandbox_api.ForbiddenCall(sandbox_api.FORBIDDEN_HITS[0])
                payload = wire.encode(data)
                send({"ev": "result", "i": i, "payload": payload})
            except BaseException as exc:  # noqa: BLE001
                if isinstance(exc, MemoryError):
                    reserve = None  # noqa: F841
                if sandbox_api.FORBIDDEN_HITS and not isinstance(exc, sandbox_api.ForbiddenCall):
                    exc = sandbox_api.ForbiddenCall(sandbox_api.FORBIDDEN_HITS[0])
                info = _classify(exc)
                send({"ev": "error", "i": i, "error": info})
                if reserve is None:
                    reserve = bytearray(16 * 1024 * 1024)
        send({"ev": "finished"})
        code = 0
    except BaseException:  # noqa: BLE001
        pass
    finally:
        os._exit(code)


# ---------------------------------------------------------------------------- zygote side


class Zygote:
    def __init__(self) -> None:
        self.pidns = os.environ.get("STUDYTOOL_SANDBOX_PIDNS") == "1" and os.getpid() < 16
        self.scratch_root = os.environ.get("STUDYTOOL_SCRATCH") or "/tmp"
        self.grades = 0
        self.survivors = 0
        self.grade_id = None  # echoed in every event of a grade, so none is read as another's

    def send(self, obj) -> None:
        from studytool.grader import wire

        if self.grade_id is not None:
            obj = {**obj, "g": self.grade_id}
        wire.write_frame(OUT_FD, obj)

    # -- cleanup: nothing survives a grade -------------------------------------------------
    def _descendants(self) -> list[int]:
        me = os.getpid()
        parent: dict[int, int] = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as f:
                        stat = f.read()
                    parent[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
        out, frontier = [], {me}
        while frontier:
            nxt = {p for p, pp in parent.items() if pp in frontier and p != me}
            nxt -= set(out)
            out.extend(nxt)
            frontier = nxt
        return out

    def kill_all(self) -> int:
        """Kill every process of this grade (also setsid'd, double-forked ones). Returns how many."""
        killed = 0
        for _ in range(200):
            if self.pidns:
                try:
                    os.kill(-1, signal.SIGKILL)  # everything in this PID namespace but init and us
                except ProcessLookupError:
                    pass
                alive = [int(p) for p in os.listdir("/proc")
                         if p.isdigit() and int(p) not in (1, os.getpid())]
            else:
                alive = self._descendants()
                for pid in alive:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            while True:  # reap (orphans are reparented to us: we are a subreaper)
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                killed += 1
            if not alive:
                break
            time.sleep(0.002)
        return killed

    # -- one grade -------------------------------------------------------------------------
    def grade(self, req: dict) -> None:
        import shutil
        import tempfile

        self.grades += 1
        self.grade_id = req.get("g")
        scratch = tempfile.mkdtemp(prefix="grade-", dir=self.scratch_root)
        os.chmod(scratch, 0o700)
        tests = req["tests"]
        n = len(tests)
        output = bytearray()
        out_total = [0]
        stop_reason: str | None = None
        start = 0
        reported: set[int] = set()
        self.survivors = 0
        try:
            while start < n and stop_reason is None:
                try:
                    start, stop_reason = self._run_child(req, start, scratch, output, out_total,
                                                         reported)
                except Exception as exc:  # noqa: BLE001 — garbage from the child must not kill us
                    self.kill_all()
                    stop_reason = f"the sandbox could not read the program's results ({exc})"[:300]
            for i in range(n):
                if i not in reported:
                    self.send({"ev": "test", "i": i, "ok": False,
                               "error": {"kind": "not run",
                                         "message": f"not run: {stop_reason or 'no result'}"}})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            text = output.decode("utf-8", "replace")
            if out_total[0] > len(output):
                text += f"\n… ({out_total[0] - len(output)} more bytes cut)"
            self.send({"ev": "done", "output": text, "survivors": self.survivors})
            self.grade_id = None

    def _run_child(self, req, start, scratch, output, out_total, reported):
        """Run tests from ``start`` in a fresh child; return (next start, stop reason or None)."""
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(res_r)
            os.close(out_r)
            _child_main(req, start, res_w, out_w, scratch)
        os.close(res_w)
        os.close(out_w)
        os.set_blocking(res_r, False)
        os.set_blocking(out_r, False)
        from studytool.grader import wire

        reader = wire.FrameReader()
        tests = req["tests"]
        out_cap = int(req["output_bytes"])
        t0 = time.monotonic()
        deadline = t0 + float(req.get("import_time_s", 5))
        current: int | None = None  # test running now; None while importing
        imported = False
        finished = False
        verdict: dict | None = None  # set when we stop the child for a limit
        next_start = len(tests)
        stop_reason = None
        fds = [res_r, out_r]
        test_t0 = t0

        def report(i, ok, **kw):
            if "error" in kw:
                kw["error"] = _error_info(kw["error"])
            reported.add(i)
            self.send({"ev": "test", "i": i, "ok": ok, "wall": time.monotonic() - test_t0, **kw})

        try:
            while fds and verdict is None:
                timeout = max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select(fds, [], [], timeout)
                if not ready:
                    what = f"test took longer than {tests[current]['time_s']:g} s" if current is not None \
                        else f"importing the file took longer than {req.get('import_time_s', 5):g} s"
                    verdict = {"kind": "time limit",
                               "message": f"{what} of wall-clock time (an endless loop, a sleep, "
                                          "or too much work) and was stopped"}
                    break
                if out_r in ready:
                    try:
                        chunk = os.read(out_r, 65536)
                    except BlockingIOError:
                        chunk = None
                    if chunk == b"":
                        fds.remove(out_r)
                    elif chunk:
                        out_total[0] += len(chunk)
                        if len(output) < OUTPUT_KEEP:
                            output += chunk[: OUTPUT_KEEP - len(output)]
                        if out_total[0] > out_cap:
                            verdict = {"kind": "output limit",
                                       "message": f"the program wrote more than {out_cap} bytes to "
                                                  "stdout/stderr and was stopped"}
                            break
                if res_r in ready:
                    try:
                        chunk = os.read(res_r, 1 << 20)
                    except BlockingIOError:
                        chunk = None
                    if chunk == b"":
                        fds.remove(res_r)
                        break
                    if chunk:
                        reader.feed(chunk)
                        try:
                            frames = [wire.decode(raw) for raw in reader.frames()]
                        except wire.WireError:
                            verdict = dict(GARBLED)
                            break
                        for msg in frames:
                            ev = msg.get("ev") if isinstance(msg, dict) else None
                            if ev == "imported":
                                imported = True
                            elif ev == "import_error":
                                imported = True
                                for i in range(start, len(tests)):
                                    report(i, False, error=msg["error"])
                                finished = True
                            elif ev == "start":
                                # tests start in order, each once: a program that writes its own
                                # "start" frames cannot restart a test's wall clock
                                expected = max(reported) + 1 if reported else start
                                if current is not None or msg.get("i") != expected \
                                        or expected >= len(tests):
                                    verdict = dict(GARBLED)
                                    break
                                current = expected
                                test_t0 = time.monotonic()
                                deadline = test_t0 + float(tests[current]["time_s"])
                            elif ev == "result" and current is not None and msg.get("i") == current:
                                report(current, True, payload=msg["payload"])
                                current = None
                            elif ev == "error" and current is not None and msg.get("i") == current:
                                report(current, False, error=msg["error"])
                                current = None
                            elif ev == "finished":
                                finished = True
                        if finished:
                            break
        finally:
            if verdict is not None or not finished:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            # wait for the child itself, briefly (it has finished or was killed)
            status, rusage = 0, None
            end = time.monotonic() + 2.0
            while True:
                try:
                    wpid, status, rusage = os.wait4(pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if wpid:
                    break
                if time.monotonic() > end:
                    os.kill(pid, signal.SIGKILL)
                    end += 2.0
                time.sleep(0.002)
            self.survivors += self.kill_all()
            os.close(res_r)
            os.close(out_r)

        if finished and verdict is None:
            return len(tests), None
        if verdict is None:
            verdict = self._death_verdict(status, rusage, req, imported)
        if current is None and not imported:
            # died while importing: the same cause for every remaining test
            for i in range(start, len(tests)):
                report(i, False, error=verdict)
            return len(tests), None
        if current is None:
            # died between tests: charge it to the next test not yet reported
            current = max(reported) + 1 if reported else start
            if current >= len(tests):
                return len(tests), None
        report(current, False, error=verdict)
        next_start = current + 1
        if verdict["kind"] in ("time limit", "output limit"):
            stop_reason = f"an earlier test hit the {verdict['kind']}"
        return next_start, stop_reason

    def _death_verdict(self, status, rusage, req, imported) -> dict:
        mem_mib = int(req["mem_bytes"]) // (1024 * 1024)
        maxrss = (rusage.ru_maxrss * 1024) if rusage else 0
        cpu = (rusage.ru_utime + rusage.ru_stime) if rusage else 0.0
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= self._cpu_limit(req) - 0.5):
                return {"kind": "time limit",
                        "message": f"the program used its CPU-time allowance ({cpu:.1f} s) and was stopped"}
            if sig == signal.SIGXFSZ:
                return {"kind": "file size limit",
                        "message": "the program wrote a file larger than the sandbox allows"}
            if sig == signal.SIGSEGV:
                return {"kind": "crashed",
                        "message": "the program crashed with a segmentation fault (SIGSEGV) — e.g. "
                                   "a stack overflow from very deep recursion, or ctypes"}
            return {"kind": "crashed", "message": f"the program was killed by signal {name}"}
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        if maxrss and mem_mib and maxrss > 0.9 * (int(req["mem_bytes"])):
            return {"kind": "memory limit",
                    "message": f"the program exceeded its memory allowance of {mem_mib} MiB"}
        return {"kind": "no result",
                "message": f"the program exited (exit code {code}) before returning a result — "
                           "exiting (sys.exit, os._exit) ends a test without a value, so it cannot pass"}

    @staticmethod
    def _cpu_limit(req) -> float:
        return float(req.get("import_time_s", 5) + sum(t["time_s"] for t in req["tests"])) + 1


def main() -> None:
    global OUT_FD, IN_FD
    # our protocol runs on private copies of stdin/stdout; fd 1 goes to stderr so stray prints
    # (from torch, say) cannot corrupt it
    IN_FD = os.dup(0)
    OUT_FD = os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    import torch

    torch.set_num_threads(1)  # before any op: a forked child of a multi-threaded parent hangs
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    from studytool.grader import sandbox_api, wire  # noqa: F401  (warm imports)
    import torch.utils.flop_counter  # noqa: F401

    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(PR_SET_DUMPABLE, 0)  # a child running as the same uid cannot ptrace us
    z = Zygote()
    z.send({"ev": "ready", "pid": os.getpid(), "uid": os.getuid(), "pidns": z.pidns,
            "net": _has_network()})
    while True:
        try:
            req = wire.read_frame(IN_FD)
        except wire.WireError:
            break
        if req is None or req.get("op") == "exit":
            break
        if req.get("op") == "ping":
            z.send({"ev": "pong"})
        elif req.get("op") == "grade":
            z.grade(req)
    z.kill_all()
    os._exit(0)  # skip interpreter teardown (torch's takes a noticeable fraction of a second)


def _has_network() -> bool:
    """True when a non-loopback interface is up (i.e. the network is not unshared)."""
    try:
        with open("/proc/net/dev") as f:
            names = [line.split(":")[0].strip() for line in f.readlines()[2:]]
        return any(n != "lo" for n in names)
    except OSError:
        return True


if __name__ == "__main__":
    main()
