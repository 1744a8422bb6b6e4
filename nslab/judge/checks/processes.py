"""`processes: {command, count | at_least}`: how many processes of a program run on the machine,
from `pidof` there (e.g. the `docker-proxy` behind a published port, or none without the
userland proxy)."""
from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...names import PROGRAM_NAME
from ..evidence import StepEvidence, program_file
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown


class ProcessesExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(pattern=PROGRAM_NAME, description="program name, e.g. docker-proxy")
    count: int | None = Field(default=None, ge=0, description="exactly this many")
    at_least: int | None = Field(default=None, ge=1, description="this many or more")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.count is None) == (self.at_least is None):
            raise ValueError("processes takes exactly one of 'count' or 'at_least'")
        return self


def judge(spec: ProcessesExpect, evidence: StepEvidence) -> Verdict:
    pids = evidence.program_pids(spec.command)
    wanted: dict[str, int | None]
    if spec.count is not None:
        ok, wanted = len(pids) == spec.count, {"count": spec.count}
    else:
        ok, wanted = len(pids) >= (spec.at_least or 1), {"at_least": spec.at_least}
    return Verdict("processes", Status.PASS if ok else Status.FAIL, wanted, {"count": len(pids)},
                   f"pidof {spec.command}: {' '.join(map(str, pids)) or 'none'}")


def _pids(spec: ProcessesExpect, keep: int) -> Mutation:
    def apply(draft: Draft) -> None:
        def change(text: str) -> str:
            pids = text.split()
            return " ".join((pids + [str(90000 + n) for n in range(keep)])[:keep]) + "\n"
        draft.edit(program_file(spec.command, "pids"), change)
    return Mutation(f"pidof {spec.command} finds {keep}", apply)


def mutations(spec: ProcessesExpect) -> list[Mutation]:
    if spec.count is not None:
        return [_pids(spec, spec.count + 1)] + ([_pids(spec, spec.count - 1)] if spec.count else [])
    return [_pids(spec, (spec.at_least or 1) - 1)]


def shown(verdict: VerdictRecord, spec: ProcessesExpect | None = None) -> Shown:
    observed, detail = verdict.get("observed"), str(verdict.get("detail", ""))
    if not isinstance(observed, dict):
        return Shown()
    command = detail.removeprefix("pidof ").split(":")[0]
    said = f"{observed['count']} {command}"
    return Shown({f"{command} processes": observed["count"]}, said, said)


KIND = CheckKind("processes", ProcessesExpect, judge, lambda spec: [f"program:{spec.command}"], mutations,
                 shown=shown, example={"command": "docker-proxy", "count": 0})
