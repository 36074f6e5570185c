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
import stat
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
GARBLED = {
    "kind": "no result",
    "message": "the program garbled the sandbox's result channel (it wrote to a file "
    "descriptor it does not own)",
}


def _prctl(option: int, value: int) -> None:
    _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------- child side


class _SourceFinder:
    """Serves the probe modules from sources sent by the trusted service (the probe files are not
    in the sandbox). Installed only while the child imports its probe, before the learner's file."""

    def __init__(self, sources: dict) -> None:
        self.sources = sources

    def find_spec(self, name, path=None, target=None):
        import importlib.util

        if name not in self.sources:
            return None
        is_pkg = not name.rsplit(".", 1)[-1] or name.endswith(".probes")
        return importlib.util.spec_from_loader(name, self, is_package=is_pkg)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        src = self.sources[module.__name__]
        code = compile(src, f"<grader probe {module.__name__}>", "exec", dont_inherit=True)
        exec(code, module.__dict__)


def _load_probes(req: dict):
    """The exercise's probe module, imported before the learner's file and then dropped from
    sys.modules (and made unimportable): learner code finds no module to import or patch by name."""
    import importlib

    name = f"studytool.grader.probes.{req['exercise']}"
    sources = req.get("probe_sources")
    if not sources:
        return importlib.import_module(name)
    finder = _SourceFinder({str(k): str(v) for k, v in sources.items()})
    for key in [
        k for k in sys.modules if k == "studytool.grader.probes" or k.startswith("studytool.grader.probes.")
    ]:
        del sys.modules[key]
    sys.meta_path.insert(0, finder)
    try:
        mod = importlib.import_module(name)
    finally:
        sys.meta_path.remove(finder)
        for key in [
            k
            for k in sys.modules
            if k == "studytool.grader.probes" or k.startswith("studytool.grader.probes.")
        ]:
            del sys.modules[key]
        pkg = sys.modules.get("studytool.grader")
        if pkg is not None and "probes" in vars(pkg):
            delattr(pkg, "probes")
    return mod


MADV_POPULATE_READ = 22


def _populate_file_mappings() -> None:
    """Map every page of the read-only file mappings (libtorch's code, Python's) into this child's
    page tables now. A fork does not copy them, so otherwise whichever kernels the learner's code
    happens to touch would add 15-30 MiB of shared code pages to its measured peak RSS. Done in
    every measured child (baseline included) at the same point, before anything of the learner's:
    the difference between two measured children is then the memory the code allocated."""
    madvise = _libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    try:
        with open("/proc/self/maps") as f:
            lines = f.readlines()
    except OSError:
        return
    for line in lines:
        parts = line.split()
        if (
            len(parts) < 6
            or not parts[5].startswith("/")
            or parts[5].startswith("/dev/")
            or "w" in parts[1]
            or "r" not in parts[1]
            or line.rstrip().endswith("(deleted)")
        ):
            continue
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        madvise(lo, hi - lo, MADV_POPULATE_READ)


def _display_name(req: dict) -> str:
    name = str(req.get("display") or SOURCE_NAME)
    name = "".join(ch for ch in name if ch.isprintable())[:300]
    return name or SOURCE_NAME


def _learner_traceback(exc: BaseException, display: str) -> str:
    """The learner's frames, and the frames of any library they called below them."""
    frames = traceback.extract_tb(exc.__traceback__)
    first = next((k for k, f in enumerate(frames) if f.filename == display), None)
    if first is None:
        return ""
    frames = frames[first:]
    if len(frames) > 8:
        frames = frames[:3] + frames[-5:]
    lines = []
    for f in frames:
        lines.append(f'  File "{f.filename}", line {f.lineno}, in {f.name}')
        if f.line:
            lines.append(f"    {f.line.strip()}")
    return "\n".join(lines)[-1500:]


def _syntax_message(exc: SyntaxError, display: str) -> str:
    line = exc.lineno or 0
    text = (exc.text or "").rstrip("\n")
    out = f"{display}:{line}: {type(exc).__name__}: {exc.msg}"
    if text.strip():
        stripped = text.lstrip()
        indent = len(text) - len(stripped)
        out += f"\n    {stripped[:200]}"
        if exc.offset and exc.offset - indent >= 1:
            out += "\n    " + " " * min(exc.offset - 1 - indent, 200) + "^"
    return out


