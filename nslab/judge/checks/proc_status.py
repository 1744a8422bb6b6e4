"""`proc_status: {container, fields}`: lines of the container's main process's /proc status, as the
machine reads them: `NoNewPrivs`, `Seccomp`, the four ids of `Uid` (real, effective, saved, fs)...

What a hardening setting does to a process is in these lines, whatever the process says of
itself: under `no-new-privileges` a setuid-root program run by uid 1000 keeps `Uid: 1000 1000
1000 1000` and shows `NoNewPrivs: 1`; under the default seccomp profile `Seccomp: 2`.
"""
from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from ...names import CONTAINER_NAME
from ..evidence import FactUnavailable, StepEvidence, container_file
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown


class ProcStatusExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    container: str = Field(pattern=CONTAINER_NAME)
    fields: dict[str, str] = Field(min_length=1, description="status line name → its value, blanks as one "
                                                            "space (e.g. Uid: '1000 0 0 0', Seccomp: '2')")


def status_fields(text: str) -> dict[str, str]:
    """`Name:\\tvalue` lines, the value's blanks folded to one space."""
    found = {}
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            found[name.strip()] = " ".join(value.split())
    return found


def judge(spec: ProcStatusExpect, evidence: StepEvidence) -> Verdict:
    container = evidence.container(spec.container)
    pid = container.require_running()
    lines = status_fields(evidence.text(container_file(spec.container, "host-status")))
    missing = [name for name in spec.fields if name not in lines]
    if missing:
        raise FactUnavailable(f"no {', '.join(missing)} line in the status of host pid {pid}")
    observed = {name: lines[name] for name in spec.fields}
    return Verdict("proc_status", Status.PASS if observed == spec.fields else Status.FAIL, dict(spec.fields),
                   observed, f"host pid {pid} ({lines.get('Name', '?')})")


def _changed(value: str) -> str:
    """Another value of the same shape: each number moved by one (0 ↔ 1 for flags), else marked."""
    words = value.split()
    if words and all(word.isdigit() for word in words):
        return " ".join(str(int(word) ^ 1) if int(word) < 2 else str(int(word) + 1) for word in words)
    return value + "-changed"


def _field_changed(spec: ProcStatusExpect, name: str) -> Callable[[Draft], None]:
    def change(text: str) -> str:
        return "\n".join(f"{name}:\t{_changed(' '.join(line.partition(':')[2].split()))}"
                         if line.partition(":")[0].strip() == name else line for line in text.split("\n"))
    return lambda draft: draft.edit(container_file(spec.container, "host-status"), change)


def mutations(spec: ProcStatusExpect) -> list[Mutation]:
    return [Mutation(f"the process's {name} line reads otherwise", _field_changed(spec, name)) for name in spec.fields]


def shown(verdict: VerdictRecord, spec: ProcStatusExpect | None = None) -> Shown:
    observed = verdict.get("observed")
    if not isinstance(observed, dict):
        return Shown()
    said = ", ".join(f"{name} {value}" for name, value in observed.items())
    return Shown({f"status {name}": value for name, value in observed.items()}, said, said)


KIND = CheckKind("proc_status", ProcStatusExpect, judge, lambda spec: [f"container:{spec.container}"], mutations,
                 shown=shown, example={"container": "c", "fields": {"Seccomp": "2"}})
