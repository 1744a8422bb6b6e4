"""`limits: {container, nofile | nofile_other_than}`: the open-files limit (soft, hard) of the
container's main process, from its /proc/<pid>/limits read on the machine.

`nofile: [1024, 2048]` is the daemon's `default-ulimits` taking effect; `nofile_other_than` states
the control: without the setting the process has whatever the daemon's own limits give it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...names import CONTAINER_NAME
from ..evidence import FactUnavailable, StepEvidence, container_file
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown

LINE = "Max open files"
Pair = tuple[int, int]


class LimitsExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    container: str = Field(pattern=CONTAINER_NAME)
    nofile: Pair | None = Field(default=None, description="[soft, hard]: the limits the process must have")
    nofile_other_than: Pair | None = Field(default=None, description="[soft, hard]: limits it must not have")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.nofile is None) == (self.nofile_other_than is None):
            raise ValueError("limits takes exactly one of 'nofile' or 'nofile_other_than'")
        return self


def open_files(text: str) -> Pair:
    """The soft and hard `Max open files` of a /proc/<pid>/limits."""
    for line in text.splitlines():
        if line.startswith(LINE):
            soft, hard = line[len(LINE):].split()[:2]
            return _number(soft), _number(hard)
    raise FactUnavailable(f"no '{LINE}' line in the process's limits")


def _number(word: str) -> int:
    return -1 if word == "unlimited" else int(word)


def judge(spec: LimitsExpect, evidence: StepEvidence) -> Verdict:
    pid = evidence.container(spec.container).require_running()
    observed = list(open_files(evidence.text(container_file(spec.container, "host-limits"))))
    if spec.nofile is not None:
        ok, wanted = observed == list(spec.nofile), {"nofile": list(spec.nofile)}
    else:
        unwanted = list(spec.nofile_other_than or ())
        ok, wanted = observed != unwanted, {"nofile_other_than": unwanted}
    return Verdict("limits", Status.PASS if ok else Status.FAIL, wanted, {"nofile": observed},
                   f"host pid {pid}: open files soft {observed[0]}, hard {observed[1]}")


def _set(spec: LimitsExpect, value: Callable[[Pair], Pair]) -> Callable[[Draft], None]:
    def change(text: str) -> str:
        soft, hard = value(open_files(text))
        return "\n".join(f"{LINE:<26}{soft:<21}{hard:<21}files     " if line.startswith(LINE) else line
                         for line in text.split("\n"))
    return lambda draft: draft.edit(container_file(spec.container, "host-limits"), change)


def mutations(spec: LimitsExpect) -> list[Mutation]:
    if spec.nofile is not None:
        return [Mutation("the soft open-files limit is another", _set(spec, lambda pair: (pair[0] + 1, pair[1]))),
                Mutation("the hard open-files limit is another", _set(spec, lambda pair: (pair[0], pair[1] + 1)))]
    unwanted = spec.nofile_other_than or (0, 0)
    return [Mutation("the open-files limits are the configured ones", _set(spec, lambda pair: unwanted))]


def shown(verdict: VerdictRecord, spec: LimitsExpect | None = None) -> Shown:
    observed = verdict.get("observed")
    if not isinstance(observed, dict):
        return Shown()
    soft, hard = observed["nofile"]
    return Shown({"nofile": f"{soft}:{hard}"}, f"nofile {soft}:{hard}", f"open files {soft} soft, {hard} hard")


KIND = CheckKind("limits", LimitsExpect, judge, lambda spec: [f"container:{spec.container}"], mutations, shown=shown,
                 example={"container": "c", "nofile": [1024, 2048]})
