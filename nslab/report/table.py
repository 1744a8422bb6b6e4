"""The verdict table a person reads at the end of a run, or of `invoke judge`.

Rows are steps as the live run (run/machine.py) or a re-judge (judge/run.py)
produced them: anything with machine, mode, number, title, status, seconds,
verdicts and detail.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from rich.console import Console
from rich.table import Table

from ..judge.verdict import Status, Verdict


class StepRow(Protocol):
    """A step as the table shows it (run/machine.py's StepOutcome, judge/run.py's StepJudgement)."""

    @property
    def machine(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def number(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def seconds(self) -> float: ...
    @property
    def verdicts(self) -> Sequence[Verdict]: ...
    @property
    def detail(self) -> str: ...


# Keyed by Status, which is a str: a status read back as a string finds its style too.
STYLES: dict[str, str] = {Status.PASS: "green", Status.FAIL: "bold red", Status.ERROR: "bold red",
                          Status.NOT_RUN: "yellow", Status.LIMITED: "magenta"}


def verdict_table(steps: Sequence[StepRow], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("machine", "mode", "#", "step", "verdict", "time", "what was judged"):
        table.add_column(column, overflow="fold")
    for s in steps:
        judged = "; ".join(f"{v.check}={v.status}" for v in s.verdicts) if s.status == Status.PASS else s.detail
        table.add_row(s.machine, s.mode, f"{s.number:02d}", s.title,
                      f"[{STYLES.get(s.status, '')}]{s.status}[/]", f"{s.seconds:.1f}s", judged)
    return table


def summary_line(steps: Sequence[StepRow]) -> str:
    counts = Counter(str(s.status) for s in steps)
    parts = [f"{counts[s]} {s}" for s in ("pass", "environment-limited", "fail", "error", "not-run") if counts[s]]
    return f"{len(steps)} steps: " + ", ".join(parts)


def print_outcomes(console: Console, steps: Sequence[StepRow], title: str) -> None:
    console.print(verdict_table(steps, title))
    console.print(summary_line(steps))
