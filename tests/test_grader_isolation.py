"""The isolation report, the rlimit fallback (no bubblewrap), the wire format and the AST scan."""

from __future__ import annotations

import os
import pickle
import uuid

import pytest
from studytool.grader import wire
from studytool.grader.engine import forbidden_uses

GOOD = (
    __import__("pathlib").Path(__file__).resolve().parents[1] / "grader" / "references" / "sinusoidal_pe.py"
).read_text()


# -- wire: plain data only ---------------------------------------------------------------------


def test_wire_roundtrip_plain_data():
    import torch

    obj = {
        "t": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "b": torch.tensor([True, False]),
        "h": torch.ones(2, dtype=torch.bfloat16),
        "e": torch.empty(0, 4),
        "n": [1, 2.5, None, "x"],
        "nan": float("nan"),
        "nested": {"k": (1, torch.tensor(3))},
    }
    back = wire.decode(wire.encode(obj))
    assert torch.equal(back["t"], obj["t"]) and back["t"].dtype == torch.float32
    assert torch.equal(back["b"], obj["b"]) and back["h"].dtype == torch.bfloat16
    assert back["e"].shape == (0, 4) and back["n"] == [1, 2.5, None, "x"]
    assert back["nested"]["k"][1].item() == 3 and back["nan"] != back["nan"]


def test_wire_turns_subclasses_and_objects_into_plain_data():
    import torch

    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    t = torch.zeros(3).as_subclass(Liar)
    back = wire.decode(wire.encode({"t": t, "f": lambda: 1, "it": iter([])}))
    assert type(back["t"]) is torch.Tensor
    assert isinstance(back["f"], wire.Opaque) and back["f"].type_name == "function"


def test_wire_never_unpickles_and_rejects_malformed():
    evil = pickle.dumps(os.system)
    for data in (evil, wire.MAGIC + b"\x00\x00\x00\x05{bad}", b""):
        with pytest.raises(wire.WireError):
            wire.decode(data)
    good = wire.encode({"t": __import__("torch").ones(4)})
    with pytest.raises(wire.WireError):
        wire.decode(good[:-3])  # truncated tensor bytes


def _raw_message(tree, blobs=()) -> bytes:
    """A wire message with a hand-written header, as a hostile sandbox process could send."""
    import json
    import struct

    head = json.dumps({"h": json.dumps(tree), "s": [len(b) for b in blobs]}).encode()
    return wire.MAGIC + struct.pack(">I", len(head)) + head + b"".join(blobs)


@pytest.mark.parametrize(
    "tree, blobs",
    [
        ({"D": [[1, 2, 3]]}, ()),  # a dict entry that is not a pair
        ({"D": "ab"}, ()),  # a dict that is not a list of pairs
        ({"T": []}, ()),  # a tensor node without fields
        ({"T": [0, "float32", [0, 2**70]]}, (b"",)),  # a shape torch cannot hold
        ({"T": [0, "float32", [1] * 100]}, (b"\0" * 4,)),  # more dimensions than torch allows
        ({"L": 7}, ()),
    ],
    ids=["dict-triple", "dict-str", "tensor-empty", "huge-dim", "too-many-dims", "list-int"],
)
def test_wire_rejects_every_malformed_node_as_wire_error(tree, blobs):
    with pytest.raises(wire.WireError):
        wire.decode(_raw_message(tree, blobs))


def test_wire_rejects_deep_json_nesting_as_wire_error():
    head = b'{"h": "' + b"[" * 100000 + b'", "s": []}'
    import struct

    with pytest.raises(wire.WireError):
        wire.decode(wire.MAGIC + struct.pack(">I", len(head)) + head)


def test_wire_bool_tensors_hold_only_true_and_false():
    t = wire.decode(_raw_message({"T": [0, "bool", [3]]}, (bytes([0, 1, 2]),)))
    assert t.dtype == __import__("torch").bool
    assert t.view(__import__("torch").uint8).tolist() == [0, 1, 1]


def test_ast_scan_finds_forbidden_uses():
    names = ["torch.nn.functional.scaled_dot_product_attention", "torch.nn.MultiheadAttention"]
    src = (
        "import torch.nn.functional as F\nfrom torch.nn import MultiheadAttention as M\n"
        "x = getattr(F, 'scaled_dot_product_attention')\n"
    )
    hits = forbidden_uses(src, names)
    assert ("torch.nn.MultiheadAttention", 2) in hits
    assert ("torch.nn.functional.scaled_dot_product_attention", 3) in hits
    assert forbidden_uses("def f(:\n", names) == []
    assert forbidden_uses("import torch\nx = torch.softmax\n", names) == []


# -- isolation in force ------------------------------------------------------------------------


@pytest.mark.sandbox
def test_isolation_report_here(grader_service):
    rep = grader_service.report()
    from studytool.grader import sandbox

    assert rep["mode"] == sandbox.plan()["mode"]
    assert rep["zygote"].get("error") is None
    if os.geteuid() == 0:
        assert rep["uid"] != 0 and rep["zygote"]["uid"] != 0
    if rep["mode"] == "bwrap":
        assert rep["zygote"]["pid_namespace"] is True
        assert rep["zygote"]["network_visible"] is False and rep["network"] == "none"


