from __future__ import annotations

import time

import pytest
from waiting import async_wait_until, wait_until


def test_wait_until_returns_the_first_truthy_value():
    t0 = time.monotonic()
    calls = []

    def ready():
        calls.append(1)
        return len(calls) >= 3 and "yes"

    assert wait_until(ready, timeout=5, interval=0.01) == "yes"
    assert len(calls) == 3 and time.monotonic() - t0 < 5


def test_wait_until_names_what_it_waited_for():
    with pytest.raises(AssertionError, match="the door opens"):
        wait_until(lambda: False, timeout=0.05, interval=0.01, what="the door opens")


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_async_wait_until():
    box = []
    assert await async_wait_until(lambda: box.append(1) or len(box) > 2, timeout=5, interval=0.01)
    with pytest.raises(AssertionError, match="never"):
        await async_wait_until(lambda: None, timeout=0.05, interval=0.01, what="never")
