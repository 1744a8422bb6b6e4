"""What a person reads at the end of a run."""
from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from .runner import StepOutcome

STYLES = {"pass": "green", "fail": "bold red", "error": "bold red", "not-run": "yellow",
          "environment-limited": "magenta"}


def verdict_table(outcomes: list[StepOutcome], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("machine", "mode", "#", "step", "verdict", "time", "what was judged"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        judged = "; ".join(f"{v.check}={v.status}" for v in o.verdicts) if o.status == "pass" else o.detail
        table.add_row(o.machine, o.mode, f"{o.number:02d}", o.title,
                      f"[{STYLES.get(o.status, '')}]{o.status}[/]", f"{o.seconds:.1f}s", judged)
    return table


def summary_line(outcomes: list[StepOutcome]) -> str:
    counts = Counter(o.status for o in outcomes)
    parts = [f"{counts[s]} {s}" for s in ("pass", "environment-limited", "fail", "error", "not-run")
             if counts[s]]
    return f"{len(outcomes)} steps: " + ", ".join(parts)


def print_outcomes(console: Console, outcomes: list[StepOutcome], title: str) -> None:
    console.print(verdict_table(outcomes, title))
    console.print(summary_line(outcomes))
