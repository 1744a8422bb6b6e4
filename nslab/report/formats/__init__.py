"""Report formats written beside a comparison. A new format: a module with FILE and render(), one line below."""
from __future__ import annotations

from pathlib import Path

from ...run.layout import write_atomic
from ..compare import Change, Comparison
from . import html, json_report, junit, markdown
from .terminal import print_comparison

FORMATS = {module.FILE: module.render for module in (
    markdown,
    html,
    json_report,
    junit,
)}


def write_reports(comparison: Comparison, changes: list[Change], folder: Path) -> list[Path]:
    written = []
    for name, render in FORMATS.items():
        write_atomic(folder / name, render(comparison, changes))
        written.append(folder / name)
    return written


__all__ = ["FORMATS", "print_comparison", "write_reports"]
