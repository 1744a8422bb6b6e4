"""`sysctl: {container, name, value}`: a network sysctl as the container's network namespace has it,
read on the machine (`nsenter -t <pid> -n` into that namespace), e.g. `net.ipv4.ping_group_range`,
which Docker sets for its containers from some 20.10 release on and older daemons leave at the
kernel's default."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ...names import CONTAINER_NAME
from ..evidence import StepEvidence, sysctl_file
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown


class SysctlExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    container: str = Field(pattern=CONTAINER_NAME)
    name: str = Field(pattern=r"^net\.[a-z0-9_.]+$", description="a network sysctl, e.g. net.ipv4.ping_group_range")
    value: str = Field(description="its value, blanks folded to one space")


def judge(spec: SysctlExpect, evidence: StepEvidence) -> Verdict:
    pid = evidence.container(spec.container).require_running()
    value = " ".join(evidence.text(sysctl_file(spec.container, spec.name)).split())
    return Verdict("sysctl", Status.PASS if value == spec.value else Status.FAIL, {spec.name: spec.value},
                   {spec.name: value}, f"in the network namespace of host pid {pid}")


def _other(spec: SysctlExpect) -> Mutation:
    def apply(draft: Draft) -> None:
        draft.edit(sysctl_file(spec.container, spec.name), lambda text: " ".join(text.split()) + " 1\n")
    return Mutation(f"{spec.name} reads otherwise", apply)


def shown(verdict: VerdictRecord, spec: SysctlExpect | None = None) -> Shown:
    observed = verdict.get("observed")
    if not isinstance(observed, dict):
        return Shown()
    [(name, value)] = observed.items()
    return Shown({name: value}, f"{name} {value}", f"{name} {value}")


KIND = CheckKind("sysctl", SysctlExpect, judge,
                 lambda spec: [f"container:{spec.container}", f"sysctl:{spec.container}:{spec.name}"],
                 lambda spec: [_other(spec)], shown=shown,
                 example={"container": "c", "name": "net.ipv4.ping_group_range", "value": "0 2147483647"})
