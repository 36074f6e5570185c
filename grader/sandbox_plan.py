"""The sandbox's launch plan: which isolation this machine offers, and the command that starts a
process in it — torch-free and light, shared by the grader's service (the zygote) and the core's
lab launcher (the one module the core may import from the grader; see the import contracts).

Isolation, strongest first (``STUDYTOOL_SANDBOX`` = ``auto`` | ``bwrap`` | ``fallback`` forces one):

* ``bwrap``: bubblewrap started as the unprivileged uid 65534 when we are root (so RLIMIT_NPROC
  binds), with new user/PID/network/IPC/UTS namespaces, a read-only view of ``/``, a size-capped
  tmpfs ``/tmp`` as the only writable place, the data directory hidden, ``--new-session`` and
  ``--die-with-parent``. When uid 65534 cannot reach the interpreter or the checkout (a venv or
  clone under /root, say), bwrap runs as root without a user namespace, mounts a tmpfs over each
  directory that blocks the way and binds the needed trees back in, then ``setpriv`` drops to the
  real uid 65534 inside, so RLIMIT_NPROC still binds ("bind-in" below). Only where that fails too
  does bwrap run with ``--uid 65534`` mapped to root, and the report says NPROC does not bind.
* ``fallback`` (no bwrap): a new session, rlimits, uid 65534 when root and the interpreter is
  readable, ``unshare --net`` when available, and the zygote kills every descendant after a grade.

This module imports no torch and nothing of the core: ``plan()`` is cheap and the service calls it
before importing torch.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOBODY = 65534
PACKAGE_ROOT = Path(__file__).resolve().parent  # .../grader (studytool.grader)


@dataclass
class Limits:
    """Per-grade limits. Times in seconds, sizes in bytes."""

    time_s: float = 3.0  # wall clock per test (a TestCase may override)
    import_time_s: float = 20.0  # wall clock to import the learner's file (a heavy library such as
    #                              transformers takes 3-5 s alone, several times that on a busy machine)
    mem_bytes: int = 1024 * 1024 * 1024  # heap (RLIMIT_DATA) beyond what the warm zygote uses
    fsize: int = 16 * 1024 * 1024  # largest file the learner may write
    scratch_bytes: int = 64 * 1024 * 1024  # size of the writable tmpfs (bwrap)
    output_bytes: int = 1024 * 1024  # stdout+stderr before the program is stopped
    nproc: int = 64  # processes of the sandbox uid (binds only for a real non-root uid)
    result_bytes: int = 64 * 1024 * 1024  # materialised bytes of one probe's result

    @classmethod
    def from_dict(cls, d: dict | None) -> Limits:
        lim = cls()
        for k, v in (d or {}).items():
            if hasattr(lim, k):
                setattr(lim, k, type(getattr(lim, k))(v))
        return lim


def _world_readable(path: Path) -> bool:
    """Could uid 65534 (not owner, not in group) reach and read ``path``?"""
    try:
        path = path.resolve()
        parts = [path, *path.parents]
        for p in parts:
            st = p.stat()
            if p == path and not stat.S_ISDIR(st.st_mode):
                if not st.st_mode & stat.S_IROTH:
                    return False
            elif not st.st_mode & stat.S_IXOTH:
                return False
        return True
    except OSError:
        return False


def _interpreter_paths() -> list[Path]:
    paths = [
        Path(sys.executable),
        Path(os.path.realpath(sys.executable)),
        PACKAGE_ROOT,
        Path(sys.prefix),
        Path(sys.base_prefix),
    ]
    import sysconfig

    for key in ("stdlib", "purelib", "platlib"):
        try:
            paths.append(Path(sysconfig.get_paths()[key]))
        except KeyError:
            pass
    try:
        import importlib.util

        spec = importlib.util.find_spec("torch")
        if spec and spec.origin:
            paths.append(Path(spec.origin).parent)
    except Exception:  # noqa: BLE001
        pass
    return paths


def _needed_paths() -> list[Path]:
    """Every tree the zygote reads: the interpreter, its libraries and the studytool package."""
    import studytool

    return [*_interpreter_paths(), Path(studytool.__file__).resolve().parent]


def _bind_ins() -> list[tuple[str, str]]:
    """(blocking dir, tree to bind back) for each needed path that uid 65534 cannot reach.

    The blocking dir is the outermost ancestor others may not enter (e.g. /root); the tree is its
    child on the way to the needed path (e.g. /root/checkout), bound back over a tmpfs.
    """
    out: set[tuple[str, str]] = set()
    for path in _needed_paths():
        try:
            path = path.resolve()
        except OSError:
            continue
        chain = [*reversed(path.parents), path]
        for parent, child in zip(chain, chain[1:]):
            try:
                if not parent.stat().st_mode & stat.S_IXOTH:
                    out.add((str(parent), str(child)))
                    break
            except OSError:
                break
    return sorted(out)


def _mount_point_dirs(trees: list[str], tmpfs_roots: list[str]) -> list[str]:
    """``--dir`` for every directory bwrap would have to create on the way to a bind inside one of
    our tmpfs mounts: as root it makes them mode 0700, which uid 65534 could not pass."""
    args: list[str] = []
    made: set[str] = set()
    for tree in trees:
        for root in tmpfs_roots:
            if tree != root and _under(tree, root):
                parts = Path(tree).relative_to(root).parts[:-1]
                for i in range(1, len(parts) + 1):
                    d = str(Path(root, *parts[:i]))
                    if d not in made:
                        made.add(d)
                        args += ["--perms", "0755", "--dir", d]
    return args


def _bind_in_args(bind_ins: list[tuple[str, str]]) -> list[str]:
    args: list[str] = []
    blockers = sorted({b for b, _ in bind_ins})
    for blocker in blockers:
        args += ["--tmpfs", blocker]
    args += _mount_point_dirs([t for _, t in bind_ins], blockers)
    for _, tree in bind_ins:
        args += ["--ro-bind", tree, tree]
    return args


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _source_checkout() -> str | None:
    """The project root when studytool runs from a source checkout (an editable install)."""
    import studytool

    root = PACKAGE_ROOT.parent
    if Path(studytool.__file__).resolve().parent.parent != root or not (root / "pyproject.toml").is_file():
        return None
    return str(root)


def _checkout_trees(checkout: str) -> list[str]:
    """The top-level entries of the checkout that hold something the zygote reads."""
    root = Path(checkout)
    out: set[str] = set()
    for path in _needed_paths():
        try:
            rel = path.resolve().relative_to(root)
        except (OSError, ValueError):
            continue
        if rel.parts:
            out.add(str(root / rel.parts[0]))
    return sorted(out)


_DROP = ["--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups", "--"]
_BIND_IN_NS = [
    "--unshare-ipc",
    "--unshare-pid",
    "--unshare-net",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--cap-add",
    "CAP_SETUID",
    "--cap-add",
    "CAP_SETGID",
]


def _bind_in_works(bwrap: str, setpriv: str, bind_ins: list[tuple[str, str]]) -> tuple[bool, str]:
    """Can the zygote's imports load as uid 65534 with the blocked trees bound back in?"""
    args = [
        bwrap,
        *_BIND_IN_NS,
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        *_bind_in_args(bind_ins),
        "--chdir",
        "/tmp",
        "--",
        setpriv,
        *_DROP,
        sys.executable,
        "-B",
        "-s",
        "-c",
        f"import os, tempfile, studytool.grader.wire; assert os.getuid() == {NOBODY}; "
        "tempfile.mkdtemp(dir='/tmp')",
    ]
    try:
        r = subprocess.run(args, capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()[-300:]


def _bwrap_works(bwrap: str, as_user: int | None) -> tuple[bool, str]:
    args = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--",
        "/bin/true",
    ]
    if as_user is None and os.geteuid() == 0:
        args[1:1] = ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    kw: dict[str, Any] = {}
    if as_user is not None:
        kw = {"user": as_user, "group": as_user, "extra_groups": []}
    try:
        r = subprocess.run(args, capture_output=True, timeout=10, **kw)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()[:300]


