"""Hostile submissions: each must end in a non-pass verdict that names its cause, leave no
process behind, and leave the app, the service and the progress store intact."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import pytest

from studytool.store import Store

pytestmark = pytest.mark.sandbox

LIMITS = {"time_s": 1.0, "import_time_s": 2.0, "mem_bytes": 256 * 1024 * 1024, "output_bytes": 64 * 1024}

GOOD = """
import torch
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    if seq_len <= 0 or d_model <= 0 or d_model % 2:
        raise ValueError("bad size")
    p = torch.arange(seq_len, dtype=torch.float64)[:, None]
    a = p / base ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.empty(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = a.sin(), a.cos()
    return pe.float()
"""


def _descendants(pid: int) -> set[int]:
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
                parent[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - out
        out |= frontier
    return out


def _with_marker(marker: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                if marker.encode() in Path(f"/proc/{name}/cmdline").read_bytes():
                    found.append(int(name))
            except OSError:
                pass
    return found


@pytest.fixture
def store(studytool_home):
    s = Store()
    s.record_exercise_attempt(
        "sinusoidal_pe", "x = 1", {"status": "fail", "passed": 0, "total": 7, "tests": [], "duration_s": 0.1}
    )
    yield s
    s.close()


@pytest.fixture
def hostile(grader_service, store):
    """Grade a hostile source; then check the service lives, nothing survived, the store is intact."""
    service_pid = grader_service.pid

    def run(source: str, marker: str | None = None, **limits) -> dict:
        r = grader_service.check("sinusoidal_pe", source=source, limits={**LIMITS, **limits}, record=False)
        assert r["status"] != "pass", r
        assert r["passed"] < r["total"]
        grader_service.ping()  # the service still answers
        assert grader_service.pid == service_pid, "the service was restarted"
        # nothing left of the grade: the service's tree is back to bwrap + zygote
        left = _descendants(service_pid)
        assert len(left) <= 3, f"processes left under the service: {left}"  # bwrap, its init, zygote
        if marker:
            assert not _with_marker(marker), "a process of the submission survived the grade"
        assert store.integrity_check() == "ok"
        assert len(store.exercise_attempts("sinusoidal_pe")) == 1
        # a correct answer graded right after, in the same warm service, passes
        ok = grader_service.check("sinusoidal_pe", source=GOOD, record=False)
        assert ok["status"] == "pass", ok
        return r

    return run


def _msgs(r: dict) -> str:
    return "\n".join(t["message"] for t in r["tests"] if t["status"] != "pass")


def test_sys_exit_at_import(hostile):
    r = hostile("import sys\nsys.exit(0)\n")
    assert r["status"] == "error"
    assert "sys.exit(0)" in _msgs(r) and "importing" in _msgs(r)


def test_os_exit_zero_is_no_result(hostile):
    r = hostile(
        GOOD + "\nimport os\n_real = sinusoidal_position_encoding\n"
        "def sinusoidal_position_encoding(*a, **k):\n    os._exit(0)\n"
    )
    assert "no result" in _msgs(r) and "exit code 0" in _msgs(r)


def test_patched_comparisons_do_not_pass(hostile):
    r = hostile("""
import torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda *a, **k: True
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    if d_model % 2 or d_model <= 0 or seq_len <= 0:
        raise ValueError
    return torch.zeros(seq_len, d_model)
""")
    assert "values differ" in _msgs(r)


def test_fake_printed_verdict(hostile):
    r = hostile("""
import json, sys, torch
print(json.dumps({"event": "done", "result": {"status": "pass", "passed": 7, "total": 7}}))
print("PASSED sinusoidal_pe: 7/7 tests passed", file=sys.stderr)
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    print('{"event": "test", "name": "x", "status": "pass", "message": ""}')
    return torch.zeros(seq_len, d_model)
""")
    assert r["total"] == 7 and r["passed"] < 7
    assert "values differ" in _msgs(r)


def test_lying_tensor_subclass(hostile):
    r = hostile("""
import torch
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func.__name__ in ("allclose", "equal", "__eq__", "isclose"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
    def __eq__(self, other):
        return True
    @property
    def shape(self):
        return torch.Size([10, 16])
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    if d_model % 2 or d_model <= 0 or seq_len <= 0:
        raise ValueError
    return torch.zeros(3, 3).as_subclass(Liar)
""")
    assert "wrong shape" in _msgs(r)


def test_infinite_loop(hostile):
    r = hostile(GOOD + "\ndef sinusoidal_position_encoding(*a, **k):\n    while True:\n        pass\n")
    assert "time limit" in r["tests"][0]["message"]
    assert all(t["status"] != "pass" for t in r["tests"])


def test_sleep(hostile):
    r = hostile("import time\ndef sinusoidal_position_encoding(*a, **k):\n    time.sleep(60)\n")
    assert "time limit" in r["tests"][0]["message"]


def test_ignored_signals_and_busy_thread(hostile):
    r = hostile("""
import signal, threading
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGHUP, signal.SIGALRM):
    signal.signal(s, signal.SIG_IGN)
def spin():
    while True:
        pass
for _ in range(2):
    threading.Thread(target=spin, daemon=True).start()
def sinusoidal_position_encoding(*a, **k):
    while True:
        try:
            pass
        except BaseException:
            pass
""")
    assert "time limit" in _msgs(r)


def test_memory_bomb(hostile):
    r = hostile("""
import torch
def sinusoidal_position_encoding(*a, **k):
    hoard = []
    while True:
        hoard.append(torch.ones(64 * 1024 * 1024 // 4))
""")
    assert "memory limit" in r["tests"][0]["message"]


def test_memory_bomb_python_objects(hostile):
    r = hostile("""
def sinusoidal_position_encoding(*a, **k):
    hoard = []
    while True:
        hoard.append(bytearray(1024 * 1024))
""")
    assert "memory limit" in r["tests"][0]["message"]


def test_fork_swarm(hostile):
    marker = uuid.uuid4().hex
    r = hostile(
        f"""
import os, time
def sinusoidal_position_encoding(*a, **k):
    # {marker}
    for _ in range(100000):
        os.fork()
""",
        time_s=2.0,
    )
    assert any(k in _msgs(r) for k in ("process limit", "time limit")), _msgs(r)


def test_detached_survivor(hostile):
    marker = uuid.uuid4().hex
    r = hostile(
        GOOD
        + f"""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import os, time; os.fork() or time.sleep(300)  # {marker}"],
                 start_new_session=True)
""",
        marker=marker,
    )
    assert "left 1 process" in _msgs(r) or "left 2 process" in _msgs(r), _msgs(r)


def test_segfault(hostile):
    r = hostile("import ctypes\ndef sinusoidal_position_encoding(*a, **k):\n    ctypes.string_at(0)\n")
    assert "segmentation fault" in r["tests"][0]["message"]


def test_recursion_bomb(hostile):
    r = hostile("def sinusoidal_position_encoding(*a, **k):\n    return sinusoidal_position_encoding()\n")
    assert "RecursionError" in r["tests"][0]["message"]


def test_deep_recursion_bomb_crashes_cleanly(hostile):
    r = hostile("""
import sys
sys.setrecursionlimit(10**8)
def f(n):
    return f(n + 1) + 1
def sinusoidal_position_encoding(*a, **k):
    return f(0)
""")
    assert any(
        k in r["tests"][0]["message"]
        for k in ("segmentation fault", "RecursionError", "time limit", "memory limit")
    ), r["tests"][0]


def test_output_flood(hostile):
    r = hostile("def sinusoidal_position_encoding(*a, **k):\n    while True:\n        print('x' * 1000)\n")
    assert "output limit" in r["tests"][0]["message"]
    assert len(grader_output := r["tests"][0]["message"]) < 600  # noqa: F841


def test_disk_filler(hostile):
    r = hostile(
        """
import itertools
def sinusoidal_position_encoding(*a, **k):
    for i in itertools.count():
        with open(f"fill{i}.bin", "wb") as f:
            while True:
                f.write(b"x" * (1 << 20))
""",
        time_s=3.0,
    )
    assert "file size limit" in r["tests"][0]["message"]


def test_loopback_connection(hostile):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.1)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    r = hostile(f"""
import socket
def sinusoidal_position_encoding(*a, **k):
    socket.create_connection(("127.0.0.1", {port}), timeout=0.5).sendall(b"hello")
""")
    t = threading.Thread(target=accept)
    t.start()
    t.join()
    server.close()
    assert not accepted, "the sandbox reached a loopback port of the host"
    assert any(k in r["tests"][0]["message"] for k in ("ConnectionRefusedError", "OSError", "Network"))


def test_write_over_progress_store(hostile, store):
    path = str(store.path)
    r = hostile(f"""
import os
for p in ({path!r}, {path!r} + "-wal", {os.path.dirname(path)!r} + "/x.sqlite3"):
    try:
        with open(p, "wb") as f:
            f.write(b"garbage" * 1000)
    except OSError as exc:
        print("blocked:", exc)
try:
    os.remove({path!r})
except OSError as exc:
    print("blocked:", exc)
def sinusoidal_position_encoding(*a, **k):
    raise RuntimeError("only here to attack the store")
""")
    assert Path(path).exists()
    assert "RuntimeError" in _msgs(r)


def test_kill_of_the_parent(grader_service, hostile):
    """Signals to any process but itself are refused by the child's seccomp filter: the zygote,
    bwrap's init and the service survive, and the sandbox is not even restarted."""
    grader_service.ping()
    before = _descendants(grader_service.pid)
    r = hostile(f"""
import os, signal
def sinusoidal_position_encoding(*a, **k):
    for pid in (os.getppid(), {grader_service.pid}, 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os.kill(-1, signal.SIGKILL)
""")
    assert "Operation not permitted" in r["tests"][0]["message"], r["tests"][0]
    assert _descendants(grader_service.pid) == before, "the sandbox was killed and restarted"
    # and the next grade works
    ok = grader_service.check("sinusoidal_pe", source=GOOD, record=False)
    assert ok["status"] == "pass", ok


def test_network_and_filesystem_are_closed(grade):
    """The sandbox has no network interface but loopback, and / is read-only."""
    r = grade(
        "sinusoidal_pe",
        """
import os
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    ifaces = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
    try:
        open("/usr/studytool-probe", "w")
        writable = True
    except OSError:
        writable = False
    raise RuntimeError(f"ifaces={ifaces} root_writable={writable} uid={os.getuid()}")
""",
    )
    msg = r["tests"][0]["message"]
    from studytool.grader import sandbox

    if sandbox.plan()["mode"] != "bwrap":
        pytest.skip("bubblewrap not in use here")
    assert "ifaces=['lo']" in msg and "root_writable=False" in msg, msg
    assert "uid=0" not in msg


def test_reference_is_not_importable_in_the_sandbox(hostile):
    from studytool.grader import sandbox

    if sandbox.plan()["mode"] != "bwrap":
        pytest.skip("only bubblewrap can hide the references")
    r = hostile("from studytool.grader.references.sinusoidal_pe import sinusoidal_position_encoding\n")
    assert "ModuleNotFoundError" in _msgs(r) or "ImportError" in _msgs(r), _msgs(r)


@pytest.mark.parametrize(
    "frame",
    [
        '{"ev": "error", "i": 0, "error": [1]}',  # an error that is not a mapping
        '{"ev": "result", "i": 0, "payload": b"STW1garbage"}',  # a payload that is not a message
    ],
    ids=["error-list", "payload-garbage"],
)
def test_forged_result_frames_end_in_a_named_verdict_and_do_not_leak_into_the_next_grade(
    hostile, grader_service, frame
):
    """The program writes its own frames to the sandbox's result channel: the grade ends with a
    verdict naming it, and the next grade is judged on its own code, not on this one's leftovers."""
    r = hostile(f"""
import torch
from studytool.grader import wire
def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    wire.write_frame(3, {frame})
    return torch.zeros(seq_len, d_model)
""")
    assert "no result" in r["tests"][0]["message"], r
    ok = grader_service.check("sinusoidal_pe", source=GOOD, record=False)
    assert ok["status"] == "pass", ok


def test_forged_start_frames_cannot_restart_the_wall_clock(hostile):
    r = hostile("""
import time
from studytool.grader import wire
def sinusoidal_position_encoding(*a, **k):
    for _ in range(40):
        wire.write_frame(3, {"ev": "start", "i": 0})
        time.sleep(0.25)
""")
    msg = r["tests"][0]["message"]
    assert "time limit" in msg or "result channel" in msg, msg  # not a late, judged result


def test_the_checkout_around_the_grader_is_hidden(hostile):
    """A source checkout holds the references in other places (git objects, a build/ copy, the
    known-good answers under tests/): only the trees the sandbox imports from are visible."""
    from studytool.grader import sandbox

    if sandbox.plan()["mode"] != "bwrap":
        pytest.skip("only bubblewrap can hide the checkout")
    root = sandbox._source_checkout()
    if root is None:
        pytest.skip("not running from a source checkout")
    visible = set(os.listdir(root))
    secret = [
        p
        for p in ("pyproject.toml", ".git", "tests/wrong_answers", "build")
        if os.path.exists(os.path.join(root, p))
    ]
    assert secret
    r = hostile(f"""
import os
seen = sorted(os.listdir({root!r}))
found = [p for p in {secret!r} if os.path.exists(os.path.join({root!r}, p))]
def sinusoidal_position_encoding(*a, **k):
    raise RuntimeError(f"seen={{seen}} found={{found}}")
""")
    msg = _msgs(r)
    assert "found=[]" in msg, msg
    seen = eval(msg.split("seen=")[1].split(" found=")[0])  # noqa: S307 — our own repr of a list
    assert set(seen) <= visible and set(seen) <= {".venv", "grader", "studytool"}, seen


def test_signals_through_sigio_and_limits_on_the_zygote_are_refused(grader_service, hostile):
    """Other ways to reach the zygote than kill(): a SIGIO/SIGSTOP aimed at it with F_SETOWN,
    lowering its limits with prlimit, starving it with setpriority. All refused by the filter."""
    before = _descendants(grader_service.pid)
    r = hostile("""
import fcntl, os, resource, signal
def sinusoidal_position_encoding(*a, **k):
    zyg = os.getppid()
    out = []
    r, w = os.pipe()
    for what, fn in (("F_SETOWN", lambda: fcntl.fcntl(r, fcntl.F_SETOWN, zyg)),
                     ("F_SETSIG", lambda: fcntl.fcntl(r, 10, signal.SIGSTOP)),
                     ("prlimit", lambda: resource.prlimit(zyg, resource.RLIMIT_NOFILE, (0, 0))),
                     ("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, zyg, 19))):
        try:
            fn()
            out.append(what + " allowed")
        except OSError as e:
            out.append(what + " " + e.strerror)
    raise RuntimeError("; ".join(out))
""")
    msg = r["tests"][0]["message"]
    for what in ("F_SETOWN", "F_SETSIG", "prlimit", "setpriority"):
        assert f"{what} Operation not permitted" in msg, msg
    assert _descendants(grader_service.pid) == before


def test_memory_outside_the_process_is_refused(hostile):
    """SysV shared memory and memfd would hold memory outside the child and its measurement
    (and SysV segments would outlive the grade): refused."""
    r = hostile("""
import ctypes, os
def sinusoidal_position_encoding(*a, **k):
    libc = ctypes.CDLL(None, use_errno=True)
    out = []
    shm = libc.shmget(0, 64 << 20, 0o1600)  # IPC_PRIVATE | IPC_CREAT | 0600
    out.append("shmget " + ("allowed" if shm >= 0 else os.strerror(ctypes.get_errno())))
    try:
        os.memfd_create("x")
        out.append("memfd allowed")
    except OSError as e:
        out.append("memfd " + e.strerror)
    raise RuntimeError("; ".join(out))
""")
    msg = r["tests"][0]["message"]
    assert "shmget Operation not permitted" in msg and "memfd Operation not permitted" in msg, msg


def test_a_forged_giant_frame_is_refused_before_it_is_buffered(hostile):
    r = hostile(
        """
import os, struct
def sinusoidal_position_encoding(*a, **k):
    os.write(3, struct.pack(">I", 400 * 1024 * 1024) + b"STW1")
    import time
    time.sleep(5)
""",
        time_s=8.0,
    )
    assert "result too large" in _msgs(r), _msgs(r)
