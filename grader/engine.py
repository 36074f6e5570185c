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
import time
from pathlib import Path
from typing import Any, Callable

from . import sandbox
from .spec import MESSAGE_CAP, Outcome, ProbeError, ProbeResult, TestCase, cap

MAX_SOURCE = 1024 * 1024
Event = Callable[[dict], None]


class UnknownExercise(LookupError):
    pass


def exercises_root() -> Path:
    from studytool import locations

    return locations.exercises_dir()


def exercise_meta(exercise_id: str) -> dict:
    import yaml

    path = exercises_root() / exercise_id / "exercise.yaml"
    if not exercise_id.replace("_", "").isalnum() or not path.is_file():
        raise UnknownExercise(exercise_id)
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def load_tests(exercise_id: str) -> list[TestCase]:
    mod = importlib.import_module(f"studytool.grader.checks.{exercise_id}")
    return list(mod.TESTS)


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
    last = {name.rsplit(".", 1)[-1]: name for name in forbidden}
    hits: list[tuple[str, int]] = []
    for node in ast.walk(tree):
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


def judge_one(tc: TestCase, pr: ProbeResult) -> Outcome:
    if pr.error is not None and (pr.error.kind != "exception" or not tc.expect_error):
        status = "fail" if pr.error.kind == "forbidden call" else "error"
        return Outcome(status, _describe_error(pr.error))
    try:
        out = tc.judge(pr)
    except Exception as exc:  # noqa: BLE001 — a judge that cannot read the data is no pass
        return Outcome.errored(
            f"the grader could not judge this result ({type(exc).__name__}: {exc}) — "
            "check the types your function returns")
    if not isinstance(out, Outcome):
        return Outcome.errored("the grader's judge returned no verdict")
    return out


def _probe_result(ev: dict) -> ProbeResult:
    """A zygote 'test' event as a ProbeResult. Its payload was written by the learner's process,
    so anything that cannot be read is "no result", never a pass."""
    from . import wire

    if ev.get("ok"):
        try:
            data = wire.decode(ev["payload"])
        except (wire.WireError, KeyError, TypeError) as exc:
            return ProbeResult(error=ProbeError(
                "no result", message=f"the result could not be read ({exc})"))
        if not isinstance(data, dict):
            return ProbeResult(error=ProbeError("no result", message="the probe returned no data"))
        return ProbeResult(data=data)
    e = ev.get("error")
    e = e if isinstance(e, dict) else {}
    return ProbeResult(error=ProbeError(
        str(e.get("kind") or "crashed"), type=str(e.get("type") or ""),
        message=str(e.get("message") or ""), traceback=str(e.get("traceback") or "")))


