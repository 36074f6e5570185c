"""The grading engine (trusted side): run an exercise's TESTS in the sandbox and judge the data.

``Engine.check(exercise, source, on_event=None, limits=None) -> result`` where ``result`` is the
``check --json`` object. The engine keeps one warm zygote (``sandbox.Zygote``) and restarts it
when a submission kills it. Verdicts are computed here, never in the sandbox: each probe's data
comes back through ``wire`` as plain tensors and numbers, and every test must get its own result —
a test the sandbox does not answer is an error ("no result"), never a pass.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studytool.i18n.catalog import render
from studytool.protocol import MAX_SOURCE

from . import sandbox
from .spec import MESSAGE_CAP, MeasuredRun, Outcome, ProbeError, ProbeResult, TestCase, Text, Usage, cap

SCAN_NODES = 200_000  # the forbidden-name scan gives up (with a named verdict) beyond this
Event = Callable[[dict], None]


class UnknownExercise(LookupError):
    pass


class ScanTooDeep(ValueError):
    """The source is too large or too deeply nested for the forbidden-name scan."""


def exercises_root() -> Path:
    """The exercises' data package (exercise.yaml, starters): data, found like any package data."""
    from importlib import resources

    return Path(str(resources.files("studytool.exercise_data")))


def _extra_root() -> Path | None:
    """Tests only: ``STUDYTOOL_GRADER_EXTRA_EXERCISES`` names a directory of extra exercises, each
    ``<id>/exercise.yaml``, ``<id>/checks.py`` (TESTS) and ``<id>/probes.py`` (sent as the probe
    module). Never set in normal use."""
    import os

    extra = os.environ.get("STUDYTOOL_GRADER_EXTRA_EXERCISES")
    return Path(extra) if extra else None


def _exercise_dir(exercise_id: str) -> Path:
    if not exercise_id.replace("_", "").isalnum():
        raise UnknownExercise(exercise_id)
    extra = _extra_root()
    if extra is not None and (extra / exercise_id / "exercise.yaml").is_file():
        return extra / exercise_id
    return exercises_root() / exercise_id


def exercise_meta(exercise_id: str) -> dict:
    import yaml

    path = _exercise_dir(exercise_id) / "exercise.yaml"
    if not path.is_file():
        raise UnknownExercise(exercise_id)
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _extra_module(exercise_id: str, kind: str):
    extra = _extra_root()
    path = extra / exercise_id / f"{kind}.py" if extra is not None else None
    return path if path is not None and path.is_file() else None