_PLAN: dict | None = None


def plan(refresh: bool = False) -> dict:
    """Which isolation we will use here, and why. Cheap (one bwrap test run, cached)."""
    global _PLAN
    if _PLAN is not None and not refresh:
        return _PLAN
    want = os.environ.get("STUDYTOOL_SANDBOX", "auto").strip().lower() or "auto"
    root = os.geteuid() == 0
    readable = all(_world_readable(p) for p in _interpreter_paths())
    notes: list[str] = []
    bwrap = shutil.which("bwrap")
    mode, run_as, inner_uid = "fallback", None, os.geteuid()
    bind_ins: list[tuple[str, str]] = []
    if want in ("auto", "bwrap") and bwrap:
        if root and readable:
            ok, err = _bwrap_works(bwrap, NOBODY)
            if ok:
                mode, run_as, inner_uid = "bwrap", NOBODY, NOBODY
            else:
                notes.append(f"bwrap as uid {NOBODY} failed ({err}); trying as root")
        elif root:
            setpriv = shutil.which("setpriv")
            blocked = _bind_ins()
            ok, err = _bind_in_works(bwrap, setpriv, blocked) if setpriv else (False, "no setpriv")
            if ok:
                mode, inner_uid, bind_ins = "bwrap", NOBODY, blocked
                notes.append(
                    f"uid {NOBODY} cannot enter {', '.join(sorted({b for b, _ in blocked}))}: "
                    f"bwrap binds {', '.join(t for _, t in blocked)} back in and drops to "
                    f"uid {NOBODY} inside"
                )
            else:
                notes.append(f"binding the interpreter in for uid {NOBODY} failed ({err})")
        if mode == "fallback":
            ok, err = _bwrap_works(bwrap, None)
            if ok:
                mode, run_as = "bwrap", None
                inner_uid = NOBODY if root else os.geteuid()
                if root:
                    notes.append(
                        f"the interpreter is not readable by uid {NOBODY}"
                        if not readable
                        else "bwrap could not start as an unprivileged uid"
                    )
                    notes.append(
                        "uid 65534 inside a user namespace maps to root outside: "
                        "RLIMIT_NPROC does not bind (fork swarms are bounded by time "
                        "and the PID namespace only)"
                    )
            else:
                notes.append(f"bwrap present but unusable: {err}")
    elif want == "bwrap" and not bwrap:
        notes.append("STUDYTOOL_SANDBOX=bwrap but bwrap is not installed")
    elif not bwrap:
        notes.append("bwrap not installed (Debian: apt-get install bubblewrap): weaker isolation")
    if mode == "fallback":
        if root and readable:
            run_as, inner_uid = NOBODY, NOBODY
        elif root:
            notes.append(f"the interpreter is not readable by uid {NOBODY}: learner code runs as root")
    unshare = None
    if mode == "fallback" and root:
        unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
        try:
            ok = (
                bool(unshare)
                and subprocess.run(
                    [unshare, "--net", "--", "/bin/true"], capture_output=True, timeout=10
                ).returncode
                == 0
            )
        except (OSError, subprocess.SubprocessError):
            ok = False
        if not ok or (run_as is not None and not setpriv):
            unshare = None
            notes.append("could not unshare the network: learner code can reach the network")
    _PLAN = {
        "mode": mode,
        "bwrap": bwrap,
        "run_as": run_as,
        "uid": inner_uid,
        "unprivileged": inner_uid != 0,
        "nproc_binds": run_as is not None or bool(bind_ins) or not root,
        "bind_in": [list(b) for b in bind_ins],
        "pid_namespace": mode == "bwrap",
        "network": "none" if (mode == "bwrap" or unshare) else "host",
        "filesystem": (
            "a read-only root with only the interpreter, its libraries, the venv and "
            "the grader's sandbox code; one writable place, a 64 MiB tmpfs /tmp"
        )
        if mode == "bwrap"
        else "host (rlimits only)",
        "unshare": unshare,
        "notes": notes,
    }
    return _PLAN


