"""`caps: {container, set, has, lacks}`: the capabilities of a container's main process.

Read from /proc/<pid>/status on the machine (CapEff, CapPrm or CapBnd), decoded
to names. The capabilities hold in the user namespace the process runs in,
which the verdict names from its uid_map: under a remapping daemon, container
root keeps its capabilities, but over a namespace that owns nothing of the host's.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ...names import CONTAINER_NAME
from ..evidence import StepEvidence, container_file
from ..mutation import Draft, Mutation
from ..parse import status_caps
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown

# Linux capability numbers (include/uapi/linux/capability.h).
NAMES = ("CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
         "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT "
         "SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE "
         "AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ "
         "PERFMON BPF CHECKPOINT_RESTORE").split()
BIT = {f"CAP_{name}": number for number, name in enumerate(NAMES)}
FIELDS = {"effective": "CapEff", "permitted": "CapPrm", "bounding": "CapBnd"}


def _known(name: str) -> str:
    canonical = name.upper() if name.upper().startswith("CAP_") else f"CAP_{name.upper()}"
    if canonical not in BIT:
        raise ValueError(f"unknown capability '{name}'")
    return canonical


Capability = Annotated[str, AfterValidator(_known)]


class CapsExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    container: str = Field(pattern=CONTAINER_NAME)
    set: Literal["effective", "permitted", "bounding"] = "effective"
    has: list[Capability] = Field(default=[], description="capabilities the set must hold")
    lacks: list[Capability] = Field(default=[], description="capabilities the set must not hold")

    @model_validator(mode="after")
    def _something_to_check(self) -> Self:
        if not self.has and not self.lacks:
            raise ValueError("caps names capabilities in 'has' or 'lacks'")
        if set(self.has) & set(self.lacks):
            raise ValueError(f"capabilities both required and refused: {sorted(set(self.has) & set(self.lacks))}")
        return self


def decode(mask: int) -> list[str]:
    return [f"CAP_{name}" for number, name in enumerate(NAMES) if mask >> number & 1]


def judge(spec: CapsExpect, evidence: StepEvidence) -> Verdict:
    container = evidence.container(spec.container)
    pid = container.require_running()
    held = set(decode(_mask(evidence.text(container_file(spec.container, "host-status")), spec.set)))
    observed = {"has": sorted(c for c in spec.has if c in held),
                "lacks": sorted(c for c in spec.lacks if c not in held)}
    wanted = {"has": sorted(spec.has), "lacks": sorted(spec.lacks)}
    uid_map = container.id_map("uid_map")
    where = ("in the machine's own user namespace" if uid_map == [(0, 0, 4294967295)]
             else f"in a user namespace mapping {uid_map}")
    return Verdict("caps", Status.PASS if observed == wanted else Status.FAIL, wanted, observed,
                   f"host pid {pid}, {spec.set} set {where}: {', '.join(sorted(held)) or 'none'}")


def _mask(status: str, which: str) -> int:
    value = status_caps(status).get(FIELDS[which])
    if value is None:
        raise ValueError(f"no {FIELDS[which]} line in the process status")
    return int(value, 16)


def _flip(spec: CapsExpect, capability: str) -> Callable[[Draft], None]:
    def apply(draft: Draft) -> None:
        field = FIELDS[spec.set]
        name = container_file(spec.container, "host-status")

        def change(text: str) -> str:
            mask = _mask(text, spec.set) ^ (1 << BIT[capability])
            return "\n".join(f"{field}:\t{mask:016x}" if line.startswith(f"{field}:") else line
                             for line in text.split("\n"))
        draft.edit(name, change)
    return apply


def mutations(spec: CapsExpect) -> list[Mutation]:
    found = []
    if spec.has:
        found.append(Mutation(f"{spec.has[0]} dropped from the {spec.set} set", _flip(spec, spec.has[0])))
    if spec.lacks:
        found.append(Mutation(f"{spec.lacks[0]} added to the {spec.set} set", _flip(spec, spec.lacks[0])))
    return found


def shown(verdict: VerdictRecord, spec: CapsExpect | None = None) -> Shown:
    """Every capability the set holds (the verdict's detail names them): one that appears or goes is
    drift, even under a verdict that stays green because has/lacks do not name it."""
    found = re.match(r"host pid \d+, (\w+) set .*?: (.*)$", str(verdict.get("detail", "")))
    if not found:
        return Shown()
    which, held = found.group(1), [] if found.group(2) == "none" else found.group(2).split(", ")
    return Shown({f"caps_{which}": held}, f"{len(held)} {which} capabilities")


KIND = CheckKind("caps", CapsExpect, judge, lambda spec: [f"container:{spec.container}"], mutations, shown=shown,
                 example={"container": "c", "has": ["CAP_CHOWN"], "lacks": ["CAP_SYS_ADMIN"]})
