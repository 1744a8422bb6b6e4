"""`process: {command, uid}`: every process running the program runs as that uid,
in the step's `ps` listing and in /proc/<pid>/status of each `pidof` match."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ...names import PROGRAM_NAME
from ..evidence import StepEvidence, program_file
from ..mutation import Draft, Mutation, NotApplicable, other_user, ps_user, shift_status_id
from ..parse import parse_ps, program_of, resolve_uid, status_ids
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown


class ProcessExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(pattern=PROGRAM_NAME, description="program name, e.g. dockerd")
    uid: int = Field(ge=0, description="host uid every such process runs as")


def judge(spec: ProcessExpect, evidence: StepEvidence) -> Verdict:
    wanted = {"command": spec.command, "uid": spec.uid}
    rows = [r for r in parse_ps(evidence.stdout) if program_of(r["command"]) == spec.command]
    if not rows:
        return Verdict("process", Status.FAIL, wanted, None, f"no {spec.command} process in the ps output")
    users = evidence.host_accounts()
    observed = {
        "ps": sorted({resolve_uid(r["user"], users) for r in rows}, key=str),
        "proc": sorted({status_ids(evidence.program_status(spec.command, pid), "Uid")
                        for pid in evidence.program_pids(spec.command)}, key=str),
    }
    ok = observed["ps"] == [spec.uid] and observed["proc"] == [spec.uid]
    return Verdict("process", Status.PASS if ok else Status.FAIL, wanted, observed, rows[0]["line"])


def mutations(spec: ProcessExpect) -> list[Mutation]:
    def first_pid(evidence: StepEvidence) -> int | None:
        return next((r["pid"] for r in parse_ps(evidence.stdout) if program_of(r["command"]) == spec.command), None)

    def proc_status_moved(draft: Draft) -> None:
        pids = draft.program_pids(spec.command)
        if not pids:
            raise NotApplicable(f"pidof found no {spec.command}")
        draft.edit(program_file(spec.command, f"{pids[0]}.status"), shift_status_id("Uid"))

    return [Mutation(f"one {spec.command} ps row shows another user", ps_user(first_pid, other_user)),
            Mutation(f"one {spec.command} process's /proc status shows another uid", proc_status_moved)]


def shown(verdict: VerdictRecord, spec: ProcessExpect | None = None) -> Shown:
    observed = verdict.get("observed")
    if not isinstance(observed, dict):
        return Shown()
    return Shown({"process_uid": observed["ps"]}, f"process uid {observed['ps']}")


KIND = CheckKind("process", ProcessExpect, judge,
                 lambda spec: [f"program:{spec.command}", "host-accounts"], mutations, shown=shown,
                 example={"command": "dockerd", "uid": 0})
