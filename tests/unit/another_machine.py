"""A recorded run as another machine would have written it: one step's evidence edited, that step
judged again and recorded with its new verdicts, every digest of the manifest rewritten, so the copy
holds together (`invoke judge` finds nothing edited) and only what the machine said differs."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from nslab.judge import judge_step
from nslab.judge.mutation import Draft
from nslab.judge.run import judge_run
from nslab.run.layout import MANIFEST, RunView, digest


def as_another_machine(run: Path, copy: Path, machine: str, step_id: str, change: Callable[[Draft], None]) -> dict:
    """Copies the run to `copy` with `change` applied to the step's evidence; returns the step's new record."""
    shutil.copytree(run, copy)
    judgement = judge_run(copy)
    (step,) = [s for s in judgement.steps if (s.machine, s.ref.step_id) == (machine, step_id)]
    draft = Draft(step.evidence)
    change(draft)
    files = step.ref.files
    for name, text in draft._edits.items():
        (copy / files.fact(name)).write_text(text)
    (copy / files.file("stdout")).write_text(draft.stdout)
    (copy / files.file("stderr")).write_text(draft.stderr)
    view = RunView(copy)
    verdicts = judge_step(step.expect, draft, view.known_limits(machine))
    record = json.loads((copy / files.file("json")).read_text())
    record.update(exit_code=draft.exit_code, verdicts=[v.as_dict() for v in verdicts],
                  status=str(min((v.status for v in verdicts), key=_severity)))
    (copy / files.file("json")).write_text(json.dumps(record, indent=2, sort_keys=True))
    manifest = json.loads((copy / MANIFEST).read_text())
    for listed in manifest["machines"][machine]["steps"]:
        if listed["id"] == step_id:
            listed["status"] = record["status"]
    manifest["artifacts"] = {relative: digest((copy / relative).read_bytes()) for relative in manifest["artifacts"]}
    (copy / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return record


def _severity(status) -> int:
    from nslab.judge.verdict import SEVERITY
    return SEVERITY.index(status)
