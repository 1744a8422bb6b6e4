"""The one wait loop: ask again, with back-off, until an answer or the time is up."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(probe: Callable[[], T], timeout: float, pause: float = 0.05,
               max_pause: float = 2.0) -> T | None:
    """The first truthy result of probe(), or None once `timeout` seconds have passed.

    The pause doubles up to `max_pause`; an exception from probe() ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, max_pause)
