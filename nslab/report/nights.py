"""Nights kept by `invoke nightly`: each one's runs, its comparison with the night before, and what changed.

A night is a folder `<date>[-N]/` holding `runs/` (the cells' run directories, copied whole), `report/`
(the comparison's reports, drift included), `summary.md` and `night.json`, written last: a folder
without a readable `night.json` is not a night. Everything here reads and writes files only.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..run.layout import MANIFEST, write_atomic, write_json
from .compare import Change, Comparison, build, drift, resolve_runs
from .formats import write_reports

NIGHT_FILE = "night.json"
# The newest night recorded in a folder, by name: written only once the night is whole.
LATEST_FILE = "LATEST"
#: A JSON object of night.json: the night itself, one of its cells, one of its changes.
Record = dict[str, Any]


@dataclass
class Night:
    path: Path
    record: Record

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def cells(self) -> dict[str, Record]:
        return {cell["cell"]: cell for cell in self.record["cells"]}

    @property
    def changes(self) -> list[Record]:
        changes: list[Record] = self.record.get("changes", [])
        return changes

    def runs(self) -> list[Path]:
        return runs_in(self.path / "runs")


def runs_in(folder: Path) -> list[Path]:
    return resolve_runs([str(folder)], folder) if folder.is_dir() and any(folder.glob(f"*/{MANIFEST}")) else []


def kept_nights(folder: Path) -> list[Night]:
    """The nights kept in a folder, oldest first; a night.json that cannot be read is named."""
    nights = []
    for path in sorted(folder.glob(f"*/{NIGHT_FILE}")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
            record["started"], record["cells"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a night nslab wrote ({type(exc).__name__}: {exc})") from None
        nights.append(Night(path.parent, record))
    return sorted(nights, key=lambda night: night.record["started"])


def new_night_folder(folder: Path, now: datetime) -> Path:
    """`<date>`, or `<date>-2`, `-3`… for more nights the same day."""
    base = now.strftime("%Y-%m-%d")
    name, number = base, 1
    while (folder / name).exists():
        number += 1
        name = f"{base}-{number}"
    path = folder / name
    path.mkdir(parents=True)
    return path


def cell_states(comparison: Comparison, planned: list[Record]) -> list[Record]:
    """Per cell (box/lab): its state, verdict counts, distro and Docker, and its run."""
    cells: dict[str, Record] = {}
    for column in comparison.columns:
        for scenario, run_id in zip(column.scenarios, column.run_ids, strict=True):
            cells[f"{column.machine}/{scenario}"] = {
                "cell": f"{column.machine}/{scenario}", "box": column.machine, "scenario": scenario,
                "distro": column.distro, "docker_version": column.docker_version, "run": run_id,
                "counts": {}, "flags": list(column.flags)}
    for (row, key), cell in comparison.cells.items():
        column = next(c for c in comparison.columns if c.key == key)
        counts = cells[f"{column.machine}/{row[0]}"]["counts"]
        counts[cell.status] = counts.get(cell.status, 0) + 1
    for entry in cells.values():
        failing = {"fail", "error", "not-run"} & set(entry["counts"])
        # A run that broke before its first step (a bring-up that failed) has no step to count.
        entry["state"] = "error" if not entry["counts"] else "failed" if failing else "passed"
    for plan in planned:             # cells of the matrix that left no run (box build failed, not available)
        name = f"{plan['box']}/{plan['scenario']}"
        if name not in cells:
            cells[name] = {"cell": name, "box": plan["box"], "scenario": plan["scenario"], "state": plan["state"],
                           "detail": plan.get("detail", ""), "counts": {}, "run": None, "flags": []}
    return sorted(cells.values(), key=lambda c: c["cell"])


def cell_changes(before: dict[str, Record], after: dict[str, Record]) -> list[Change]:
    """Cells that came, went, or changed state (a verdict turned, a box that could not be built)."""
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        box, scenario = name.split("/", 1)
        old_state = old["state"] if old else "absent"
        new_state = new["state"] if new else "absent"
        if old_state != new_state:
            changes.append(Change((scenario, "", ""), box, "cell", old_state, new_state,
                                  engine_of(old), engine_of(new)))
    return changes


def engine_of(cell: Record | None) -> str:
    """A kept cell's distro and Docker, as a change names them."""
    return f"{cell['distro']}, Docker {cell['docker_version']}" if cell and cell.get("distro") else ""


