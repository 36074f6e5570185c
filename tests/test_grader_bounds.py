"""Issue 9 §4: the trusted side bounds its own work — sizes are checked before anything is read
or parsed, results are capped at their materialised size, deeply nested source gets a named
verdict, and the service runs under a memory limit."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOOD_CM = (ROOT / "grader" / "references" / "causal_mask.py").read_text()


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def test_the_client_refuses_a_large_file_before_reading_it(tmp_path):
    from studytool import grading

    big = _sparse(tmp_path / "solution.py", 50 * 1024 * 1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(grading.SourceTooLarge) as e:
        grading.read_source(big)
    assert "50.0 MiB" in str(e.value) and "larger than 1 MiB" in str(e.value)
    # not read: the process did not grow by the file's size
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 20 * 1024


def test_the_cli_names_a_file_too_large(tmp_path, capsys):
    from studytool.cli import main

    big = _sparse(tmp_path / "solution.py", 3 * 1024 * 1024)
    code = main(["check", "causal_mask", "--file", str(big)])
    out = capsys.readouterr()
    assert code != 0
    assert "larger than 1 MiB" in out.out + out.err


@pytest.mark.sandbox
def test_the_service_checks_sizes_before_reading_or_parsing(grader_service, tmp_path):
    g = grader_service
    big = _sparse(tmp_path / "big.py", 50 * 1024 * 1024)
    g._send({"op": "check", "exercise": "causal_mask", "file": str(big)})
    ev = g._next(time.monotonic() + 60)
    assert ev["event"] == "error" and "50.0 MiB" in ev["message"], ev
    # an inline source over 1 MiB: one named row, nothing run or parsed
    r = g.check("causal_mask", source="x = 1\n" * 200_000, record=False)
    assert r["status"] == "error" and r["total"] == 1
    assert "larger than 1 MiB" in r["tests"][0]["message"]
    # a request line larger than the service reads is refused, and the service goes on
    g._send({"op": "check", "exercise": "causal_mask", "source": "#" * (9 * 1024 * 1024)})
    ev = g._next(time.monotonic() + 60)
    assert ev["event"] == "error" and "bad request: larger than" in ev["message"], ev
    assert g.check("causal_mask", source=GOOD_CM, record=False)["status"] == "pass"


@pytest.mark.sandbox
def test_an_expanded_result_is_capped_at_its_materialised_size(grade):
    src = GOOD_CM.replace("return weights @ v", "return (weights @ v).reshape(-1)[:1].expand(2 ** 28)")
    r = grade("causal_mask", src)
    msgs = "\n".join(t["message"] for t in r["tests"] if t["status"] != "pass")
    assert "result too large" in msgs and "1024.0 MiB once its tensors are materialised" in msgs, msgs
    assert grade("causal_mask", GOOD_CM)["status"] == "pass"


@pytest.mark.sandbox
@pytest.mark.parametrize(
    "tail",
    ["\nx = a" + ".b" * 100_000 + "\n", "\nx = " + "-" * 200_000 + "1\n"],
    ids=["chained-attributes", "unary-operators"],
)
def test_deeply_nested_source_gets_a_named_verdict(grade, tail):
    r = grade("causal_mask", GOOD_CM + tail)
    assert r["status"] == "error" and r["total"] == 1, r
    msg = r["tests"][0]["message"]
    assert "nests expressions too deeply" in msg and "not run" in msg, msg
    assert "grader failure" not in msg and "RecursionError" not in msg
    assert grade("causal_mask", GOOD_CM)["status"] == "pass"


@pytest.mark.sandbox
def test_the_service_runs_under_a_memory_limit(grader_service):
    limits = Path(f"/proc/{grader_service.pid}/limits").read_text()
    line = next(x for x in limits.splitlines() if x.startswith("Max data size"))
    soft = line.split()[3]
    assert soft != "unlimited" and int(soft) <= 8 * 1024**3, line