@pytest.mark.sandbox
def test_the_report_says_whether_children_are_seccomp_filtered(grader_service, tmp_path):
    from studytool.grader import confine

    from studytool.grading import Grader, summarize

    ok, why = confine.available()
    rep = grader_service.report()
    assert rep["seccomp"] is ok, rep
    if ok:
        assert "seccomp-filtered" in summarize(rep)
    # without it (forced off here), the report says so and why: the stated degradation
    env = dict(os.environ, STUDYTOOL_NO_SECCOMP="1", STUDYTOOL_HOME=str(tmp_path / "home"))
    with Grader(record=False, timeout_s=300, env=env) as g:
        off = g.report()
    assert off["seccomp"] is False
    assert "NO seccomp filter (disabled by STUDYTOOL_NO_SECCOMP=1)" in summarize(off)


def test_the_seccomp_filter_refuses_what_it_should():
    """The filter itself, in a throwaway child: signals to others, ptrace, dumpable, fork (in
    measured mode) and F_SETOWN at another pid are refused; the child's own work goes on."""
    import ctypes
    import fcntl
    import signal

    from studytool.grader import confine

    ok, why = confine.available()
    if not ok:
        pytest.skip(why)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        res = []
        try:
            confine.confine(allow_fork=False)
            libc = ctypes.CDLL(None, use_errno=True)

            def denied(fn):
                try:
                    fn()
                    return "allowed"
                except OSError as e:
                    return e.strerror

            res.append(denied(lambda: os.kill(os.getppid(), 0)))
            res.append(denied(lambda: os.kill(os.getpid(), 0)))
            res.append("Operation not permitted" if libc.prctl(4, 1, 0, 0, 0) != 0 else "allowed")
            res.append("Operation not permitted" if libc.ptrace(16, os.getppid(), 0, 0) != 0 else "allowed")
            res.append(denied(lambda: os._exit(0) if os.fork() == 0 else None))
            res.append(denied(lambda: fcntl.fcntl(r if False else w, fcntl.F_SETOWN, os.getppid())))
            res.append(denied(lambda: signal.pthread_kill(__import__("threading").get_ident(), 0)))
        except BaseException as exc:  # noqa: BLE001
            res.append(repr(exc))
        os.write(w, "|".join(res).encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 4096).decode()
    os.close(r)
    os.waitpid(pid, 0)
    assert out.split("|") == [
        "Operation not permitted",
        "allowed",
        "Operation not permitted",
        "Operation not permitted",
        "Operation not permitted",
        "Operation not permitted",
        "allowed",
    ], out


@pytest.mark.sandbox
def test_isolation_report_client_has_no_torch():
    import subprocess
    import sys

    code = (
        "import sys, json; from studytool import grading; r = grading.isolation_report(); "
        "assert 'torch' not in sys.modules; print(json.dumps(r))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rep = __import__("json").loads(out.stdout)
    assert rep["ok"] is True and rep["mode"] in ("bwrap", "fallback")
    assert rep["summary"] and "NOT working" not in rep["summary"]


@pytest.mark.sandbox
@pytest.mark.slow
def test_fallback_without_bwrap(tmp_path):
    """STUDYTOOL_SANDBOX=fallback: rlimits + new session + subreaper kill (+ uid/netns as root)."""
    from test_grader_hostile import LIMITS, _with_marker

    from studytool.grading import Grader

    marker = uuid.uuid4().hex
    env = dict(os.environ, STUDYTOOL_SANDBOX="fallback", STUDYTOOL_HOME=str(tmp_path))
    with Grader(record=False, env=env) as g:
        rep = g.report()
        assert rep["mode"] == "fallback" and rep["zygote"].get("error") is None
        assert g.check("sinusoidal_pe", source=GOOD)["status"] == "pass"
        r = g.check(
            "sinusoidal_pe",
            limits=LIMITS,
            source=("import time\ndef sinusoidal_position_encoding(*a, **k):\n    time.sleep(60)\n"),
        )
        assert "time limit" in r["tests"][0]["message"]
        r = g.check(
            "sinusoidal_pe",
            limits=LIMITS,
            source=GOOD
            + (
                "\nimport subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
                f"'import os, time; os.fork() or time.sleep(300)  # {marker}'], start_new_session=True)\n"
            ),
        )
        assert r["status"] == "fail" and "left" in r["tests"][-1]["message"]
        assert not _with_marker(marker)
        if os.geteuid() == 0 and rep["uid"] != 0:
            r = g.check(
                "sinusoidal_pe",
                limits=LIMITS,
                source=(
                    "import os\ndef sinusoidal_position_encoding(*a, **k):\n"
                    "    raise RuntimeError(f'uid={os.getuid()}')\n"
                ),
            )
            assert f"uid={rep['uid']}" in r["tests"][0]["message"]