def load_tests(exercise_id: str) -> list[TestCase]:
    path = _extra_module(exercise_id, "checks")
    if path is not None:
        spec = importlib.util.spec_from_file_location(f"_extra_checks_{exercise_id}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return list(mod.TESTS)
    mod = importlib.import_module(f"studytool.grader.checks.{exercise_id}")
    return list(mod.TESTS)


def probe_sources(exercise_id: str) -> dict[str, str]:
    """The probe package's sources, sent with each grade: the probe files are not in the sandbox."""
    out: dict[str, str] = {}
    pkg = Path(__file__).resolve().parent / "probes"
    for f in sorted(pkg.glob("*.py")):
        name = "studytool.grader.probes" + ("" if f.stem == "__init__" else "." + f.stem)
        out[name] = f.read_text(encoding="utf-8")
    path = _extra_module(exercise_id, "probes")
    if path is not None:
        out[f"studytool.grader.probes.{exercise_id}"] = path.read_text(encoding="utf-8")
    out.setdefault("studytool.grader.probes", "")
    return out


def forbidden_uses(source: str, forbidden: list[str]) -> list[tuple[str, int]]:
    """(dotted name, line) for each use of a forbidden name in the source (AST scan).

    Catches attribute access (``F.scaled_dot_product_attention``), bare names, imports and the
    name as a string (``getattr(F, "scaled_dot_product_attention")``). Unparsable source gives
    no hits (the import in the sandbox reports the SyntaxError).
    """
    if not forbidden:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    except (RecursionError, MemoryError):
        raise ScanTooDeep("the file nests expressions too deeply for the grader to read") from None
    last = {name.rsplit(".", 1)[-1]: name for name in forbidden}
    hits: list[tuple[str, int]] = []
    for count, node in enumerate(ast.walk(tree)):
        if count > SCAN_NODES:
            raise ScanTooDeep(f"the file has more than {SCAN_NODES} syntax nodes")
        found = None
        if isinstance(node, ast.Attribute) and node.attr in last:
            found = node.attr
        elif isinstance(node, ast.Name) and node.id in last:
            found = node.id
        elif isinstance(node, ast.alias) and node.name.rsplit(".", 1)[-1] in last:
            found = node.name.rsplit(".", 1)[-1]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in last:
            found = node.value
        if found:
            hits.append((last[found], getattr(node, "lineno", 0)))
    return sorted(set(hits), key=lambda h: h[1])


def _describe_error(err: ProbeError) -> str:
    if err.kind == "exception":
        text = f"{err.type}: {err.message}"
        if err.traceback:
            text += "\n" + err.traceback
        return cap(text)
    if err.kind == "not run":
        return cap(err.message or "not run")
    return cap(f"{err.kind}: {err.message}" if err.message else err.kind)


# kinds of error a measured test's judge sees itself (e.g. "memory limit at N=8192: an N×N matrix
# is formed"); every other error is reported by the engine without calling the judge
MEASURED_JUDGED = ("memory limit", "time limit", "result too large")


def judge_one(tc: TestCase, pr: ProbeResult) -> Outcome:
    judged = tc.expect_error and pr.error is not None and pr.error.kind == "exception"
    if tc.runs and pr.error is not None and pr.error.kind in MEASURED_JUDGED and pr.runs:
        judged = True
    if pr.error is not None and not judged:
        status = "fail" if pr.error.kind == "forbidden call" else "error"
        return Outcome(status, _describe_error(pr.error))
    try:
        out = tc.judge(pr)
    except Exception as exc:  # noqa: BLE001 — a judge that cannot read the data is no pass
        return Outcome.errored(
            f"the grader could not judge this result ({type(exc).__name__}: {exc}) — "
            "check the types your function returns"
        )
    if not isinstance(out, Outcome):
        return Outcome.errored("the grader's judge returned no verdict")
    return out


def _error_of(e: Any) -> ProbeError:
    e = e if isinstance(e, dict) else {}
    return ProbeError(
        str(e.get("kind") or "crashed"),
        type=str(e.get("type") or ""),
        message=str(e.get("message") or ""),
        traceback=str(e.get("traceback") or ""),
        phase=str(e.get("phase") or ""),
    )


def _data_of(payload: Any) -> tuple[dict | None, ProbeError | None]:
    from . import wire

    try:
        data = wire.decode(payload)
    except (wire.WireError, KeyError, TypeError) as exc:
        return None, ProbeError("no result", message=f"the result could not be read ({exc})")
    if not isinstance(data, dict):
        return None, ProbeError("no result", message="the probe returned no data")
    return data, None


def _usage(u: Any) -> Usage:
    """A zygote-measured usage record (it comes from the zygote, not from the learner's process)."""
    if not isinstance(u, dict):
        raise ValueError("no usage")
    return Usage(peak_rss_mib=float(u["peak_rss_mib"]), cpu_s=float(u["cpu_s"]), wall_s=float(u["wall_s"]))


def _measured_result(tc: TestCase, m: Any) -> ProbeResult:
    try:
        baseline, import_only = _usage(m["baseline"]), _usage(m["import_only"])
        raw_runs = list(m["runs"])
    except (KeyError, TypeError, ValueError):
        return ProbeResult(
            error=ProbeError(
                "grader error",
                message="the grader did not get the measurements of this test — "
                "this is not your code's fault",
            )
        )
    runs: list[MeasuredRun] = []
    entries = list(tc.runs or [])
    for r in raw_runs:
        k = r.get("entry") if isinstance(r, dict) else None
        if not isinstance(k, int) or not 0 <= k < len(entries):
            continue
        try:
            usage = _usage(r.get("usage"))
        except (KeyError, TypeError, ValueError):
            usage = Usage(0.0, 0.0, 0.0)
        if r.get("ok"):
            data, err = _data_of(r.get("payload"))
        else:
            data, err = None, _error_of(r.get("error"))
        runs.append(MeasuredRun(args={**tc.args, **entries[k]}, data=data, error=err, usage=usage))
    first_error = next((r.error for r in runs if r.error is not None), None)
    if not runs:
        first_error = ProbeError("no result", message="no measured run returned")
    return ProbeResult(
        data=runs[-1].data if runs else None,
        error=first_error,
        runs=runs,
        baseline=baseline,
        import_only=import_only,
    )


def _probe_result(ev: dict, tc: TestCase | None = None) -> ProbeResult:
    """A zygote 'test' event as a ProbeResult. Its payload was written by the learner's process,
    so anything that cannot be read is "no result", never a pass."""
    if ev.get("ok"):
        if tc is not None and tc.runs:
            return _measured_result(tc, ev.get("measured"))
        data, err = _data_of(ev.get("payload"))
        return ProbeResult(data=data, error=err)
    return ProbeResult(error=_error_of(ev.get("error")))


class Engine:
    def __init__(
        self, limits: sandbox.Limits | None = None, start: bool = True, hide: list[str] | None = None
    ) -> None:
        self.limits = limits or sandbox.Limits()
        self.hide = list(hide or [])  # host paths the sandbox must not show (the caller's data dir)
        self.zygote: sandbox.Zygote | None = None
        self.restarts = 0
        self.grades = 0
        if start:
            self.start()

    # -- zygote management ---------------------------------------------------------------
    def start(self) -> None:
        if self.zygote is None or not self.zygote.alive():
            self.zygote = sandbox.start_zygote(self.limits, self.hide)

    def ready(self, timeout: float = 60.0) -> dict:
        self.start()
        assert self.zygote is not None
        if not self.zygote.info:
            try:
                sandbox.wait_ready(self.zygote, timeout)
            except sandbox.SandboxDied:
                self.zygote = None
                raise
        return self.zygote.info

    def close(self) -> None:
        if self.zygote is not None:
            try:
                if self.zygote.alive():
                    self.zygote.send({"op": "exit"})
                    self.zygote.proc.wait(timeout=2)
            except Exception:  # noqa: BLE001
                pass
            self.zygote.kill()
            self.zygote = None

    def report(self) -> dict:
        p = dict(sandbox.plan())
        try:
            info = self.ready()
            p["zygote"] = {
                "uid": info.get("uid"),
                "pid_namespace": info.get("pidns"),
                "network_visible": info.get("net"),
            }
            p["seccomp"] = bool(info.get("seccomp"))
            p["seccomp_note"] = str(info.get("seccomp_note") or "")
        except sandbox.SandboxDied as exc:
            p["zygote"] = {"error": str(exc)}
        return p

    # -- grading ---------------------------------------------------------------------------
    def check(
        self,
        exercise_id: str,
        source: str,
        on_event: Event | None = None,
        limits: dict | None = None,
        display: str | None = None,
    ) -> dict:
        t0 = time.monotonic()
        emit = on_event or (lambda ev: None)
        meta = exercise_meta(exercise_id)
        tests = load_tests(exercise_id)
        lim = sandbox.Limits.from_dict({**vars(self.limits), **(limits or {})})
        rows: list[dict] = []
        figures: dict[str, Any] = {}

        def add(name: Text, out: Outcome) -> None:
            # English for now; the bilingual result (name/message per language, test ids) follows
            row = {
                "name": render(name, "en"),
                "status": out.status,
                "message": cap(render(out.message, "en"), MESSAGE_CAP),
            }
            rows.append(row)
            if out.figures:
                figures[row["name"]] = out.figures
            emit({"event": "test", **row})

        from . import forbid

        forbidden = list(meta.get("forbidden") or [])
        ops = forbid.ops_for(meta)
        output = ""
        if len(source) > MAX_SOURCE or len(source.encode("utf-8", "replace")) > MAX_SOURCE:
            # before any parsing: a huge file costs the grader nothing
            add(
                "your file is graded",
                Outcome.errored(
                    f"the file is larger than {MAX_SOURCE // (1024 * 1024)} MiB and was not read"
                ),
            )
        else:
            scan_problem = None
            try:  # guards the nesting depth only: the verdict comes from the operators that run
                forbidden_uses(source, forbidden)
            except ScanTooDeep as exc:
                scan_problem = str(exc)
            if scan_problem is not None:
                add(
                    "your file can be read",
                    Outcome.errored(
                        f"{scan_problem} (e.g. thousands of chained attributes or operators), so it "
                        "was not run"
                    ),
                )
            else:
                hit_rows: list[str] = []
                output = self._run(exercise_id, source, tests, ops, lim, add, display, hit_rows)
                if ops:
                    name = (
                        "uses none of " + forbid.FAMILY_LABEL + " (aten::scaled_dot_product_attention "
                        "and its backends)"
                    )
                    if hit_rows:
                        add(name, Outcome.failed(hit_rows[0]))
                    else:
                        add(name, Outcome.passed())

        passed = sum(r["status"] == "pass" for r in rows)
        total = len(rows)
        if passed == total:
            status = "pass"
        elif all(r["status"] == "error" for r in rows if r["status"] != "pass") and passed == 0:
            status = "error"
        else:
            status = "fail"
        result = {
            "exercise": exercise_id,
            "status": status,
            "passed": passed,
            "total": total,
            "duration_s": round(time.monotonic() - t0, 4),
            "tests": rows,
        }
        if figures:
            result["figures"] = figures
        self.last_output = output
        return result

    def _request(
        self,
        exercise_id: str,
        source: str,
        tests: list[TestCase],
        ops: list[str],
        lim: sandbox.Limits,
        display: str | None,
    ) -> dict:
        from . import wire

        def entry(tc: TestCase) -> dict:
            t = {
                "probe": tc.probe,
                "args": dict(tc.args),
                "time_s": float(tc.time_limit_s or lim.time_s),
                "mem_bytes": int(tc.memory_limit_mb * 1024 * 1024) if tc.memory_limit_mb else 0,
            }
            if tc.runs:
                t["runs"] = [dict(r) for r in tc.runs]
            return t

        return {
            "op": "grade",
            "exercise": exercise_id,
            "source": source,
            "forbidden_ops": ops,
            "display": display or "solution.py",
            "probe_sources": probe_sources(exercise_id),
            "import_time_s": lim.import_time_s,
            "mem_bytes": lim.mem_bytes,
            "fsize": lim.fsize,
            "output_bytes": lim.output_bytes,
            "nproc": lim.nproc,
            "result_bytes": min(lim.result_bytes, wire.MAX_RESULT),
            "tests": [entry(tc) for tc in tests],
        }

    @staticmethod
    def _budgets(request: dict) -> list[float]:
        """Seconds the zygote may take, at most, to answer each test (its children's own limits:
        a fresh import and the test's limit per child, per measured run, plus the two reference
        children of a measured grade). The grade ends at these, never at a generous backstop."""
        imp = float(request["import_time_s"])
        out = []
        refs_left = True
        for t in request["tests"]:
            runs = t.get("runs")
            if runs:
                b = len(runs) * (imp + t["time_s"] + 0.5)
                if refs_left:
                    b += 2 * imp + 1.0
                    refs_left = False
            else:
                b = imp + t["time_s"] + 0.5
            out.append(b + 3.0)  # fork, kill, reap and the pipe
        return out

    def _run(
        self,
        exercise_id: str,
        source: str,
        tests: list[TestCase],
        ops: list[str],
        lim: sandbox.Limits,
        add: Callable[[Text, Outcome], None],
        display: str | None,
        hit_rows: list[str],
    ) -> str:
        request = self._request(exercise_id, source, tests, ops, lim, display)
        budgets = self._budgets(request)
        backstop = sum(budgets) + 10.0
        self.grades += 1
        request["g"] = self.grades  # the zygote echoes it: events of another grade are never read
        got: dict[int, ProbeResult] = {}
        next_i = 0
        output = ""
        survivors = 0
        import_reported = [False]
        last_tick: list[Any] = [None]

        def flush_ready() -> None:
            nonlocal next_i
            while next_i in got:
                tc = tests[next_i]
                pr = got[next_i]
                if pr.error is not None and pr.error.phase == "import":
                    if import_reported[0]:
                        add(tc.name, Outcome.errored("not run: your file did not import (see above)"))
                    else:
                        import_reported[0] = True
                        add(tc.name, Outcome.errored(_describe_error(pr.error)))
                else:
                    if pr.error is not None and pr.error.kind == "forbidden call":
                        hit_rows.append(pr.error.message)
                    for run in pr.runs or []:
                        if run.error is not None and run.error.kind == "forbidden call":
                            hit_rows.append(run.error.message)
                    add(tc.name, judge_one(tc, pr))
                next_i += 1

        per_child = [float(request["import_time_s"]) + t["time_s"] + 3.5 for t in request["tests"]]

        def step(ev: dict) -> float:
            """Seconds until the next event is due: after a measured child ends ("tick"), one more
            child of that test; after a test, the next test's budget."""
            if isinstance(ev, dict) and ev.get("ev") == "tick":
                i = ev.get("i")
                if isinstance(i, int) and 0 <= i < len(per_child):
                    return per_child[i]
                return float(request["import_time_s"]) + 3.5
            i = ev.get("i") if isinstance(ev, dict) and ev.get("ev") == "test" else -1
            nxt = i + 1 if isinstance(i, int) else 0
            return budgets[nxt] if 0 <= nxt < len(budgets) else 5.0

        try:
            try:
                self.ready()
            except sandbox.SandboxDied as exc:
                for i in range(len(tests)):
                    got[i] = ProbeResult(error=ProbeError("sandbox error", message=str(exc)))
                raise
            assert self.zygote is not None
            try:
                first = budgets[0] if budgets else 5.0
                for ev in sandbox.run_grade(self.zygote, request, backstop, first_s=first, step=step):
                    if ev.get("g") != request["g"]:
                        continue
                    kind = ev.get("ev")
                    if kind == "tick":
                        last_tick[0] = ev.get("i")
                    elif kind == "test":
                        i = ev.get("i")
                        if not isinstance(i, int) or not 0 <= i < len(tests) or i in got:
                            continue
                        got[i] = _probe_result(ev, tests[i])
                        flush_ready()
                    elif kind == "setup_error":
                        msg = str(ev.get("message") or "")[:300]
                        for k in range(len(tests)):
                            if k not in got:
                                got[k] = ProbeResult(
                                    error=ProbeError(
                                        "grader error",
                                        message=f"the grader failed to set up this grade ({msg}); this is "
                                        "the grader's own error, not your code's — its sandbox "
                                        "worker was restarted; check again",
                                    )
                                )
                        self.zygote.kill()
                        raise sandbox.SandboxDied("setup error")
                    elif kind == "done":
                        output = str(ev.get("output", ""))
                        survivors = int(ev.get("survivors") or 0)
                        break
            except sandbox.SandboxDied:
                raise
            except Exception as exc:  # noqa: BLE001 — an unreadable event: this sandbox is done
                self.zygote.kill()
                raise sandbox.SandboxDied(
                    f"it sent a message the grader could not read ({type(exc).__name__})"
                ) from None
        except sandbox.SandboxDied as exc:
            self.restarts += 1
            self.zygote = None
            first = True
            for i in range(len(tests)):
                if i in got:
                    continue
                if first and "stopped responding" in str(exc):
                    lim_s = per_child[i] if tests[i].runs else budgets[i]
                    got[i] = ProbeResult(
                        error=ProbeError(
                            "time limit",
                            message=f"this test did not finish within its limit ({lim_s:.0f} s "
                            "including a fresh import of your file): the sandbox was stopped and restarted",
                        )
                    )
                    first = False
                elif first and "could not read" in str(exc):
                    got[i] = ProbeResult(
                        error=ProbeError(
                            "no result",
                            message=f"the sandbox {exc} — the program wrote to the "
                            "sandbox's result channel itself; it was stopped",
                        )
                    )
                    first = False
                elif first:
                    got[i] = ProbeResult(
                        error=ProbeError(
                            "crashed",
                            message=f"the sandbox worker running this test ended ({exc}); it was restarted",
                        )
                    )
                    first = False
                else:
                    got[i] = ProbeResult(
                        error=ProbeError(
                            "not run", message="not run: the sandbox worker ended during an earlier test"
                        )
                    )
            try:
                self.start()  # warm up a fresh one for the next grade
            except Exception:  # noqa: BLE001
                pass
        # every test must have its own result
        for i in range(len(tests)):
            if i not in got:
                got[i] = ProbeResult(
                    error=ProbeError("no result", message="the sandbox returned no result for this test")
                )
        flush_ready()
        if survivors:
            add(
                "leaves no process running",
                Outcome.failed(
                    f"process limit: your program left {survivors} process(es) running after the tests; "
                    "the sandbox killed them — do not start background processes"
                ),
            )
        return output
