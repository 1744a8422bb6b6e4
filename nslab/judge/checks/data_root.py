"""`data_root: true`: the daemon's data-root is where its mode puts it, and exists:
/var/lib/docker, or /var/lib/docker/<uid>.<gid> named after the first subordinate
uid and gid of the remap user (read from the step's /etc/subuid and /etc/subgid)."""
from __future__ import annotations

import json

from ...subids import range_of
from ..evidence import FactUnavailable, StepEvidence
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict
from .base import CheckKind, Shown

DOCKER_ROOT = "/var/lib/docker"


def expected_data_root(evidence: StepEvidence) -> str:
    user = evidence.remap_user
    if user is None:
        return DOCKER_ROOT
    uids, gids = range_of(evidence.subid_ranges("subuid"), user), range_of(evidence.subid_ranges("subgid"), user)
    if uids is None or gids is None:
        raise FactUnavailable(f"{user} has no range in the step's /etc/subuid or /etc/subgid")
    return f"{DOCKER_ROOT}/{uids.start}.{gids.start}"


def judge(enabled: bool, evidence: StepEvidence) -> Verdict:
    wanted = expected_data_root(evidence)
    observed = evidence.docker_info().get("DockerRootDir")
    exists = wanted in evidence.docker_dirs()
    return Verdict("data_root", Status.PASS if observed == wanted and exists else Status.FAIL, wanted, observed,
                   "" if exists else f"{wanted} does not exist on the machine")


def _root_moved(draft: Draft) -> None:
    def change(text: str) -> str:
        info = json.loads(text)
        info["DockerRootDir"] = f"{info.get('DockerRootDir')}-moved"
        return json.dumps(info)
    draft.edit("docker-info.json", change)


def _directory_absent(draft: Draft) -> None:
    wanted = expected_data_root(draft)
    draft.edit("docker-dirs", lambda text: "".join(
        line for line in text.splitlines(keepends=True) if line.rstrip("\n").split(None, 2)[2:] != [wanted]))


KIND = CheckKind("data_root", bool, judge, lambda spec: ["docker-info", "docker-dirs", "subids"],
                 shown=lambda verdict, spec=None: Shown({"data_root": verdict.get("observed")},
                                                        str(verdict.get("observed"))),
                 mutations=lambda spec: [Mutation("docker info reports another data-root", _root_moved),
                                         Mutation("the data-root directory absent", _directory_absent)],
                 example=True)
