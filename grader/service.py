"""The trusted grading service: ``python -m studytool.grader.service``.

JSON lines on stdin/stdout (see docs/DESIGN.md):

* ``{"op": "check", "exercise": ID, "file": PATH}`` (or ``"source": TEXT`` instead of ``file``;
  optional ``"limits": {...}`` overrides ``sandbox.Limits`` fields, for tests) → one
  ``{"event": "test", "name", "status", "message"}`` per test as it is judged, then
  ``{"event": "done", "result": RESULT, "output": LEARNER_OUTPUT}``.
* ``{"op": "ping"}`` → ``{"event": "pong"}`` once the sandbox is warm.
* ``{"op": "report"}`` → ``{"event": "report", "report": {...}}`` — the isolation in force.
* ``{"op": "shutdown"}`` → exits. End of stdin also exits.

Bad requests get ``{"event": "error", "message"}``. The sandbox is started *before* torch is
imported here, so both imports of torch run at the same time (cold checks cost ~one import).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback

from studytool.protocol import MAX_REQUEST_LINE as MAX_LINE
from studytool.protocol import SourceTooLarge, parse_service_argv, read_source

MEMORY_LIMIT = 6 * 1024 * 1024 * 1024  # the service's own heap (RLIMIT_DATA)


def _limit_own_memory() -> None:
    """A bug in the service (or a grade it mishandles) cannot take the machine down."""
    try:
        mb = int(os.environ.get("STUDYTOOL_SERVICE_MEM_MB") or 0)
    except ValueError:
        mb = 0
    limit = mb * 1024 * 1024 if mb > 0 else MEMORY_LIMIT
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    except (ValueError, OSError):
        pass


def _read_line(stream) -> bytes | None:
    """One request line, at most MAX_LINE bytes (a longer one is skipped to its end: b"" + flag)."""
    line = stream.readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE and not line.endswith(b"\n"):
        while True:  # drain the rest without keeping it
            chunk = stream.readline(1 << 20)
            if not chunk or chunk.endswith(b"\n"):
                break
        return b"\0too long"
    return line


def main(argv: list[str] | None = None) -> int:
    hide = parse_service_argv(sys.argv[1:] if argv is None else argv)
    _limit_own_memory()
    # the protocol uses a private copy of stdout; fd 1 now goes to stderr so that nothing printed
    # by a library can corrupt it
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)

    def emit(obj: dict) -> None:
        out.write(json.dumps(obj, allow_nan=False, default=str) + "\n")
        out.flush()

    from studytool.grader import sandbox

    sandbox.plan()
    from studytool.grader.engine import Engine, UnknownExercise  # imports no torch yet

    engine = Engine(hide=hide)  # starts the sandbox's zygote (it imports torch in parallel with us)
    import torch  # noqa: F401  — now, while the zygote imports its own

    torch.set_num_threads(1)
    from studytool.grader import compare, wire  # noqa: F401

    stdin = sys.stdin.buffer
    try:
        while True:
            raw = _read_line(stdin)
            if raw is None:
                break
            if raw == b"\0too long":
                emit(
                    {
                        "event": "error",
                        "message": f"bad request: larger than {MAX_LINE} bytes "
                        "(a file over 1 MiB is not graded)",
                    }
                )
                continue
            line = raw.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
                op = req.get("op")
            except (ValueError, AttributeError, RecursionError):
                emit({"event": "error", "message": "bad request: not a JSON object"})
                continue
            try:
                if op == "ping":
                    engine.ready()
                    emit({"event": "pong"})
                elif op == "report":
                    emit({"event": "report", "report": engine.report()})
                elif op == "shutdown":
                    break
                elif op == "check":
                    ex = str(req.get("exercise", ""))
                    # the learner's path, for messages only (never opened because of this field)
                    display = req.get("display") or req.get("file")
                    display = str(display)[:300] if display else None
                    if "source" in req:
                        source = str(req["source"])
                    else:
                        try:
                            source = read_source(str(req["file"]))
                        except (OSError, KeyError, TypeError) as exc:
                            emit({"event": "error", "message": f"cannot read the file: {exc}"})
                            continue
                        except SourceTooLarge as exc:
                            emit({"event": "error", "message": str(exc)})
                            continue
                    try:
                        result = engine.check(
                            ex, source, on_event=emit, limits=req.get("limits"), display=display
                        )
                    except UnknownExercise:
                        emit({"event": "error", "message": f"unknown exercise: {ex}"})
                        continue
                    emit({"event": "done", "result": result, "output": engine.last_output})
                else:
                    emit({"event": "error", "message": f"unknown op: {op!r}"})
            except Exception as exc:  # noqa: BLE001 — the service must survive a bad grade
                emit(
                    {
                        "event": "error",
                        "message": f"grader failure: {type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc()[-2000:],
                    }
                )
    finally:
        engine.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: the sandbox is already closed
