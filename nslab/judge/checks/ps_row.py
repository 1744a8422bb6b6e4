"""`ps_row: {container, side: inside|host, uid}`: the step's `ps` listing shows the
container's main process as the expected user (names resolved through that side's passwd)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ...names import CONTAINER_NAME
from ..evidence import StepEvidence
from ..mutation import Mutation, other_user, ps_user
from ..parse import parse_ps, resolve_uid
from ..verdict import CrossCheck, Status, Verdict, VerdictRecord
from .base import CheckKind, Shown
from .ids import cross_check_moved, disagreements, expected_on_host, map_shifted, with_cross_checks


class PsRowExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    container: str = Field(pattern=CONTAINER_NAME)
    side: Literal["inside", "host"]
    uid: int = Field(ge=0, description="container-side uid; on the host side it is mapped")


def judge(spec: PsRowExpect, evidence: StepEvidence) -> Verdict:
    container = evidence.container(spec.container)
    cross_checks: list[CrossCheck] = []
    wanted: int | None
    if spec.side == "inside":
        pid, users, wanted = 1, container.inside_accounts(), spec.uid
    else:
        pid, users = container.require_running(), evidence.host_accounts()
        wanted, cross_checks = expected_on_host(container, "uid", spec.uid, evidence)
    rows = parse_ps(evidence.stdout)
    row = next((r for r in rows if r["pid"] == pid), None)
    if row is None:
        return Verdict("ps_row", Status.FAIL, {"pid": pid, "uid": wanted}, None,
                       f"no row for pid {pid} in the ps output ({len(rows)} rows)", cross_checks)
    observed_uid = resolve_uid(row["user"], users)
    return Verdict("ps_row", with_cross_checks(observed_uid == wanted, cross_checks),
                   {"pid": pid, "uid": wanted}, {"pid": pid, "user": row["user"], "uid": observed_uid},
                   "; ".join(filter(None, [row["line"], disagreements(cross_checks)])), cross_checks)


def facts(spec: PsRowExpect) -> list[str]:
    return [f"container:{spec.container}"] + (["host-accounts", "subids"] if spec.side == "host" else [])


def mutations(spec: PsRowExpect) -> list[Mutation]:
    def pid_of(evidence: StepEvidence) -> int:
        return 1 if spec.side == "inside" else evidence.container(spec.container).pid
    found = [Mutation("the process's ps row shows another user", ps_user(pid_of, other_user))]
    if spec.side == "host":
        found += [map_shifted(spec.container, "uid"), cross_check_moved(spec.container, "uid")]
    return found


def shown(verdict: VerdictRecord, spec: PsRowExpect | None = None) -> Shown:
    observed = verdict.get("observed")
    if not isinstance(observed, dict):
        return Shown()
    seen = (observed["user"], observed["uid"])
    return Shown({"ps_user": observed["user"], "ps_uid": observed["uid"]}, f"ps {seen[0]} (uid {seen[1]})",
                 process=((spec.container, spec.uid), spec.side, seen) if spec is not None else None)


KIND = CheckKind("ps_row", PsRowExpect, judge, facts, mutations, shown=shown,
                 example={"container": "c", "side": "host", "uid": 0})
