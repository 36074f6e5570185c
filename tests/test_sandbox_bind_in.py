"""A checkout or venv that uid 65534 cannot reach (a clone under /root, say) is bound back into the
sandbox over a tmpfs, and the learner still runs as the real, unprivileged uid 65534."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from studytool.grader import sandbox_plan as sandbox

needs_root_bwrap = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("bwrap") or not shutil.which("setpriv"),
    reason="needs root, bwrap and setpriv",
)


@pytest.fixture
def blocked():
    """/tmp/X (755) / blocked/ (700: others may not enter) / tree/ (755) / hello.py"""
    base = Path(tempfile.mkdtemp(prefix="bind-in-", dir="/tmp"))
    os.chmod(base, 0o755)
    outer = base / "blocked"
    tree = outer / "tree"
    tree.mkdir(parents=True)
    (tree / "hello.py").write_text("import os\nprint('uid', os.getuid())\n")
    os.chmod(outer, 0o700)
    os.chmod(tree, 0o755)
    yield outer, tree
    shutil.rmtree(base, ignore_errors=True)


def test_bind_ins_finds_the_outermost_blocking_directory(blocked, monkeypatch):
    outer, tree = blocked
    monkeypatch.setattr(sandbox, "_needed_paths", lambda: [tree / "hello.py", Path("/usr/lib")])
    assert sandbox._bind_ins() == [(str(outer), str(tree))]


def _run(outer: Path, tree: Path, bind_in: bool) -> subprocess.CompletedProcess:
    args = [
        shutil.which("bwrap"),
        *sandbox._BIND_IN_NS,
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
    ]
    if bind_in:
        args += sandbox._bind_in_args([(str(outer), str(tree))])
    args += ["--", shutil.which("setpriv"), *sandbox._DROP, "/usr/bin/python3", "-S", str(tree / "hello.py")]
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


@needs_root_bwrap
def test_the_tree_is_reachable_as_uid_65534_only_when_bound_in(blocked):
    outer, tree = blocked
    without = _run(outer, tree, bind_in=False)
    assert without.returncode != 0 and "Permission denied" in without.stderr
    with_bind = _run(outer, tree, bind_in=True)
    assert with_bind.returncode == 0, with_bind.stderr
    assert with_bind.stdout.strip() == "uid 65534"


@needs_root_bwrap
def test_zygote_command_in_bind_in_mode(blocked, monkeypatch):
    """Bind-in mode: root bwrap without a user namespace makes the way to the tree (0755 dirs in
    the new, empty root), binds only the tree, and setpriv drops to uid 65534, who can read it."""
    outer, tree = blocked
    plan = {
        "mode": "bwrap",
        "bwrap": shutil.which("bwrap"),
        "run_as": None,
        "bind_in": [[str(outer), str(tree)]],
    }
    monkeypatch.setattr(sandbox, "_interpreter_paths", lambda: [Path(sys.executable), tree])
    argv, env, scratch = sandbox.build_command(plan, sandbox.Limits())
    joined = " ".join(argv)
    assert "--unshare-user" not in argv and "--unshare-all" not in argv  # no mapped-root userns
    assert "--ro-bind / /" not in joined  # the root holds only what grading needs
    assert f"--perms 0755 --dir {outer} --ro-bind {tree} {tree}" in joined
    assert "--perms 1777" in joined  # a root-made tmpfs /tmp the sandbox uid can write
    i = argv.index("--")
    assert argv[i + 1].endswith("setpriv") and argv[i + 2 : i + 4] == ["--reuid", "65534"]
    assert argv[-2:] == ["-m", "studytool.grader.zygote"] and sys.executable in argv
    assert scratch == "/tmp"
    # and it runs: uid 65534 reads the tree through the directory it could not enter outside
    probe = [
        *argv[: i + 1],
        shutil.which("setpriv"),
        *sandbox._DROP,
        "/usr/bin/python3",
        "-S",
        str(tree / "hello.py"),
    ]
    r = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "uid 65534"


@pytest.mark.skipif(not shutil.which("bwrap"), reason="needs bwrap")
def test_a_venv_under_tmp_stays_visible_above_the_sandbox_tmp(monkeypatch):
    """A clone (and its venv) under /tmp: the sandbox's own /tmp hides it unless it is bound back,
    and the venv's bin/python symlink must not be bound on its own (bwrap cannot make that mount
    point inside the read-only venv bind)."""
    base = Path(tempfile.mkdtemp(prefix="venv-under-tmp-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        (base / ".venv" / "bin").mkdir(parents=True)
        python = base / ".venv" / "bin" / "python"
        python.symlink_to("/usr/bin/python3")
        (base / ".venv" / "marker.txt").write_text("seen\n")
        p = sandbox.plan()  # the real plan (bind-in when this checkout is under /root, say)
        monkeypatch.setattr(sandbox, "_interpreter_paths", lambda: [python, base / ".venv"])
        monkeypatch.setattr(sandbox, "_source_checkout", lambda: None)
        argv, env, _ = sandbox.build_command(p, sandbox.Limits())
        binds = [
            argv[i + 1] for i, a in enumerate(argv) if a == "--ro-bind" and argv[i + 1].startswith(str(base))
        ]
        assert binds == [str(base / ".venv")]
        # as root bwrap would make the way there mode 0700: it is made 0755 first
        assert ["--perms", "0755", "--dir", str(base)] == argv[
            argv.index(str(base)) - 3 : argv.index(str(base)) + 1
        ]
        cut = argv.index("--")
        inner = argv[cut + 1 :]
        head = inner[: inner.index(sys.executable)] if sys.executable in inner else []
        probe = [
            *argv[: cut + 1],
            *head,
            str(python),
            "-S",
            "-c",
            f"print(open('{base / '.venv' / 'marker.txt'}').read().strip())",
        ]
        kw = {}
        if p["run_as"] is not None:
            kw = {"user": p["run_as"], "group": p["run_as"], "extra_groups": []}
        r = subprocess.run(probe, capture_output=True, text=True, timeout=30, env=env, **kw)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "seen"
    finally:
        shutil.rmtree(base, ignore_errors=True)
