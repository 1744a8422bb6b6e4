"""report.json: the whole comparison as data."""
from __future__ import annotations

import json
from typing import Any

from ..compare import Change, Comparison

FILE = "report.json"


def as_data(comparison: Comparison, changes: list[Change]) -> dict[str, Any]:
    return {
        "runs": [str(p) for p in comparison.runs],
        "columns": [{"key": c.key, "label": c.label, "run_id": c.run_id, "scenario": c.scenario,
                     "machine": c.machine, "distro": c.distro, "docker_version": c.docker_version,
                     "provider": c.provider, "flags": c.flags} for c in comparison.columns],
        "rows": [{"scenario": r[0], "mode": r[1], "step": r[2], "title": comparison.title(r),
                  "machines_differ": comparison.differs(r),
                  "cells": {col.key: {"status": cell.status, "text": cell.text(), "facts": cell.facts,
                                      "proof": cell.proof, "cannot_fail": cell.cannot_fail}
                            for col in comparison.columns if (cell := comparison.cell(r, col))}}
                 for r in comparison.rows],
        "uid_maps": {key: {mode: [{"container": c, "container_uid": i, "host_uid": h} for c, i, h in entries]
                           for mode, entries in modes.items()}
                     for key, modes in comparison.uid_maps().items()},
        "id_pictures": [{"column": key, "mode": mode, "ranges": [str(r) for r in picture.ranges],
                         "overlaps": [[str(a), str(b)] for a, b in picture.overlaps()],
                         "landings": [{"container": c, "container_uid": i, "host_uid": h}
                                      for c, i, h in picture.landings],
                         "processes": [{"container": c, "uid": u, **{side: {"user": user, "uid": uid}
                                                                     for side, (user, uid) in sides.items()}}
                                       for (c, u), sides in picture.processes.items()]}
                        for (key, mode), picture in comparison.id_pictures.items()],
        "questions": [{"scenario": t.scenario, "column": t.column.key, "modes": t.modes,
                       "questions": [{"id": q, "title": title, "refs": refs,
                                      "answers": {mode: {"status": cell.status, "answer": cell.answer()}
                                                  for mode in t.modes if (cell := t.cell(q, mode))}}
                                     for q, (title, refs) in t.questions.items()]}
                      for t in comparison.question_tables()],
        "claims": [{"setting": claim.setting, "said": {key: claim.said(key) for key in claim.readings},
                    "readings": {key: [{"mode": mode, "step": title, "config_reads": reads, "machine_does": does,
                                        "agree": reads == does} for mode, title, reads, does in readings]
                                 for key, readings in claim.readings.items()}}
                   for claim in comparison.claim_rows()],
        "by_docker_version": [{"scenario": r[0], "mode": r[1], "step": r[2], "title": comparison.title(r),
                               "cells": {col.key: {"docker_version": col.docker_version,
                                                   "condition": cell.version_condition, "text": cell.text()}
                                         for col in comparison.columns if (cell := comparison.cell(r, col))}}
                              for r in comparison.version_rows()],
        "counts": comparison.counts(),
        "drift": [{"scenario": c.row[0], "mode": c.row[1], "step": c.row[2], "machine": c.machine,
                   "fact": c.fact, "before": c.before, "after": c.after, "before_engine": c.before_engine,
                   "after_engine": c.after_engine} for c in changes],
    }

def render(comparison: Comparison, changes: list[Change]) -> str:
    return json.dumps(as_data(comparison, changes), indent=2, default=str) + "\n"
