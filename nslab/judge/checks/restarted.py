"""`restarted: {command}`: the program's processes after the step's command are new ones: `pidof` on the
machine before the command and after it share no pid, and some run after (a daemon restart that did
happen, so what survived it survived a restart)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ...names import PROGRAM_NAME
from ..evidence import BEFORE, StepEvidence, program_file
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown


class RestartedExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(pattern=PROGRAM_NAME, description="program name, e.g. dockerd")


def judge(spec: RestartedExpect, evidence: StepEvidence) -> Verdict:
    before, after = evidence.program_pids(spec.command, before=True), evidence.program_pids(spec.command)
    restarted = bool(after) and not set(before) & set(after)
    return Verdict("restarted", Status.PASS if restarted else Status.FAIL, {"restarted": True},
                   {"restarted": restarted, "before": before, "after": after},
                   f"pidof {spec.command}: {' '.join(map(str, before)) or 'none'} before, "
                   f"{' '.join(map(str, after)) or 'none'} after")


def _after(spec: RestartedExpect, same_as_before: bool) -> Mutation:
    def apply(draft: Draft) -> None:
        before = draft.raw(BEFORE + program_file(spec.command, "pids"))
        draft.edit(program_file(spec.command, "pids"), lambda text: before if same_as_before else "")
    said = f"the {spec.command} of before runs on after" if same_as_before else f"no {spec.command} after"
    return Mutation(said, apply)


def shown(verdict: VerdictRecord, spec: RestartedExpect | None = None) -> Shown:
    observed = verdict.get("observed")
    if not isinstance(observed, dict):
        return Shown()
    said = "restarted" if observed["restarted"] else "not restarted"
    return Shown({"restarted": observed["restarted"]}, said, said)


KIND = CheckKind("restarted", RestartedExpect, judge,
                 lambda spec: [f"before:program:{spec.command}", f"program:{spec.command}"],
                 lambda spec: [_after(spec, True), _after(spec, False)], shown=shown,
                 example={"command": "dockerd"})