def verdicts_of(cell: Record) -> str:
    """A kept cell's verdict counts ("20 pass"), or why it has none."""
    return ", ".join(f"{n} {s}" for s, n in sorted(cell["counts"].items())) or cell.get("detail", "")


def record_night(path: Path, planned: list[Record], baseline: Night | None, now: datetime | None = None) -> Night:
    """Judges the night's runs again, compares them with the baseline night, writes the reports,
    the summary and night.json (last)."""
    started = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    runs = runs_in(path / "runs")
    comparison = build(runs)
    cells = cell_states(comparison, planned)
    changes: list[Change] = []
    if baseline is not None:
        after = {c["cell"]: c for c in cells}
        changes = cell_changes(baseline.cells, after)
        # A cell with no run on one side is named once, as a cell, not step by step.
        whole = {name for side in (baseline.cells, after) for name, cell in side.items() if not cell.get("run")}
        whole |= set(baseline.cells) ^ set(after)
        changes += [c for c in drift(comparison, build(baseline.runs())) if f"{c.machine}/{c.row[0]}" not in whole]
    write_reports(comparison, changes, path / "report")
    record = {
        "night": path.name, "started": started,
        "baseline": baseline.name if baseline else None,
        "cells": cells,
        "changes": [{"cell": f"{c.machine}/{c.row[0]}", "mode": c.row[1], "step": c.row[2], "fact": c.fact,
                     "before": c.before, "after": c.after, "before_engine": c.before_engine,
                     "after_engine": c.after_engine, "text": c.describe()} for c in changes],
        "evidence_problems": sorted({f"{c['cell']}: {flag}" for c in cells for flag in c["flags"]}),
    }
    night = Night(path, record)
    write_atomic(path / "summary.md", summary_markdown(night, baseline))
    write_json(path / NIGHT_FILE, record)
    write_atomic(path.parent / LATEST_FILE, path.name + "\n")
    return night


def summary_markdown(night: Night, baseline: Night | None) -> str:
    """The morning summary (a CI job summary): cells, and what changed since the night before."""
    lines = [f"# nslab nightly {night.name}", ""]
    lines.append(f"Baseline: night {baseline.name}" if baseline else
                 "No baseline yet: this is the first night kept.")
    lines += ["", "| cell | distro | Docker | state | verdicts |", "|---|---|---|---|---|"]
    for cell in night.record["cells"]:
        counts = verdicts_of(cell)
        lines.append(f"| {cell['cell']} | {cell.get('distro', '')} | {cell.get('docker_version', '')} | "
                     f"{cell['state']} | {counts.replace('|', '/')} |")
    if baseline is not None:
        lines += [""]
        if night.changes:
            lines += [f"## {len(night.changes)} change(s) since {baseline.name}", ""]
            lines += [f"- {change['text'].replace('|', '/')}" for change in night.changes]
        else:
            lines.append(f"No change since {baseline.name}.")
    if night.record["evidence_problems"]:
        lines += ["", "## Evidence that does not hold", ""]
        lines += [f"- {problem}" for problem in night.record["evidence_problems"]]
    return "\n".join(lines) + "\n"


def prune(folder: Path, keep: int) -> list[str]:
    """Removes the oldest nights beyond `keep`; returns their names."""
    nights = kept_nights(folder)
    gone = nights[:-keep] if keep < len(nights) else []
    for night in gone:
        shutil.rmtree(night.path)
    return [night.name for night in gone]
