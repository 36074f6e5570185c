"""One app per data directory: the lock a running app holds, so a second one can say at start that
another is open (Anki refuses a second open of a profile; we warn, and a card rated in both is
still rated once — see :mod:`studytool.review`).

The lock is ``flock(2)`` on ``<data>/app.lock``: the kernel drops it when its holder's process ends
however it ends (a crash, ``kill -9``), so a dead app never blocks the next one. The file holds the
holder's pid and start time for the message; it is read only while the lock is held by someone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from studytool import locations
from studytool.store import to_iso, utcnow

try:
    import fcntl
except ImportError:  # not on Linux/macOS: no lock (and no warning)
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Holder:
    """The app that holds the lock."""

    pid: int
    started: str | None  # ISO UTC


def _read(fd: int) -> Holder:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
        return Holder(int(data.get("pid", 0)), data.get("started"))
    except (OSError, ValueError, TypeError, AttributeError):
        return Holder(0, None)


class AppLock:
    """``acquire()`` once at start; held until ``release()`` or the process ends."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or locations.app_lock_path()
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> Holder | None:
        """Take the lock. Returns None when this process now holds it, else the other holder
        (and this process does not hold it)."""
        if fcntl is None or self._fd is not None:
            return None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by children
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read(fd)
            os.close(fd)
            return holder
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "started": to_iso(utcnow())}).encode("utf-8"))
        self._fd = fd
        return None

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # closing drops the flock


def acquire(path: Path | None = None) -> tuple[AppLock, Holder | None]:
    """(the lock, None) when this app is the only one; (an unheld lock, the holder) otherwise."""
    lock = AppLock(path)
    return lock, lock.acquire()


def app_holder(path: Path | None = None) -> Holder | None:
    """Is an app open on this data? (A look only: the lock is not kept.)"""
    if fcntl is None:
        return None
    p = path or locations.app_lock_path()
    if not p.exists():
        return None
    fd = os.open(p, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # free: nobody holds it exclusively
    except OSError:
        return _read(fd)
    finally:
        os.close(fd)
    return None
