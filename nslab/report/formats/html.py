"""report.html: one self-contained page with a uid-mapping picture per mode."""
from __future__ import annotations

from pathlib import Path

import jinja2

from ..compare import Change, Comparison

FILE = "report.html"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def render(comparison: Comparison, changes: list[Change]) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True)
    changed = {(c.row, c.machine) for c in changes}
    return environment.get_template("report.html.j2").render(
        comparison=comparison, changes=changes, changed=changed, counts=comparison.counts(),
        uid_maps=comparison.uid_maps(), columns={c.key: c for c in comparison.columns},
        question_tables=comparison.question_tables(), claim_rows=comparison.claim_rows(),
        version_rows=comparison.version_rows())