def _classify(exc: BaseException, display: str = SOURCE_NAME) -> dict:
    from studytool.grader import sandbox_api, wire

    msg = str(exc)[:1000]
    if isinstance(exc, sandbox_api.ForbiddenCall):
        return {"kind": "forbidden call", "message": msg}
    if isinstance(exc, wire.ResultTooLarge):
        return {"kind": "result too large", "message": msg}
    if isinstance(exc, SyntaxError):
        return {"kind": "syntax error", "message": _syntax_message(exc, display)}
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and "can't allocate memory" in msg):
        return {
            "kind": "memory limit",
            "message": f"the program ran out of its memory allowance ({type(exc).__name__}: {msg[:200]})",
        }
    if isinstance(exc, OSError) and exc.errno in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT):
        return {
            "kind": "file size limit",
            "message": f"writing a file hit the sandbox's disk limit ({msg[:200]})",
        }
    if isinstance(exc, BlockingIOError) or (
        isinstance(exc, OSError)
        and exc.errno == errno.EAGAIN
        and "fork" in "".join(traceback.format_tb(exc.__traceback__))
    ):
        return {"kind": "process limit", "message": f"the program started too many processes ({msg[:200]})"}
    if isinstance(exc, SystemExit):
        return {
            "kind": "no result",
            "message": f"the program called sys.exit({exc.code!r}) — a test needs a returned value, "
            "and exiting ends the test without one",
        }
    if isinstance(exc, KeyboardInterrupt):
        return {"kind": "no result", "message": "the program raised KeyboardInterrupt"}
    return {
        "kind": "exception",
        "type": type(exc).__name__,
        "message": msg,
        "traceback": _learner_traceback(exc, display),
    }


def _error_info(err) -> dict:
    """The child's description of an error as plain strings (the child is untrusted)."""
    if not isinstance(err, dict):
        return dict(GARBLED)
    out = {"kind": str(err.get("kind") or "crashed")[:40]}
    for key, limit in (("type", 100), ("message", 1000), ("traceback", 1500), ("phase", 20)):
        if err.get(key):
            out[key] = str(err[key])[:limit]
    return out