class Engine:
    def __init__(self, limits: sandbox.Limits | None = None, start: bool = True) -> None:
        self.limits = limits or sandbox.Limits()
        self.zygote: sandbox.Zygote | None = None
        self.restarts = 0
        self.grades = 0
        if start:
            self.start()

    # -- zygote management ---------------------------------------------------------------
    def _hide(self) -> list[str]:
        try:
            from studytool import locations

            return [str(locations.data_dir(create=False))]
        except Exception:  # noqa: BLE001
            return []

    def start(self) -> None:
        if self.zygote is None or not self.zygote.alive():
            self.zygote = sandbox.start_zygote(self.limits, self._hide())

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
            p["zygote"] = {"uid": info.get("uid"), "pid_namespace": info.get("pidns"),
                           "network_visible": info.get("net")}
        except sandbox.SandboxDied as exc:
            p["zygote"] = {"error": str(exc)}
        return p

    # -- grading ---------------------------------------------------------------------------
    def check(self, exercise_id: str, source: str, on_event: Event | None = None,
              limits: dict | None = None) -> dict:
        t0 = time.monotonic()
        emit = on_event or (lambda ev: None)
        meta = exercise_meta(exercise_id)
        tests = load_tests(exercise_id)
        lim = sandbox.Limits.from_dict({**vars(self.limits), **(limits or {})})
        rows: list[dict] = []
        figures: dict[str, Any] = {}

        def add(name: str, out: Outcome) -> None:
            row = {"name": name, "status": out.status, "message": cap(out.message, MESSAGE_CAP)}
            rows.append(row)
            if out.figures:
                figures[name] = out.figures
            emit({"event": "test", **row})

        forbidden = list(meta.get("forbidden") or [])
        if forbidden:
            hits = forbidden_uses(source, forbidden)
            name = "uses no forbidden call (" + ", ".join(n.rsplit(".", 1)[-1] for n in forbidden) + ")"
            if hits:
                used, line = hits[0]
                add(name, Outcome.failed(
                    f"forbidden call: {used} is used on line {line} — this exercise asks you to "
                    "build it from basic tensor operations"))
            else:
                add(name, Outcome.passed())

        output = ""
        if len(source.encode("utf-8", "replace")) > MAX_SOURCE:
            for tc in tests:
                add(tc.name, Outcome.errored("the file is larger than 1 MiB and was not run"))
        else:
            output = self._run(exercise_id, source, tests, forbidden, lim, add)

        passed = sum(r["status"] == "pass" for r in rows)
        total = len(rows)
        if passed == total:
            status = "pass"
        elif all(r["status"] == "error" for r in rows if r["status"] != "pass") and passed == 0:
            status = "error"
        else:
            status = "fail"
        result = {"exercise": exercise_id, "status": status, "passed": passed, "total": total,
                  "duration_s": round(time.monotonic() - t0, 4), "tests": rows}
        if figures:
            result["figures"] = figures
        self.last_output = output
        return result

    def _run(self, exercise_id: str, source: str, tests: list[TestCase], forbidden: list[str],
             lim: sandbox.Limits, add: Callable[[str, Outcome], None]) -> str:
        request = {
            "op": "grade", "exercise": exercise_id, "source": source, "forbidden": forbidden,
            "import_time_s": lim.import_time_s, "mem_bytes": lim.mem_bytes, "fsize": lim.fsize,
            "output_bytes": lim.output_bytes, "nproc": lim.nproc,
            "tests": [{"probe": tc.probe, "args": dict(tc.args),
                       "time_s": float(tc.time_limit_s or lim.time_s),
                       "mem_bytes": int(tc.memory_limit_mb * 1024 * 1024) if tc.memory_limit_mb else 0}
                      for tc in tests],
        }
        backstop = lim.import_time_s + sum(t["time_s"] for t in request["tests"]) + 15.0 * (1 + len(tests) / 10)
        self.grades += 1
        request["g"] = self.grades  # the zygote echoes it: events of another grade are never read
        got: dict[int, ProbeResult] = {}
        next_i = 0
        output = ""
        survivors = 0

        def flush_ready() -> None:
            nonlocal next_i
            while next_i in got:
                tc = tests[next_i]
                add(tc.name, judge_one(tc, got[next_i]))
                next_i += 1

        try:
            try:
                self.ready()
            except sandbox.SandboxDied as exc:
                for i, tc in enumerate(tests):
                    got[i] = ProbeResult(error=ProbeError("sandbox error", message=str(exc)))
                raise
            assert self.zygote is not None
            try:
                for ev in sandbox.run_grade(self.zygote, request, backstop):
                    if ev.get("g") != request["g"]:
                        continue
                    kind = ev.get("ev")
                    if kind == "test":
                        i = ev.get("i")
                        if not isinstance(i, int) or not 0 <= i < len(tests) or i in got:
                            continue
                        got[i] = _probe_result(ev)
                        flush_ready()
                    elif kind == "done":
                        output = str(ev.get("output", ""))
                        survivors = int(ev.get("survivors") or 0)
                        break
            except sandbox.SandboxDied:
                raise
            except Exception as exc:  # noqa: BLE001 — an unreadable event: this sandbox is done
                self.zygote.kill()
                raise sandbox.SandboxDied(
                    f"it sent a message the grader could not read ({type(exc).__name__})") from None
        except sandbox.SandboxDied as exc:
            self.restarts += 1
            self.zygote = None
            first = True
            for i in range(len(tests)):
                if i in got:
                    continue
                if first and "stopped responding" in str(exc):
                    got[i] = ProbeResult(error=ProbeError(
                        "time limit", message="the sandbox stopped answering within the grade's "
                        "time budget and was killed"))
                    first = False
                elif first and "could not read" in str(exc):
                    got[i] = ProbeResult(error=ProbeError(
                        "no result", message=f"the sandbox {exc} — the program wrote to the "
                        "sandbox's result channel itself; it was stopped"))
                    first = False
                elif first:
                    got[i] = ProbeResult(error=ProbeError(
                        "crashed", message="the sandbox worker running this test was killed "
                        f"({exc}) — a submission must not signal or kill other processes"))
                    first = False
                else:
                    got[i] = ProbeResult(error=ProbeError(
                        "not run", message="not run: the sandbox worker was killed by an earlier test"))
            try:
                self.start()  # warm up a fresh one for the next grade
            except Exception:  # noqa: BLE001
                pass
        # every test must have its own result
        for i in range(len(tests)):
            if i not in got:
                got[i] = ProbeResult(error=ProbeError(
                    "no result", message="the sandbox returned no result for this test"))
        flush_ready()
        if survivors:
            add("leaves no process running", Outcome.failed(
                f"process limit: your program left {survivors} process(es) running after the tests; "
                "the sandbox killed them — do not start background processes"))
        return output
