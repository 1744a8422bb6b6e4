"""Daemons nslab starts itself, found and stopped by the pid they wrote."""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TypeGuard

from ..poll import poll_until


def read_pid(path: Path | str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None) -> TypeGuard[int]:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after timeout seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if poll_until(lambda: not alive(pid), timeout, pause=0.1, max_pause=0.1):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
