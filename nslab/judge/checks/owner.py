"""`owner: {container, path, uid, gid}`: who owns a file a container wrote, inside and on the machine.

Observed: `stat` of the path inside the container, and of the same file on the
machine (under the source of the bind mount or named volume that holds it, else
through the container's main process). Expected on the machine: the container
uid and gid mapped through that container's own uid_map and gid_map, with the
daemon's mode through /etc/subuid and /etc/subgid as the cross-check.
"""
from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...names import CONTAINER_NAME, CONTAINER_PATH
from ..evidence import StepEvidence, path_file
from ..mutation import Draft, Mutation
from ..verdict import Verdict, VerdictRecord
from .base import CheckKind, Shown
from .ids import cross_check_moved, disagreements, expected_on_host, map_shifted, with_cross_checks


class OwnerExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    container: str = Field(pattern=CONTAINER_NAME)
    path: str = Field(pattern=CONTAINER_PATH, description="absolute path inside the container")
    uid: int = Field(ge=0, description="the owner's uid as the container sees it")
    gid: int = Field(ge=0, description="the owner's gid as the container sees it")

    @field_validator("path")
    @classmethod
    def _no_parent(cls, path: str) -> str:
        if ".." in path.split("/"):
            raise ValueError(f"'{path}': '..' is not allowed in a path")
        return path


def judge(spec: OwnerExpect, evidence: StepEvidence) -> Verdict:
    container = evidence.container(spec.container)
    container.require_running()
    inside_uid, inside_gid, _ = evidence.path_owner(spec.container, spec.path, "inside")
    host_uid, host_gid, host_path = evidence.path_owner(spec.container, spec.path, "host")
    want_uid, uid_checks = expected_on_host(container, "uid", spec.uid, evidence)
    want_gid, gid_checks = expected_on_host(container, "gid", spec.gid, evidence)
    observed = {"path": spec.path, "inside": [inside_uid, inside_gid], "host": [host_uid, host_gid]}
    wanted = {"path": spec.path, "inside": [spec.uid, spec.gid], "host": [want_uid, want_gid]}
    cross_checks = uid_checks + gid_checks
    detail = "; ".join(filter(None, [f"on the machine: {host_path}", disagreements(cross_checks)]))
    return Verdict("owner", with_cross_checks(observed == wanted, cross_checks), wanted, observed, detail,
                   cross_checks)


def _owner_moved(spec: OwnerExpect, where: str) -> Callable[[Draft], None]:
    def apply(draft: Draft) -> None:
        name = path_file(spec.container, spec.path, where)
        draft.edit(name, lambda text: " ".join([str(int(text.split(" ", 1)[0]) + 1), text.split(" ", 1)[1]]))
    return apply


def mutations(spec: OwnerExpect) -> list[Mutation]:
    return [Mutation("the file's owner on the machine moved off the mapping", _owner_moved(spec, "host")),
            Mutation("the file's owner inside the container changed", _owner_moved(spec, "inside")),
            map_shifted(spec.container, "uid"), cross_check_moved(spec.container, "uid")]


def shown(verdict: VerdictRecord, spec: OwnerExpect | None = None) -> Shown:
    """The owner inside and on the machine, per path: a host owner that moves is drift, green or not."""
    observed = verdict.get("observed")
    if not isinstance(observed, dict):
        return Shown()
    path, inside, host = observed["path"], observed["inside"], observed["host"]
    said_inside, said_host = ":".join(map(str, inside)), ":".join(map(str, host))
    return Shown({f"owner_inside {path}": said_inside, f"owner_host {path}": said_host},
                 f"{path} {said_inside}→{said_host}", f"{path} owned by {said_inside} → host {said_host}")


KIND = CheckKind("owner", OwnerExpect, judge,
                 lambda spec: [f"container:{spec.container}", f"path:{spec.container}:{spec.path}", "subids"],
                 mutations, shown=shown,
                 example={"container": "c", "path": "/share/f", "uid": 0, "gid": 0})