def _sandbox_env(pidns: bool, scratch: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "STUDYTOOL_SANDBOX_PIDNS": "1" if pidns else "0",
        "STUDYTOOL_SCRATCH": scratch,
    }
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    for key in ("STUDYTOOL_NO_SECCOMP", "STUDYTOOL_TEST_FAIL_SETUP"):  # tests only
        if os.environ.get(key):
            env[key] = os.environ[key]
    return env


def spawn(argv: list[str], **popen_kw: Any) -> subprocess.Popen:
    """Popen ``argv``; for bwrap, its options (everything up to the command) travel through a pipe
    (``bwrap --args FD``), so the sandbox's /proc/1/cmdline (bwrap itself, as the PID namespace's
    init) names no host path.

    Every sandbox — the grader's zygote and the lab's runner — starts here. In the test suite,
    ``STUDYTOOL_TEST_NO_SANDBOX`` (set by tests/conftest.py for tests not marked ``sandbox``)
    makes this refuse, so a test cannot start the sandbox without its marker (the fast loop,
    ``make test-fast``, would otherwise be slow without saying why)."""
    unmarked = os.environ.get("STUDYTOOL_TEST_NO_SANDBOX")
    if unmarked:
        raise OSError(
            f"test {unmarked} starts the sandbox but is not marked sandbox "
            "(use the grade/grader_service fixtures, or @pytest.mark.sandbox)"
        )
    if not argv or os.path.basename(argv[0]) != "bwrap" or "--" not in argv:
        return subprocess.Popen(argv, **popen_kw)
    cut = argv.index("--")
    blob = b"".join(a.encode() + b"\0" for a in argv[1:cut])
    r, w = os.pipe()
    try:
        if len(blob) > 60000:
            raise OSError("bwrap options too long for one pipe write")
        os.write(w, blob)
        os.close(w)
        w = -1
        popen_kw["pass_fds"] = tuple(popen_kw.get("pass_fds", ())) + (r,)
        return subprocess.Popen([argv[0], "--args", str(r), *argv[cut:]], **popen_kw)
    finally:
        if w != -1:
            os.close(w)
        os.close(r)


