"""A comparison written for people and for CI: terminal, Markdown, HTML, JSON, JUnit XML."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jinja2
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .artifacts import write_atomic
from .compare import Change, Comparison
from .paths import PROJECT_ROOT
from .report import STYLES

REPORT_FILES = ("report.md", "report.html", "report.json", "junit.xml")


def terminal_table(comparison: Comparison, changes: list[Change]) -> Table:
    changed = {(c.row, c.machine) for c in changes}
    table = Table(title="nslab compare: modes × machines (yellow: machines differ; red: changed since baseline)")
    table.add_column("lab / mode / step", overflow="fold")
    for column in comparison.columns:
        table.add_column(f"{column.label}\n{column.run_id}", overflow="fold")
    for row in comparison.rows:
        differs = comparison.differs(row)
        cells = []
        for column in comparison.columns:
            cell = comparison.cell(row, column)
            if cell is None:
                cells.append("")
                continue
            style = STYLES.get(cell.status, "")
            text = f"[{style}]{escape(cell.text())}[/]"
            if (row, column.machine) in changed:
                text = f"[on red]{text}[/]"
            elif differs:
                text = f"[on yellow]{text}[/]"
            cells.append(text)
        table.add_row(f"{row[0]} / {row[1]} / {comparison.title(row)}", *cells)
    return table


def to_json(comparison: Comparison, changes: list[Change]) -> dict:
    return {
        "runs": [str(p) for p in comparison.runs],
        "columns": [{"key": c.key, "label": c.label, "run_id": c.run_id, "scenario": c.scenario,
                     "machine": c.machine, "distro": c.distro, "docker_version": c.docker_version,
                     "provider": c.provider} for c in comparison.columns],
        "rows": [{"scenario": r[0], "mode": r[1], "step": r[2], "title": comparison.title(r),
                  "machines_differ": comparison.differs(r),
                  "cells": {col.key: {"status": cell.status, "text": cell.text(), "facts": cell.facts}
                            for col in comparison.columns if (cell := comparison.cell(r, col))}}
                 for r in comparison.rows],
        "uid_maps": {key: {mode: [{"container": c, "container_uid": i, "host_uid": h} for c, i, h in entries]
                           for mode, entries in modes.items()}
                     for key, modes in comparison.uid_maps().items()},
        "counts": comparison.counts(),
        "drift": [{"scenario": c.row[0], "mode": c.row[1], "step": c.row[2], "machine": c.machine,
                   "fact": c.fact, "before": c.before, "after": c.after} for c in changes],
    }


def to_markdown(comparison: Comparison, changes: list[Change]) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["# nslab compare", "", "Runs: " + ", ".join(f"`{p.name}`" for p in comparison.runs), ""]
    lines.append("| lab / mode / step | " + " | ".join(escape(c.label) + f" ({c.run_id})"
                                                     for c in comparison.columns) + " |")
    lines.append("|---" * (len(comparison.columns) + 1) + "|")
    for row in comparison.rows:
        mark = " ⚠ machines differ" if comparison.differs(row) else ""
        cells = [escape(cell.text()) if (cell := comparison.cell(row, col)) else "" for col in comparison.columns]
        lines.append(f"| {row[0]} / {row[1]} / {escape(comparison.title(row))}{mark} | " + " | ".join(cells) + " |")
    if changes:
        lines += ["", "## Drift against the baseline", ""]
        lines += [f"- {escape(c.describe())}" for c in changes]
    counts = ", ".join(f"{n} {s}" for s, n in sorted(comparison.counts().items()))
    lines += ["", f"Verdicts: {counts}", ""]
    return "\n".join(lines)


def to_html(comparison: Comparison, changes: list[Change]) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(PROJECT_ROOT / "nslab" / "templates"),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True)
    changed = {(c.row, c.machine) for c in changes}
    return environment.get_template("report.html.j2").render(
        comparison=comparison, changes=changes, changed=changed, counts=comparison.counts(),
        uid_maps=comparison.uid_maps(), columns={c.key: c for c in comparison.columns})


def to_junit(comparison: Comparison) -> str:
    suites = ET.Element("testsuites", name="nslab")
    for column in comparison.columns:
        cells = [(row, cell) for row in comparison.rows if (cell := comparison.cell(row, column))]
        suite = ET.SubElement(suites, "testsuite", name=f"{column.machine} ({column.run_id})",
                              tests=str(len(cells)),
                              failures=str(sum(c.status == "fail" for _, c in cells)),
                              errors=str(sum(c.status in ("error", "not-run") for _, c in cells)),
                              skipped=str(sum(c.status == "environment-limited" for _, c in cells)))
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="machine", value=column.label)
        for row, cell in cells:
            case = ET.SubElement(suite, "testcase", classname=f"{row[0]}.{column.machine}",
                                 name=f"{row[1]}/{cell.number:02d}-{row[2]}")
            if cell.status == "fail":
                ET.SubElement(case, "failure", message=cell.text())
            elif cell.status in ("error", "not-run"):
                ET.SubElement(case, "error", message=cell.text())
            elif cell.status == "environment-limited":
                ET.SubElement(case, "skipped", message=cell.text())
            ET.SubElement(case, "system-out").text = cell.text()
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_reports(comparison: Comparison, changes: list[Change], folder: Path) -> list[Path]:
    outputs = {
        "report.md": to_markdown(comparison, changes),
        "report.html": to_html(comparison, changes),
        "report.json": json.dumps(to_json(comparison, changes), indent=2, default=str) + "\n",
        "junit.xml": to_junit(comparison),
    }
    written = []
    for name in REPORT_FILES:
        write_atomic(folder / name, outputs[name])
        written.append(folder / name)
    return written


def print_comparison(console: Console, comparison: Comparison, changes: list[Change]) -> None:
    console.print(terminal_table(comparison, changes))
    for change in changes:
        console.print(f"[red]changed[/] {escape(change.describe())}")
