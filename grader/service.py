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
import sys
import traceback


def main() -> int:
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

    engine = Engine()  # starts the sandbox's zygote (it imports torch in parallel with us)
    import torch  # noqa: F401  — now, while the zygote imports its own

    torch.set_num_threads(1)
    from studytool.grader import compare, wire  # noqa: F401

    try:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
                op = req.get("op")
            except (ValueError, AttributeError):
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
                    if "source" in req:
                        source = str(req["source"])
                    else:
                        try:
                            with open(req["file"], encoding="utf-8", errors="replace") as f:
                                source = f.read(2 * 1024 * 1024)
                        except (OSError, KeyError, TypeError) as exc:
                            emit({"event": "error", "message": f"cannot read the file: {exc}"})
                            continue
                    try:
                        result = engine.check(ex, source, on_event=emit, limits=req.get("limits"))
                    except UnknownExercise:
                        emit({"event": "error", "message": f"unknown exercise: {ex}"})
                        continue
                    emit({"event": "done", "result": result, "output": engine.last_output})
                else:
                    emit({"event": "error", "message": f"unknown op: {op!r}"})
            except Exception as exc:  # noqa: BLE001 — the service must survive a bad grade
                emit({"event": "error",
                      "message": f"grader failure: {type(exc).__name__}: {exc}",
                      "traceback": traceback.format_exc()[-2000:]})
    finally:
        engine.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: the sandbox is already closed
