"""Issue 9 §3 and §5: nothing outlives a grade, a grader failure is the grader's, and the sandbox
shows only what grading needs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[1]
GOOD = (ROOT / "grader" / "references" / "sinusoidal_pe.py").read_text()
LIMITS = {"time_s": 2.0, "import_time_s": 3.0}


def _failing(r: dict) -> str:
    return "\n".join(t["message"] for t in r["tests"] if t["status"] != "pass")


def _grade(g, source: str, **limits) -> dict:
    return g.check("sinusoidal_pe", source=source, limits={**LIMITS, **limits}, record=False)


def test_a_submission_that_litters_the_scratch_does_not_break_the_next_grade(grader_service):
    """Pre-created names for the next grades' scratch, unwritable directories, a /tmp made
    read-only and 40 MiB of junk: the next grade starts from a clean scratch and passes, and
    the space is back (a second 40 MiB write succeeds)."""
    litter = (
        GOOD
        + """
import os
for n in range(0, 200):
    for name in (f"/tmp/grade-{n}", f"/tmp/studytool-{n}"):
        try:
            os.makedirs(name + "/x", exist_ok=True)
            os.chmod(name + "/x", 0)
            os.chmod(name, 0o500)
        except OSError:
            pass
try:
    for k in range(3):  # 39 MiB of the 64 MiB scratch (one file may hold 16 MiB)
        with open(f"/tmp/junk{k}", "wb") as f:
            f.write(b"\\0" * (13 << 20))
except OSError:
    pass
try:
    os.chmod("/tmp", 0o500)
except OSError:
    pass
"""
    )
    r = _grade(grader_service, litter)
    assert r["status"] == "pass", _failing(r)  # littering is not a fault of the answer itself
    after = _grade(grader_service, GOOD)
    assert after["status"] == "pass", _failing(after)
    space = (
        GOOD
        + """
for k in range(3):
    with open(f"/tmp/again{k}", "wb") as f:
        f.write(b"\\0" * (13 << 20))
"""
    )
    again = _grade(grader_service, space)
    assert again["status"] == "pass", _failing(again)


def test_every_writable_place_is_the_capped_scratch(grader_service):
    """/dev and /dev/shm are read-only; /tmp is the one writable place, capped at 64 MiB."""
    src = (
        GOOD
        + """
import os
res = []
for path in ("/dev/shm/x", "/dev/x", "/x", "/etc/x", "/usr/x"):
    try:
        open(path, "w").write("x")
        res.append(f"WROTE {path}")
    except OSError as e:
        res.append(f"refused {path}")
try:
    for k in range(8):  # 15 MiB files (one file is capped at 16 MiB), 120 MiB in all
        with open(f"/tmp/big{k}", "wb") as f:
            for _ in range(15):
                f.write(b"\\0" * (1 << 20))
    res.append("WROTE 120 MiB to /tmp")
except OSError as e:
    res.append(f"tmp capped: {e.strerror}")
print(" | ".join(res))
"""
    )
    r = _grade(grader_service, src)
    out = grader_service.last_output
    assert "WROTE" not in out, out
    assert "tmp capped: No space left on device" in out, out
    assert r["status"] == "pass", _failing(r)


def test_a_setup_failure_is_the_graders_error_and_the_next_grade_is_normal(tmp_path):
    from studytool.grading import Grader

    env = dict(os.environ, STUDYTOOL_TEST_FAIL_SETUP="2", STUDYTOOL_HOME=str(tmp_path / "home"))
    with Grader(record=False, timeout_s=300, env=env) as g:
        assert _grade(g, GOOD)["status"] == "pass"
        failed = _grade(g, GOOD)
        assert failed["status"] == "error", failed
        msg = _failing(failed)
        assert "the grader's own error, not your code's" in msg and "restarted" in msg, msg
        assert "crashed" not in msg and "kill other processes" not in msg
        after = _grade(g, GOOD)
        assert after["status"] == "pass", _failing(after)


def _children(pid: int) -> list[tuple[int, str, str]]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                st = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            rest = st.rsplit(")", 1)[1].split()
            if int(rest[1]) == pid:
                out.append((int(name), st[st.find("(") + 1 : st.rfind(")")], rest[0]))
    return out


def test_no_defunct_bwrap_is_left_behind(tmp_path):
    """A cold check's sandbox goes away entirely: bwrap and its PID-namespace init are reaped by
    us, never left as zombies for an init that may not reap (as in some containers)."""
    from studytool.grading import Grader

    env = dict(os.environ, STUDYTOOL_HOME=str(tmp_path / "home"))
    g = Grader(record=False, timeout_s=300, env=env)
    g.start()
    g.ping()
    outer = [p for p, comm, _ in _children(g.pid) if comm == "bwrap"]
    inner = [p for o in outer for p, comm, _ in _children(o) if comm == "bwrap"]
    g.close()
    if not outer:
        pytest.skip("no bwrap here")
    time.sleep(0.3)
    for pid in outer + inner:
        assert not Path(f"/proc/{pid}").exists(), f"bwrap {pid} left behind (defunct)"


def test_the_sandbox_root_shows_only_what_grading_needs(grader_service, studytool_home):
    src = (
        GOOD
        + """
import os
print("ROOT", sorted(os.listdir("/")))
print("CMDLINE", open("/proc/1/cmdline", "rb").read().replace(b"\\0", b" ").decode())
for p in ("/srv", "/opt", "/home", "/root", "/etc/passwd", "/work/main/grader/references/causal_mask.py",
          OWN_REFERENCE):
    if os.path.isdir(p):
        print("LIST", p, sorted(os.listdir(p)))
    print("SEEN" if os.path.exists(p) else "hidden", p)
""".replace("OWN_REFERENCE", repr(str(ROOT / "grader" / "references" / "causal_mask.py")))
    )
    _grade(grader_service, src)
    out = grader_service.last_output
    root = eval(out.split("ROOT ", 1)[1].splitlines()[0])
    allowed = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "dev", "sys", "tmp"}
    extra = set(root) - allowed
    # the only other top-level entry is the one leading to the venv and package trees
    import studytool

    pkg_top = Path(studytool.__file__).resolve().parts[1]
    venv_top = Path(os.path.realpath(__import__("sys").prefix)).parts[1]
    assert extra <= {pkg_top, venv_top}, extra
    # a host directory on the way to the checkout or the venv (a clone under /opt or /root, say)
    # is there, but shows only the next step of that way; every other one is hidden
    ways = [Path(studytool.__file__).resolve(), Path(os.path.realpath(__import__("sys").prefix))]
    for line in out.splitlines():
        if line.startswith("SEEN "):
            seen = line.split(" ", 1)[1]
            steps = {
                w.parts[len(Path(seen).parts)]
                for w in ways
                if w.parts[: len(Path(seen).parts)] == Path(seen).parts
                and len(w.parts) > len(Path(seen).parts)
            }
            assert steps, out  # not on the way to what grading needs: must be hidden
            listing = next(
                eval(x.split(" ", 2)[2]) for x in out.splitlines() if x.startswith(f"LIST {seen} ")
            )
            assert set(listing) <= steps, (seen, listing, steps)
    cmdline = out.split("CMDLINE ", 1)[1].splitlines()[0]
    # bwrap's options came through a pipe: no bound or hidden host path is named
    assert "--args" in cmdline and "--ro-bind" not in cmdline and "--tmpfs" not in cmdline, cmdline
    assert str(ROOT / "grader" / "references") not in cmdline