def _child_main(req: dict, job: dict, res_w: int, out_w: int, scratch: str, confined: bool) -> None:
    """Runs in the forked child; never returns.

    ``job``: ``{"kind": "tests", "todo": [i, ...]}`` runs those tests in order;
    ``{"kind": "run", "todo": [i], "extra": {...}}`` one measured run of test i with extra args;
    ``{"kind": "baseline"}`` the trusted reference (imports nothing of the learner's);
    ``{"kind": "import_only"}`` imports the learner's file and exits.
    """
    code = 70
    res_fd = 3
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.dup2(res_w, 3)
        os.closerange(4, 65536)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True, errors="replace")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True, errors="replace")
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        os.chdir(scratch)

        from studytool.grader import confine, forbid, wire

        kind = job["kind"]
        # before anything of the learner's runs: non-dumpable (its /proc files are root's, so no
        # clear_refs), and a seccomp filter (no signals, ptrace or process_vm_* aimed at others;
        # in measured runs no new processes either)
        if confined:
            try:
                confine.confine(allow_fork=kind == "tests")
            except OSError as exc:
                wire.write_frame(
                    res_fd, {"ev": "grader_error", "message": f"could not confine the child: {exc}"}
                )
                code = 71
                raise SystemExit from None
        else:
            _prctl(PR_SET_DUMPABLE, 0)
        if kind != "tests":
            _populate_file_mappings()

        tests = req["tests"]
        todo = [int(i) for i in job.get("todo") or []]
        cpu = int(req.get("import_time_s", 5) + sum(tests[i]["time_s"] for i in todo)) + 1
        mem = max([int(req["mem_bytes"])] + [int(tests[i].get("mem_bytes") or 0) for i in todo])
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

        probes = _load_probes(req)
        reserve = bytearray(16 * 1024 * 1024)  # freed to report a MemoryError
        if kind == "baseline":
            send({"ev": "finished"})
            code = 0
            raise SystemExit

        display = _display_name(req)
        ops = [str(o) for o in req.get("forbidden_ops") or []]
        if ops:  # from here on, the fused operators the exercise forbids are refused
            forbid.install(ops, str(req["exercise"]), display, res_fd)
        source = req["source"]
        linecache.cache[display] = (len(source), None, source.splitlines(True), display)
        mod = types.ModuleType("solution")
        mod.__file__ = display
        sys.modules["solution"] = mod
        try:
            compiled = compile(source, display, "exec", dont_inherit=True)
            exec(compiled, mod.__dict__)
        except BaseException as exc:  # noqa: BLE001 — everything becomes a reported error
            del reserve
            info = _classify(exc, display)
            if info["kind"] == "exception":
                info["message"] = f"while importing your file: {info['message']}"
            elif info["kind"] == "no result":
                info["message"] = "while importing your file, " + info["message"]
            info["phase"] = "import"
            send({"ev": "import_error", "error": info})
            code = 0
            raise SystemExit from None
        send({"ev": "imported"})
        if kind == "import_only":
            send({"ev": "finished"})
            code = 0
            raise SystemExit
        extra = job.get("extra") or {}
        for i in todo:
            t = tests[i]
            send({"ev": "start", "i": i})
            try:
                try:
                    soft = data_now + int(t.get("mem_bytes") or req["mem_bytes"])
                    resource.setrlimit(resource.RLIMIT_DATA, (soft, data_now + mem))
                except (ValueError, OSError):
                    pass
                fn = getattr(probes, t["probe"])
                data = fn(mod, **{**t["args"], **extra})
                payload = wire.encode(data, limit=int(req.get("result_bytes") or wire.MAX_RESULT))
                send({"ev": "result", "i": i, "payload": payload})
            except BaseException as exc:  # noqa: BLE001
                if isinstance(exc, MemoryError):
                    reserve = None  # noqa: F841
                info = _classify(exc, display)
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


class GradeSetupError(Exception):
    """The zygote could not prepare a grade: the grader's own failure, never the submission's."""


def _mount_points() -> list[str]:
    try:
        with open("/proc/self/mountinfo") as f:
            return [line.split()[4].replace("\\040", " ") for line in f]
    except OSError:
        return []


