"""Confine a forked child before it imports the learner's file: non-dumpable and seccomp-filtered.

``confine(allow_fork)`` is called in every child the zygote forks, before the learner's code is
imported. Afterwards the child (and everything it starts; filters are inherited) cannot:

* make itself dumpable again (``prctl(PR_SET_DUMPABLE)``): while it is not dumpable, its
  ``/proc/self`` files belong to root, so it cannot write its own ``clear_refs`` (reset its peak
  memory) nor reach another process's ``/proc/<pid>/mem`` or ``fd``;
* reach another process: ``ptrace``, ``process_vm_readv``/``writev``, ``perf_event_open``, ``kcmp``,
  ``pidfd_*``; signals (``kill``, ``tgkill``, ``rt_sigqueueinfo``, ``rt_tgsigqueueinfo``) only to
  itself (``tkill`` not at all); ``fcntl(F_SETOWN)``/``F_SETSIG``/``F_SETOWN_EX`` and the ioctls
  ``FIOSETOWN``/``SIOCSPGRP`` (a SIGIO aimed at another pid is a signal too);
  ``prlimit64``/``sched_set*``/``sched_setaffinity`` only on itself; ``setpriority``/``ioprio_set``
  not at all;
* enter new namespaces (``unshare``, ``setns``, ``clone`` with namespace flags);
* hold memory outside itself and the capped /tmp: SysV shared memory, semaphores and message
  queues, POSIX message queues and ``memfd_create`` are refused (they would outlive the grade
  in the warm sandbox's IPC namespace, or escape the memory measurement);
* when ``allow_fork`` is false (measured runs): start a process at all — only threads — so all of
  its work shows in the rusage its parent takes with ``wait4``.

The filter is a hand-built classic BPF program (no library needed) for x86_64 and aarch64. Denied
calls fail with EPERM (``clone3`` with ENOSYS, so that libc falls back to ``clone``, whose flags the
filter can read). ``available()`` says whether this works here and, if not, why.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JSET_K = 0x45
_RET_K = 0x06
_ALLOW = 0x7FFF0000
_KILL = 0x80000000  # SECCOMP_RET_KILL_PROCESS
_ERRNO = 0x00050000
EPERM, ENOSYS = 1, 38

_CLONE_THREAD = 0x00010000
_NS_FLAGS = (
    0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080
)  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME

_F_SETOWN, _F_SETSIG, _F_SETOWN_EX = 8, 10, 15
_FIOSETOWN, _SIOCSPGRP = 0x8901, 0x8902

_ARCH = {
    "x86_64": (
        0xC000003E,
        {
            "ptrace": 101,
            "kill": 62,
            "tkill": 200,
            "tgkill": 234,
            "rt_sigqueueinfo": 129,
            "rt_tgsigqueueinfo": 297,
            "pidfd_send_signal": 424,
            "pidfd_open": 434,
            "pidfd_getfd": 438,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "process_madvise": 440,
            "prctl": 157,
            "unshare": 272,
            "setns": 308,
            "clone": 56,
            "clone3": 435,
            "fork": 57,
            "vfork": 58,
            "perf_event_open": 298,
            "kcmp": 312,
            "fcntl": 72,
            "ioctl": 16,
            "setpriority": 141,
            "ioprio_set": 251,
            "prlimit64": 302,
            "sched_setparam": 142,
            "sched_setscheduler": 144,
            "sched_setaffinity": 203,
            "sched_setattr": 314,
            "shmget": 29,
            "semget": 64,
            "msgget": 68,
            "mq_open": 240,
            "memfd_create": 319,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "ptrace": 117,
            "kill": 129,
            "tkill": 130,
            "tgkill": 131,
            "rt_sigqueueinfo": 138,
            "rt_tgsigqueueinfo": 240,
            "pidfd_send_signal": 424,
            "pidfd_open": 434,
            "pidfd_getfd": 438,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "process_madvise": 440,
            "prctl": 167,
            "unshare": 97,
            "setns": 268,
            "clone": 220,
            "clone3": 435,
            "perf_event_open": 241,
            "kcmp": 272,
            "fcntl": 25,
            "ioctl": 29,
            "setpriority": 140,
            "ioprio_set": 30,
            "prlimit64": 261,
            "sched_setparam": 118,
            "sched_setscheduler": 119,
            "sched_setaffinity": 122,
            "sched_setattr": 274,
            "shmget": 194,
            "semget": 190,
            "msgget": 186,
            "mq_open": 180,
            "memfd_create": 279,
        },
    ),
}


def _arg_lo(i: int) -> int:  # offset of the low 32 bits of argument i in struct seccomp_data
    return 16 + 8 * i


class _Prog:
    """A tiny assembler: blocks of 'if the syscall is N: ...' with forward jumps resolved at the end."""

    def __init__(self) -> None:
        self.ins: list[tuple[int, int, int, int]] = []

    def emit(self, code: int, jt: int = 0, jf: int = 0, k: int = 0) -> None:
        self.ins.append((code, jt, jf, k))

    def bytes(self) -> bytes:
        return b"".join(struct.pack("<HBBI", c, jt, jf, k & 0xFFFFFFFF) for c, jt, jf, k in self.ins)


def build(pid: int, allow_fork: bool, arch: str | None = None) -> bytes:
    """The filter program for process ``pid`` (its own pid: signals to it stay allowed)."""
    arch = arch or platform.machine()
    if arch not in _ARCH:
        raise OSError(f"no seccomp filter for architecture {arch}")
    audit, nr = _ARCH[arch]
    deny = _ERRNO | EPERM
    # per syscall: a list of (kind, ...) checks, evaluated after loading the syscall number
    rules: list[tuple[int, list]] = []

    def always(name: str, ret: int = deny) -> None:
        if name in nr:
            rules.append((nr[name], [("ret", ret)]))

    def only_self(name: str, arg: int, zero_ok: bool = False) -> None:
        checks: list = [("eq", arg, pid, _ALLOW)]
        if zero_ok:
            checks.append(("eq", arg, 0, _ALLOW))
        checks.append(("ret", deny))
        rules.append((nr[name], checks))

    for name in (
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "process_madvise",
        "pidfd_send_signal",
        "pidfd_open",
        "pidfd_getfd",
        "perf_event_open",
        "kcmp",
        "tkill",
        "unshare",
        "setns",
        "setpriority",
        "ioprio_set",
        # memory outside the process and the capped /tmp, which would outlive it
        "shmget",
        "semget",
        "msgget",
        "mq_open",
        "memfd_create",
    ):
        always(name)
    for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        only_self(name, 0)
    for name in ("prlimit64", "sched_setparam", "sched_setscheduler", "sched_setaffinity", "sched_setattr"):
        only_self(name, 0, zero_ok=True)
    rules.append((nr["prctl"], [("eq", 0, PR_SET_DUMPABLE, deny), ("ret", _ALLOW)]))
    rules.append(
        (
            nr["fcntl"],
            [
                ("eq", 1, _F_SETSIG, deny),
                ("eq", 1, _F_SETOWN_EX, deny),
                ("ne_then", 1, _F_SETOWN, _ALLOW),  # not F_SETOWN: allow
                ("eq", 2, pid, _ALLOW),
                ("ret", deny),
            ],
        )
    )
    rules.append((nr["ioctl"], [("eq", 1, _FIOSETOWN, deny), ("eq", 1, _SIOCSPGRP, deny), ("ret", _ALLOW)]))
    always("clone3", _ERRNO | ENOSYS)
    if allow_fork:
        rules.append((nr["clone"], [("set", 0, _NS_FLAGS, deny), ("ret", _ALLOW)]))
    else:
        rules.append(
            (nr["clone"], [("set", 0, _NS_FLAGS, deny), ("set", 0, _CLONE_THREAD, _ALLOW), ("ret", deny)])
        )
        always("fork")
        always("vfork")

    p = _Prog()
    p.emit(_LD_W_ABS, k=4)  # arch
    p.emit(_JEQ_K, 1, 0, audit)
    p.emit(_RET_K, k=_KILL)
    p.emit(_LD_W_ABS, k=0)  # syscall number
    if arch == "x86_64":  # x32 ABI numbers have bit 30 set: refuse them outright
        p.emit(_JSET_K, 0, 1, 0x40000000)
        p.emit(_RET_K, k=deny)
    for number, checks in rules:
        body = _Prog()
        for chk in checks:
            kind = chk[0]
            if kind == "ret":
                body.emit(_RET_K, k=chk[1])
                continue
            _, arg, value, ret = chk
            body.emit(_LD_W_ABS, k=_arg_lo(arg))
            if kind == "eq":
                body.emit(_JEQ_K, 0, 1, value)
            elif kind == "set":
                body.emit(_JSET_K, 0, 1, value)
            elif kind == "ne_then":
                body.emit(_JEQ_K, 1, 0, value)
            body.emit(_RET_K, k=ret)
        # jump over this block when it is not our syscall (the accumulator is reloaded per block)
        p.emit(_LD_W_ABS, k=0)
        if len(body.ins) > 255:
            raise OSError("seccomp block too long")
        p.emit(_JEQ_K, 0, len(body.ins), number)
        p.ins.extend(body.ins)
    p.emit(_RET_K, k=_ALLOW)
    return p.bytes()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, a: int = 0, b: int = 0) -> int:
    return _libc.prctl(
        ctypes.c_int(option), ctypes.c_ulong(a), ctypes.c_ulong(b), ctypes.c_ulong(0), ctypes.c_ulong(0)
    )


def confine(allow_fork: bool = True) -> None:
    """Make this process non-dumpable and install the filter. Raises OSError if it cannot."""
    if _prctl(PR_SET_DUMPABLE, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
    prog = build(os.getpid(), allow_fork)
    buf = ctypes.create_string_buffer(prog, len(prog))
    fprog = _SockFprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if (
        _libc.prctl(
            ctypes.c_int(PR_SET_SECCOMP),
            ctypes.c_ulong(SECCOMP_MODE_FILTER),
            ctypes.byref(fprog),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
        )
        != 0
    ):
        err = ctypes.get_errno()
        raise OSError(err, f"installing the seccomp filter failed ({os.strerror(err)})")


def available() -> tuple[bool, str]:
    """(works here, how or why not) — tried in a throwaway child so this process stays unfiltered."""
    if platform.machine() not in _ARCH:
        return False, f"no seccomp filter for architecture {platform.machine()}"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        msg = b"ok"
        try:
            confine(allow_fork=False)
            try:
                os.kill(os.getppid(), 0)
                msg = b"filter installed but a signal to another process was not refused"
            except PermissionError:
                pass
        except OSError as exc:
            msg = str(exc).encode()[:300]
        os.write(w, msg)
        os._exit(0)
    os.close(w)
    out = b""
    while chunk := os.read(r, 1024):
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    if out == b"ok":
        return True, "seccomp filter (hand-built BPF) and non-dumpable children"
    return False, out.decode(errors="replace") or "the test child died"
