"""Waiting for a condition in another process or thread, without fixed sleeps."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, step: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy or ``timeout`` passes; return the
    last value (falsy on timeout), so callers can assert on it with a message."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = predicate()
    return value