_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")


def _trees(hide: list[str] | None) -> list[str]:
    """The host trees the sandbox shows besides the system directories: the venv (and any other
    interpreter tree outside /usr) and, for a source checkout, only the package trees the zygote
    imports from — none inside another."""
    want: set[str] = set()
    for path in _interpreter_paths():
        try:
            rp = os.path.realpath(path)
        except OSError:
            continue
        if not os.path.exists(rp) or any(_under(rp, d) for d in _SYSTEM_DIRS):
            continue
        want.add(rp if os.path.isdir(rp) else os.path.dirname(rp))
    checkout = _source_checkout()
    if checkout is not None:
        want.discard(checkout)
        want.update(_checkout_trees(checkout))
    # a checkout's package trees replace the checkout itself; the venv inside it stays
    want = {w for w in want if checkout is None or w != checkout}
    covered: list[str] = []
    for tree in sorted(want):
        if not any(_under(tree, c) for c in covered):
            covered.append(tree)
    return covered


def _root_layout(limits: Limits, hide: list[str] | None) -> list[str]:
    """bwrap options for a root that holds only what grading needs: the system directories (the
    interpreter and its libraries), the dynamic loader's cache, a read-only /dev, /proc, the
    venv and package trees (without the grader's references, checks and probes), and one
    size-capped tmpfs /tmp — the only writable place."""
    args: list[str] = []
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    args += ["--perms", "0755", "--dir", "/etc"]
    for f in _ETC:
        if os.path.islink(f):
            args += ["--symlink", os.readlink(f), f]
        elif os.path.exists(f):
            args += ["--ro-bind", f, f]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--remount-ro",
        "/dev",
        "--ro-bind-try",
        "/sys/devices/system/cpu",
        "/sys/devices/system/cpu",
        "--perms",
        "1777",
        "--size",
        str(limits.scratch_bytes),
        "--tmpfs",
        "/tmp",
    ]
    made = {"/", "/etc", "/tmp", "/proc", "/dev", "/sys", "/sys/devices", "/sys/devices/system"}
    trees = _trees(hide)
    for tree in trees:
        for parent in reversed(Path(tree).parents):
            d = str(parent)
            if d not in made:
                made.add(d)
                args += ["--perms", "0755", "--dir", d]
        args += ["--ro-bind", tree, tree]
    # the learner must not import the references or read the checks and probes from inside
    for secret in ("references", "checks", "probes"):
        if (PACKAGE_ROOT / secret).is_dir() and any(_under(str(PACKAGE_ROOT), t) for t in trees):
            args += ["--tmpfs", str(PACKAGE_ROOT / secret)]
    for h in hide or []:
        if os.path.isdir(h) and any(_under(h, t) and h != t for t in trees):
            args += ["--tmpfs", h]
    args += ["--remount-ro", "/"]  # the root tmpfs itself: not a writable place
    return args


