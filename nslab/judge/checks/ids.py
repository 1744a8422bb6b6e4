"""`uid:` and `gid: {container: NAME, inside: N}`: the ids a container's main process runs as.

Observed: the real id of PID 1 inside the container and of the same process on
the machine (each from its /proc status). Expected on the machine: the inside
id mapped through that process's own uid_map / gid_map, so a container with a
user namespace of its own (`--userns=host`, say) is judged by its own facts.
The daemon's mode (with the container's own `--userns=host`) mapped through
/etc/subuid (subgid) is the cross-check (a rootless engine: container root is
its user's own id, id N the (N-1)th of that user's range): the kernel builds the observed id from
the same map, so the map alone cannot show that the daemon remapped as its mode
says. A cross-check that disagrees fails the verdict and is named in it; one
that cannot be made (no /etc/subuid captured) is an error.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from ...names import CONTAINER_NAME
from ...subids import map_to_host
from ..evidence import ContainerFacts, FactUnavailable, StepEvidence, container_file
from ..mutation import Draft, Mutation, shift_map, shift_status_id
from ..parse import map_through
from ..verdict import CrossCheck, Status, Verdict, VerdictRecord
from .base import CheckKind, Shown, ShowsVerdict

FIELDS = {"uid": ("Uid", "uid_map", "subuid"), "gid": ("Gid", "gid_map", "subgid")}


class IdExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    container: str = Field(pattern=CONTAINER_NAME)
    inside: int = Field(ge=0, description="the id of the container's PID 1 as the container sees it")


def expected_on_host(container: ContainerFacts, kind: str, inside_id: int,
                     evidence: StepEvidence) -> tuple[int | None, list[CrossCheck]]:
    """The machine's id for a container id, from the container's own map; and the mode's cross-check."""
    _, map_name, subid_file = FIELDS[kind]
    expected = map_through(container.id_map(map_name), inside_id)
    rootless_user = evidence.mode.get("rootless_user")
    # Whose ranges the cross-check maps through, and which of their ids is container id 0.
    owner, offset = None, 0
    if rootless_user is not None:
        # The engine runs in its user's namespace: root is the user itself, id N the (N-1)th of its range.
        own_id = evidence.mode.get(f"rootless_{kind}")
        source = f"the engine runs rootless as {rootless_user} ({kind} {own_id}; its ranges in /etc/{subid_file})"
        if inside_id == 0:
            predicted = own_id
        else:
            owner, offset = rootless_user, -1
    elif container.userns_mode == "host" or evidence.remap_user is None:
        source = ("the container opts out of the daemon's user namespace (--userns=host)"
                  if container.userns_mode == "host" else "the daemon does not remap")
        predicted = inside_id
    else:
        source = f"the daemon remaps to {evidence.remap_user} (its ranges in /etc/{subid_file})"
        owner = evidence.remap_user
    if owner is not None:
        try:
            predicted = map_to_host(evidence.subid_ranges(subid_file), owner, inside_id + offset)
        except FactUnavailable as exc:
            return expected, [{"source": source, "expected": None, "agrees": None, "detail": str(exc)}]
        if predicted is None:
            return expected, [{"source": source, "expected": None, "agrees": False,
                               "detail": f"{inside_id} falls outside {owner}'s ranges"}]
    return expected, [{"source": source, "expected": predicted, "agrees": predicted == expected}]


def disagreements(cross_checks: list[CrossCheck]) -> str:
    return "; ".join(f"cross-check disagrees: {c['source']} gives {c['expected']}"
                     for c in cross_checks if c.get("agrees") is False)


def with_cross_checks(agrees: bool, cross_checks: list[CrossCheck]) -> Status:
    """Pass only when the container's own facts and every cross-check agree."""
    if not agrees or any(c.get("agrees") is False for c in cross_checks):
        return Status.FAIL
    if any(c.get("agrees") is None for c in cross_checks):
        return Status.ERROR
    return Status.PASS


