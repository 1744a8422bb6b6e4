"""`same_process: {container, kept}`: whether the container's main process is the same one after
the step's command as before it (running, same host pid): a daemon restart under `live-restore`
keeps it; without, the restart stops the container.

The container is captured twice: before the command runs and after (`before:container:<name>`).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...names import CONTAINER_NAME
from ..evidence import BEFORE, StepEvidence, container_file
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown


class SameProcessExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    container: str = Field(pattern=CONTAINER_NAME)
    kept: bool = Field(description="true: the same process runs after the command; false: it does not")


def judge(spec: SameProcessExpect, evidence: StepEvidence) -> Verdict:
    before = evidence.container(spec.container, before=True).require_running()
    after = evidence.container(spec.container)
    kept = after.running and after.pid == before
    observed = {"kept": kept, "pid_before": before, "pid_after": after.pid if after.running else None}
    return Verdict("same_process", Status.PASS if kept == spec.kept else Status.FAIL, {"kept": spec.kept}, observed,
                   f"host pid {before} before; after: " + (f"host pid {after.pid}" if after.running else "not running"))


def _state(spec: SameProcessExpect, change: Callable[[dict[str, Any]], None]) -> Callable[[Draft], None]:
    def edit(text: str) -> str:
        inspect = json.loads(text)
        change(inspect.setdefault("State", {}))
        return json.dumps(inspect)
    return lambda draft: draft.edit(container_file(spec.container, "inspect.json"), edit)


def mutations(spec: SameProcessExpect) -> list[Mutation]:
    if spec.kept:
        return [Mutation("another process runs after the command",
                         _state(spec, lambda state: state.update(Pid=(state.get("Pid") or 0) + 1))),
                Mutation("the container stopped", _state(spec, lambda state: state.update(Running=False, Pid=0)))]

    def same_as_before(draft: Draft) -> None:
        pid = json.loads(draft.raw(BEFORE + container_file(spec.container, "inspect.json")))["State"]["Pid"]
        _state(spec, lambda state: state.update(Running=True, Pid=pid))(draft)
    return [Mutation("the process before runs on after the command", same_as_before)]


def shown(verdict: VerdictRecord, spec: SameProcessExpect | None = None) -> Shown:
    observed = verdict.get("observed")
    if not isinstance(observed, dict):
        return Shown()
    said = "the same process runs on" if observed["kept"] else "stopped or replaced"
    return Shown({"same process": observed["kept"]}, said, said)


KIND = CheckKind("same_process", SameProcessExpect, judge,
                 lambda spec: [f"before:container:{spec.container}", f"container:{spec.container}"], mutations,
                 shown=shown, example={"container": "c", "kept": True})
