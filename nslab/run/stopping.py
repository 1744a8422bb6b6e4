"""A step's command ended once its point is made (`stop_when`), the way the lab's author
pressed Ctrl-C after the first refusal instead of waiting for Docker's retries.

The watch runs on the machine, beside the command, so it costs no round trip: the command
starts in a session of its own, the container's log (since the command started) is read
every 0.1 s, and when it holds the text the whole session gets SIGTERM. A marker line at
the end of stderr says when; the run takes it off and records the stop in the step's
evidence.
"""
from __future__ import annotations

import shlex

from ..config.scenario import StopWhen

MARKER = "@@nslab-stopped-after-ticks@@"
TICK = 0.1


def watched(command: str, stop: StopWhen) -> str:
    """The command, wrapped in its watch (POSIX sh; setsid and docker on the machine)."""
    limit = max(1, int(stop.within / TICK))
    return (f"since=$(date +%s.%N); setsid sh -c {shlex.quote(command)} & pid=$!; ticks=0; "
            f"while kill -0 \"$pid\" 2>/dev/null; do "
            f"if [ \"$ticks\" -lt {limit} ] && docker logs --since \"$since\" {shlex.quote(stop.logs)} 2>&1 "
            f"| grep -qF -- {shlex.quote(stop.contains)}; then "
            f"kill -s TERM -- \"-$pid\" 2>/dev/null; printf '\\n%s %s\\n' {MARKER} \"$ticks\" >&2; break; fi; "
            f"sleep {TICK}; ticks=$((ticks + 1)); done; wait \"$pid\"")


def take_marker(stderr: str, stop: StopWhen) -> tuple[str, dict | None]:
    """The command's own stderr, and the stop as evidence (None when it ran to its end)."""
    head, found, tail = stderr.rpartition(f"\n{MARKER} ")
    if not found:
        return stderr, None
    ticks = tail.split()[0] if tail.split() else "0"
    return head, {"reason": f"the log of container '{stop.logs}' contains {stop.contains!r}",
                  "after_seconds": round(int(ticks) * TICK, 1) if ticks.isdigit() else None,
                  "signal": "SIGTERM"}
