"""One way to wait in tests: for a condition, never for a fixed time.

    wait_until(lambda: proc.poll() is not None, timeout=10, what="the service exits")
    await async_wait_until(lambda: screen.results, timeout=20, what="the grade arrives")

A fixed ``sleep`` is either too short on a loaded machine (a flaky test) or too long on a quiet
one (a slow suite); a bounded poll is neither. On timeout the assertion names what was awaited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate!r}")
        time.sleep(interval)


async def async_wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """:func:`wait_until` for async tests (Textual's Pilot): yields to the event loop while waiting."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate!r}")
        await asyncio.sleep(interval)