def build_command(
    p: dict, limits: Limits, hide: list[str] | None = None, module: str = "studytool.grader.zygote"
) -> tuple[list[str], dict, str]:
    """(argv, env, scratch dir as seen inside) for starting ``python -m module`` (the zygote by
    default) under plan ``p``. Start it with :func:`spawn`, which hands bwrap its options through
    a pipe (``--args``), so that no host path appears in the sandbox's /proc/1/cmdline."""
    py = [sys.executable, "-B", "-s", "-m", module]
    if p["mode"] == "bwrap":
        argv = [p["bwrap"]]
        bind_in = [tuple(b) for b in p.get("bind_in") or []]
        if bind_in:  # root, no user namespace: bwrap reaches the trees, uid 65534 runs inside
            argv += [*_BIND_IN_NS]
            py = [shutil.which("setpriv") or "setpriv", *_DROP, *py]
        else:
            if p["run_as"] is None and os.geteuid() == 0:
                argv += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
            elif p["run_as"] is not None:
                argv += ["--unshare-user", "--disable-userns"]
            argv += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        argv += _root_layout(limits, hide)
        argv += ["--chdir", "/tmp", "--"] + py
        return argv, _sandbox_env(True, "/tmp"), "/tmp"
    import tempfile

    scratch = tempfile.mkdtemp(prefix="studytool-sandbox-")
    if p["run_as"] is not None:
        os.chown(scratch, p["run_as"], p["run_as"])
    os.chmod(scratch, 0o700)
    argv = py
    if p.get("unshare"):  # as root: a new network namespace, then drop to the sandbox uid
        argv = [p["unshare"], "--net", "--"]
        if p["run_as"] is not None:
            argv += [
                shutil.which("setpriv") or "setpriv",
                f"--reuid={p['run_as']}",
                f"--regid={p['run_as']}",
                "--clear-groups",
                "--",
            ]
        argv += py
    return argv, _sandbox_env(False, scratch), scratch


def popen_user(p: dict) -> dict[str, Any]:
    """Popen keywords that start a sandbox process as the plan's unprivileged uid (none where the
    plan drops privileges itself: bwrap's own uid mapping, or `unshare` + setpriv as root)."""
    if p["run_as"] is not None and not (p["mode"] == "fallback" and p.get("unshare")):
        return {"user": p["run_as"], "group": p["run_as"], "extra_groups": []}
    return {}