class Zygote:
    def __init__(self) -> None:
        self.pidns = os.environ.get("STUDYTOOL_SANDBOX_PIDNS") == "1" and os.getpid() < 16
        self.scratch_root = os.environ.get("STUDYTOOL_SCRATCH") or "/tmp"
        root = self.scratch_root.rstrip("/") or "/"
        # what bwrap mounted under the scratch root (a venv or checkout under /tmp): kept, with the
        # directories on the way to it; everything else there is the previous grade's and goes
        self.keep = {m for m in _mount_points() if m != root and m.startswith(root + "/")}
        self.grades = 0
        self.survivors = 0
        self.grade_id = None  # echoed in every event of a grade, so none is read as another's
        self.confined = False
        self.confine_note = ""

    def send(self, obj) -> None:
        from studytool.grader import wire

        if self.grade_id is not None:
            obj = {**obj, "g": self.grade_id}
        wire.write_frame(OUT_FD, obj)

    # -- scratch: each grade starts from a clean one -----------------------------------------
    def _wipe(self, path: str) -> None:
        import shutil

        for name in os.listdir(path):
            full = os.path.join(path, name)
            if full in self.keep:
                continue
            if any(k.startswith(full + "/") for k in self.keep):
                self._wipe(full)
                continue
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                self._open_up(full)
                shutil.rmtree(full, ignore_errors=True)
                if os.path.lexists(full):
                    raise OSError(f"could not remove {full}")
            else:
                os.unlink(full)

    @staticmethod
    def _open_up(top: str) -> None:
        """chmod 0700 every directory under ``top`` (the learner's, so ours too), iteratively."""
        stack = [top]
        while stack:
            d = stack.pop()
            try:
                os.chmod(d, 0o700)
                with os.scandir(d) as it:
                    for e in it:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
            except OSError:
                continue

    def fresh_scratch(self) -> str:
        """Empty the scratch root (what an earlier grade left, or pre-created) and make this
        grade's directory. Any failure is a GradeSetupError."""
        try:
            if os.environ.get("STUDYTOOL_TEST_FAIL_SETUP") == str(self.grades):  # tests only
                raise OSError("failure injected by STUDYTOOL_TEST_FAIL_SETUP")
            try:  # the root itself may have been made unwritable by the last grade
                os.chmod(self.scratch_root, 0o1777 if self.scratch_root == "/tmp" else 0o700)
            except OSError:
                pass
            self._wipe(self.scratch_root)
            scratch = os.path.join(self.scratch_root, f"grade-{self.grades}")
            os.mkdir(scratch, 0o700)
            return scratch
        except Exception as exc:  # noqa: BLE001
            raise GradeSetupError(
                f"preparing the grade's scratch directory failed: {type(exc).__name__}: {exc}"[:300]
            ) from None

    # -- cleanup: nothing survives a grade -------------------------------------------------
    def _descendants(self) -> list[int]:
        me = os.getpid()
        parent: dict[int, int] = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as f:
                        st = f.read()
                    parent[int(name)] = int(st.rsplit(")", 1)[1].split()[1])
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
                alive = [
                    int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())
                ]
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
        self.grades += 1
        self.grade_id = req.get("g")
        self.kill_all()
        scratch = self.fresh_scratch()  # GradeSetupError goes to main(): reported, then we exit
        tests = req["tests"]
        n = len(tests)
        output = bytearray()
        out_total = [0]
        stop_reason: str | None = None
        reported: set[int] = set()
        self.survivors = 0
        ctx = {
            "req": req,
            "scratch": scratch,
            "output": output,
            "out_total": out_total,
            "import_error": None,
            "refs": {},
        }

        def report(i, ok, wall=0.0, **kw):
            if "error" in kw:
                kw["error"] = _error_info(kw["error"])
            reported.add(i)
            self.send({"ev": "test", "i": i, "ok": ok, "wall": wall, **kw})

        try:
            i = 0
            while i < n and stop_reason is None and ctx["import_error"] is None:
                if tests[i].get("runs"):
                    stop_reason = self._measured(ctx, i, report)
                    i += 1
                    continue
                todo = []
                while i < n and not tests[i].get("runs"):
                    todo.append(i)
                    i += 1
                while todo and stop_reason is None and ctx["import_error"] is None:
                    try:
                        res = self._run_child(ctx, {"kind": "tests", "todo": todo}, report)
                    except Exception as exc:  # noqa: BLE001 — garbage from the child must not kill us
                        self.kill_all()
                        stop_reason = f"the sandbox could not read the program's results ({exc})"[:300]
                        break
                    todo, stop_reason = res["todo"], res["stop"]
            imp = ctx["import_error"]
            for k in range(n):
                if k in reported:
                    continue
                if imp is not None and not ctx.get("import_reported"):
                    report(k, False, error=imp)
                    ctx["import_reported"] = True
                elif imp is not None:
                    report(
                        k,
                        False,
                        error={
                            "kind": "not run",
                            "phase": "import",
                            "message": "not run: your file did not import",
                        },
                    )
                else:
                    report(
                        k,
                        False,
                        error={"kind": "not run", "message": f"not run: {stop_reason or 'no result'}"},
                    )
        finally:
            text = output.decode("utf-8", "replace")
            if out_total[0] > len(output):
                text += f"\n… ({out_total[0] - len(output)} more bytes cut)"
            self.send({"ev": "done", "output": text, "survivors": self.survivors})
            self.grade_id = None

    def _import_failed(self, ctx, todo, report, error) -> None:
        """The learner's file did not import: say so once, on the first test not yet reported."""
        error = {**_error_info(error), "phase": "import"}
        ctx["import_error"] = error
        if todo:
            report(todo[0], False, error=error)
            ctx["import_reported"] = True

    def _reference(self, ctx, kind: str, report) -> dict | None:
        """Usage of a baseline or import-only child (once per grade)."""
        if kind not in ctx["refs"]:
            res = self._run_child(ctx, {"kind": kind}, report)
            ctx["refs"][kind] = res
            self.send({"ev": "tick", "i": ctx.get("measuring", -1)})
        return ctx["refs"][kind]

    def _measured(self, ctx, i: int, report) -> str | None:
        """A measured test: one fresh, confined child per entry of ``runs``; usage from wait4."""
        t = ctx["req"]["tests"][i]
        ctx["measuring"] = i
        base = self._reference(ctx, "baseline", report)
        if base.get("failed"):
            report(
                i,
                False,
                error={
                    "kind": "grader error",
                    "message": "the grader's own reference child failed "
                    f"({base['failed']}) — this is not your code's fault",
                },
            )
            return None
        imp = self._reference(ctx, "import_only", report)
        if ctx["import_error"] is not None or imp.get("failed"):
            if ctx["import_error"] is None:
                self._import_failed(
                    ctx,
                    [i],
                    report,
                    imp.get("failed_error")
                    or {"kind": "no result", "message": "importing your file did not finish"},
                )
            return None
        runs: list[dict] = []
        stop = None
        for k, entry in enumerate(t["runs"]):
            got: dict = {}

            def collect(j, ok, wall=0.0, got=got, **kw):
                got.update(ok=ok, **kw)

            rss_base = int((base.get("usage") or {}).get("peak_rss_mib", 0) * 2**20)
            res = self._run_child(
                ctx, {"kind": "run", "todo": [i], "extra": entry, "rss_base": rss_base}, collect
            )
            if ctx["import_error"] is not None:
                return None
            self.send({"ev": "tick", "i": i})  # each child's end: the service's clock restarts
            run = {"entry": k, "ok": bool(got.get("ok")), "usage": res["usage"]}
            cap_left = int(ctx["req"].get("result_bytes") or (64 << 20)) - sum(
                len(r.get("payload") or b"") for r in runs
            )
            if got.get("ok") and len(got.get("payload") or b"") > cap_left:
                run["ok"] = False
                run["error"] = {
                    "kind": "result too large",
                    "message": "the results of this test's runs together are larger than the grader accepts",
                }
            elif got.get("ok"):
                run["payload"] = got.get("payload")
            else:
                run["error"] = _error_info(got.get("error") or {"kind": "no result", "message": "no result"})
            runs.append(run)
            stop = res["stop"]
            if not run["ok"]:
                break
        report(i, True, measured={"runs": runs, "baseline": base["usage"], "import_only": imp["usage"]})
        return stop

    def _run_child(self, ctx, job, report) -> dict:
        """Run ``job`` in a fresh child. Returns {"todo": tests still to run, "stop": reason or
        None, "usage": the child's rusage, "failed": why a reference child failed}."""
        req, scratch, output, out_total = ctx["req"], ctx["scratch"], ctx["output"], ctx["out_total"]
        todo = list(job.get("todo") or [])
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        t_fork = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(res_r)
            os.close(out_r)
            _child_main(req, job, res_w, out_w, scratch, self.confined)
        os.close(res_w)
        os.close(out_w)
        os.set_blocking(res_r, False)
        os.set_blocking(out_r, False)
        from studytool.grader import forbid, wire

        result_cap = int(req.get("result_bytes") or wire.MAX_RESULT)
        reader = wire.FrameReader(max_frame=result_cap + (1 << 20))
        tests = req["tests"]
        out_cap = int(req["output_bytes"])
        t0 = time.monotonic()
        deadline = t0 + float(req.get("import_time_s", 5))
        current: int | None = None  # test running now; None while importing
        pos = 0  # index into todo of the next test to start
        imported = job["kind"] == "baseline"
        finished = False
        verdict: dict | None = None  # set when we stop the child for a limit
        forbidden: str | None = None
        grader_error: str | None = None
        fds = [res_r, out_r]
        test_t0 = t0
        out: dict = {"todo": [], "stop": None, "usage": None}

        def done(i, ok, **kw):
            report(i, ok, wall=time.monotonic() - test_t0, **kw)

        try:
            while fds and verdict is None:
                timeout = max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select(fds, [], [], timeout)
                if not ready:
                    limit = req.get("import_time_s", 5)
                    what = (
                        f"test took longer than its limit of {tests[current]['time_s']:g} s"
                        if current is not None
                        else f"importing your file took longer than the limit of {limit:g} s"
                    )
                    verdict = {
                        "kind": "time limit",
                        "message": f"{what} of wall-clock time (an endless loop, a sleep, "
                        "or too much work) and was stopped",
                    }
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
                            verdict = {
                                "kind": "output limit",
                                "message": f"the program wrote more than {out_cap} bytes to "
                                "stdout/stderr and was stopped",
                            }
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
                        except wire.FrameTooLarge:
                            verdict = {
                                "kind": "result too large",
                                "message": "the program sent a result larger than the "
                                f"grader accepts ({result_cap / 2**20:.0f} MiB)",
                            }
                            break
                        except wire.WireError:
                            verdict = dict(GARBLED)
                            break
                        for msg in frames:
                            ev = msg.get("ev") if isinstance(msg, dict) else None
                            if ev == "imported":
                                imported = True
                            elif ev == "grader_error" and not imported:
                                grader_error = str(msg.get("message"))[:300]
                            elif ev == "forbidden":
                                forbidden = str(msg.get("message") or "")[:600] or forbidden
                            elif ev == "import_error" and not imported:
                                imported = True
                                err = msg.get("error")
                                if job["kind"] == "import_only":
                                    out["failed"] = "import"
                                    out["failed_error"] = err
                                self._import_failed(ctx, todo, report, err)
                                finished = True
                            elif ev == "start":
                                # tests start in order, each once: a program that writes its own
                                # "start" frames cannot restart a test's wall clock
                                if current is not None or pos >= len(todo) or msg.get("i") != todo[pos]:
                                    verdict = dict(GARBLED)
                                    break
                                current = todo[pos]
                                pos += 1
                                test_t0 = time.monotonic()
                                deadline = test_t0 + float(tests[current]["time_s"])
                            elif (
                                ev in ("result", "error") and current is not None and msg.get("i") == current
                            ):
                                if forbidden:
                                    done(
                                        current, False, error={"kind": "forbidden call", "message": forbidden}
                                    )
                                elif ev == "result":
                                    done(current, True, payload=msg["payload"])
                                else:
                                    done(current, False, error=msg["error"])
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
                time.sleep(0.001)
            wall = time.monotonic() - t_fork
            if rusage is not None:
                out["usage"] = {
                    "peak_rss_mib": rusage.ru_maxrss / 1024.0,
                    "cpu_s": rusage.ru_utime + rusage.ru_stime,
                    "wall_s": wall,
                }
            self.survivors += self.kill_all()
            os.close(res_r)
            os.close(out_r)

        if job["kind"] == "baseline":
            if not finished or verdict is not None:
                out["failed"] = grader_error or (verdict or {}).get("message") or "it did not finish"
            return out
        if grader_error is not None:
            verdict = {
                "kind": "grader error",
                "message": f"the grader could not prepare the sandbox child ({grader_error}) "
                "— this is not your code's fault",
            }
        if finished and verdict is None:
            if job["kind"] == "import_only" and not imported:
                out["failed"] = "import"
            return out
        if verdict is None:
            verdict = self._death_verdict(status, rusage, req, imported, job)
            if verdict.get("forbidden") or forbidden:
                verdict = {
                    "kind": "forbidden call",
                    "message": forbidden
                    or f"your code ran an operator this exercise forbids ({forbid.FAMILY_LABEL})",
                }
        if current is None and not imported:
            # died while importing: one import failure for the whole grade
            if job["kind"] == "import_only":
                out["failed"] = "import"
                out["failed_error"] = verdict
            self._import_failed(ctx, todo[pos:], report, verdict)
            return out
        if job["kind"] == "import_only":
            return out
        if current is None:
            # died between tests: charge it to the next test not yet started
            if pos >= len(todo):
                return out
            current = todo[pos]
            pos += 1
        done(current, False, error=verdict)
        out["todo"] = todo[pos:]
        if verdict["kind"] in ("time limit", "output limit"):
            out["stop"] = f"an earlier test hit the {verdict['kind']}"
        return out

    def _death_verdict(self, status, rusage, req, imported, job) -> dict:
        from studytool.grader import forbid

        mem_mib = int(req["mem_bytes"]) // (1024 * 1024)
        maxrss = (rusage.ru_maxrss * 1024) if rusage else 0
        cpu = (rusage.ru_utime + rusage.ru_stime) if rusage else 0.0
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= self._cpu_limit(req, job) - 0.5):
                return {
                    "kind": "time limit",
                    "message": f"the program used its CPU-time allowance ({cpu:.1f} s) and was stopped",
                }
            if sig == signal.SIGXFSZ:
                return {
                    "kind": "file size limit",
                    "message": "the program wrote a file larger than the sandbox allows",
                }
            if sig == signal.SIGSEGV:
                return {
                    "kind": "crashed",
                    "message": "the program crashed with a segmentation fault (SIGSEGV) — e.g. "
                    "a stack overflow from very deep recursion, or ctypes",
                }
            if sig == signal.SIGSYS:
                return {
                    "kind": "crashed",
                    "message": "the program made a system call the sandbox does not allow",
                }
            return {"kind": "crashed", "message": f"the program was killed by signal {name}"}
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        if code == forbid.EXIT_FORBIDDEN:
            return {"kind": "forbidden call", "forbidden": True, "message": ""}
        if job["kind"] != "tests":  # measured children map all code pages: count above them
            maxrss -= int(job.get("rss_base") or maxrss)
        if maxrss and mem_mib and maxrss > 0.9 * (int(req["mem_bytes"])):
            return {
                "kind": "memory limit",
                "message": f"the program exceeded its memory allowance of {mem_mib} MiB",
            }
        return {
            "kind": "no result",
            "message": f"the program exited (exit code {code}) before returning a result — "
            "exiting (sys.exit, os._exit) ends a test without a value, so it cannot pass",
        }

    @staticmethod
    def _cpu_limit(req, job) -> float:
        todo = job.get("todo") or []
        return float(req.get("import_time_s", 5) + sum(req["tests"][i]["time_s"] for i in todo)) + 1


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
    import torch.utils.flop_counter  # noqa: F401
    from studytool.grader import sandbox_api, wire  # noqa: F401  (warm imports)

    # run the common ops once (one thread: forks stay safe), so their one-time set-up (allocator
    # pools, kernels' buffers: ~30 MiB) is the zygote's, shared by every child, and not counted
    # against a learner's first call in a measured run
    a = torch.randn(256, 64, dtype=torch.float32)
    w = (a @ a.T / 8.0).masked_fill(torch.ones(256, 256, dtype=torch.bool).triu(1), float("-inf"))
    (w.softmax(-1) @ a).exp().sum().item()
    torch.einsum("nd,ne->de", a, a).cumsum(0).double().float()
    del a, w

    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(PR_SET_DUMPABLE, 0)  # a child running as the same uid cannot ptrace us
    from studytool.grader import confine, forbid  # noqa: F401

    z = Zygote()
    if os.environ.get("STUDYTOOL_NO_SECCOMP") == "1":  # tests only: shows what the filter stops
        z.confined, z.confine_note = False, "disabled by STUDYTOOL_NO_SECCOMP=1"
    else:
        z.confined, z.confine_note = confine.available()
    z.send(
        {
            "ev": "ready",
            "pid": os.getpid(),
            "uid": os.getuid(),
            "pidns": z.pidns,
            "net": _has_network(),
            "seccomp": z.confined,
            "seccomp_note": z.confine_note,
        }
    )
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
            try:
                z.grade(req)
            except GradeSetupError as exc:
                # the grader's own failure: say so, and end this worker (the service starts a
                # fresh one, so the next submission is graded normally)
                z.send({"ev": "setup_error", "message": str(exc)})
                break
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
