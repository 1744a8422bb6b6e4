"""`invoke history`: the kept nights as cells × nights, one self-contained HTML page and Markdown."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .nights import Night, Record, engine_of, verdicts_of

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class Square:
    """One cell on one night."""
    state: str            # passed, failed, error, not available here, … or "absent"
    verdicts: str
    engine: str
    changes: list[str]
    run: str | None


def grid(nights: list[Night]) -> tuple[list[str], dict[tuple[str, str], Square]]:
    cells = sorted({name for night in nights for name in night.cells})
    squares = {}
    for night in nights:
        changed: dict[str, list[str]] = {}
        for change in night.changes:
            changed.setdefault(change["cell"], []).append(change["text"])
        for name in cells:
            cell = night.cells.get(name)
            if cell is None:
                squares[(name, night.name)] = Square("absent", "", "", changed.get(name, []), None)
                continue
            squares[(name, night.name)] = Square(cell["state"], verdicts_of(cell), engine_of(cell),
                                                 changed.get(name, []), cell.get("run"))
    return cells, squares


def first_seen(nights: list[Night]) -> list[Record]:
    """Every change, at the first night it appeared (the same change again later is counted, not repeated)."""
    seen: dict[tuple[Any, ...], Record] = {}
    for night in nights:
        for change in night.changes:
            key = (change["cell"], change["mode"], change["step"], change["fact"], repr(change["after"]))
            if key in seen:
                seen[key]["again"].append(night.name)
            else:
                seen[key] = {**change, "night": night.name, "again": []}
    return list(seen.values())


def _report_link(night: Night, out: Path) -> str:
    return os.path.relpath(night.path / "report" / "report.html", out.parent)


def render_html(nights: list[Night], out: Path) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     trim_blocks=True, lstrip_blocks=True)
    cells, squares = grid(nights)
    return environment.get_template("history.html.j2").render(
        nights=nights, cells=cells, squares=squares, changes=first_seen(nights),
        links={night.name: _report_link(night, out) for night in nights})


def render_markdown(nights: list[Night], out: Path) -> str:
    cells, squares = grid(nights)
    mark = {"passed": "✅", "failed": "❌", "error": "❌", "absent": "·"}
    lines = ["# nslab history", "", f"{len(nights)} night(s), {len(cells)} cell(s). ✅ passed · ❌ failed or "
             "error · Δ a fact or verdict changed since the night before", ""]
    lines.append("| cell | " + " | ".join(f"[{n.name}]({_report_link(n, out)})" for n in nights) + " |")
    lines.append("|---" * (len(nights) + 1) + "|")
    for name in cells:
        row = []
        for night in nights:
            square = squares[(name, night.name)]
            row.append(mark.get(square.state, "⚠ " + square.state) + (" Δ" if square.changes else ""))
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    changes = first_seen(nights)
    if changes:
        lines += ["", "## Changes, at the night each first appeared", ""]
        lines += [f"- {c['night']}: {c['text'].replace('|', '/')}"
                  + (f" (again: {', '.join(c['again'])})" if c["again"] else "") for c in changes]
    return "\n".join(lines) + "\n"