def _judge(kind: str) -> Callable[[IdExpect, StepEvidence], Verdict]:
    status_field, map_name, _ = FIELDS[kind]

    def judge(spec: IdExpect, evidence: StepEvidence) -> Verdict:
        container = evidence.container(spec.container)
        pid = container.require_running()
        observed = {"container": spec.container, "inside": container.inside_id(status_field),
                    "host": container.host_id(status_field)}
        host, cross_checks = expected_on_host(container, kind, spec.inside, evidence)
        wanted = {"container": spec.container, "inside": spec.inside, "host": host}
        detail = "; ".join(filter(None, [f"container '{spec.container}', host pid {pid}, "
                                         f"{map_name} {container.id_map(map_name)}",
                                         disagreements(cross_checks)]))
        return Verdict(kind, with_cross_checks(observed == wanted, cross_checks), wanted, observed,
                       detail, cross_checks)
    return judge


def _cross_check_moved(container: str, kind: str) -> Callable[[Draft], None]:
    """The source the cross-check reads predicts another id: the container's own `--userns=host`
    dropped, the remap user's range moved, or a mode that claims a remapping it did not make."""
    subid_file = FIELDS[kind][2]

    def apply(draft: Draft) -> None:
        rootless_user = draft.mode.get("rootless_user")
        if rootless_user is not None:
            # Both sources move: the user's own id (container root) and its range (every other id).
            draft.mode[f"rootless_{kind}"] = (draft.mode.get(f"rootless_{kind}") or 0) + 1
            _move_range(draft, rootless_user, subid_file)
            return
        if draft.container(container).userns_mode == "host":
            def drop_host(text: str) -> str:
                inspect = json.loads(text)
                inspect["HostConfig"]["UsernsMode"] = ""
                return json.dumps(inspect)
            draft.edit(container_file(container, "inspect.json"), drop_host)
            if draft.remap_user is not None:
                return
        if draft.remap_user is None:
            draft.mode["remap_user"] = "dockremap"
            return
        _move_range(draft, draft.remap_user, subid_file)
    return apply


def _move_range(draft: Draft, user: str, subid_file: str) -> None:
    """The user's range in /etc/subuid (subgid) starts one id later."""
    draft.edit(f"host.{subid_file}", lambda text: re.sub(
        rf"^({re.escape(user)}:)(\d+)", lambda m: f"{m.group(1)}{int(m.group(2)) + 1}", text, flags=re.M))


def map_shifted(container: str, kind: str) -> Mutation:
    """The container's own map entry shifted: the expected host id moves away from the observed one."""
    map_name = FIELDS[kind][1]
    return Mutation(f"the container's {map_name} entry shifted",
                    lambda d: d.edit(container_file(container, map_name), shift_map()))


def cross_check_moved(container: str, kind: str) -> Mutation:
    return Mutation(f"the cross-check's source moved (--userns=host, /etc/{FIELDS[kind][2]} or the mode)",
                    _cross_check_moved(container, kind))


def _mutations(kind: str) -> Callable[[IdExpect], list[Mutation]]:
    status_field = FIELDS[kind][0]

    def mutations(spec: IdExpect) -> list[Mutation]:
        name = spec.container
        return [
            Mutation(f"the observed host {kind} moved off the mapping",
                     lambda d: d.edit(container_file(name, "host-status"), shift_status_id(status_field))),
            map_shifted(name, kind),
            Mutation(f"the container-side {kind} changed",
                     lambda d: d.edit(container_file(name, "inside-status"), shift_status_id(status_field))),
            cross_check_moved(name, kind),
        ]
    return mutations


def _facts(spec: IdExpect) -> list[str]:
    return [f"container:{spec.container}", "subids"]


def _shown(kind: str) -> ShowsVerdict:
    def shown(verdict: VerdictRecord, spec: IdExpect | None = None) -> Shown:
        observed = verdict.get("observed")
        if not isinstance(observed, dict):
            return Shown()
        inside, host = observed["inside"], observed["host"]
        facts = {f"{kind}_inside": inside, f"{kind}_host": host}
        if kind == "uid":
            facts["container"] = observed.get("container", "?")
        return Shown(facts, f"{kind} {inside}→{host}", f"{kind} {inside} → host {kind} {host}",
                     landing=(observed.get("container", "?"), inside, host) if kind == "uid" else None)
    return shown


UID = CheckKind("uid", IdExpect, _judge("uid"), _facts, _mutations("uid"), shown=_shown("uid"),
                example={"container": "c", "inside": 0})
GID = CheckKind("gid", IdExpect, _judge("gid"), _facts, _mutations("gid"), shown=_shown("gid"),
                example={"container": "c", "inside": 0})
