"""Judges each step from the machine's own facts.

Expected values are computed, never written down: the host uid of a container
process is its container uid mapped through the remap user's range in the
machine's /etc/subuid (identity when the daemon does not remap); the
data-root subdirectory is named after that range and its /etc/subgid twin.
Every fact a verdict used is recorded beside it.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass

from .connection import CommandResult, Remote
from .daemon import ModeState
from .lab import KnownLimit
from .scenario import Expect, ProcessExpect, PsRowExpect, UidExpect
from .subids import map_to_host, parse_subids

PASS, FAIL, ERROR = "pass", "fail", "error"
# Failed for a reason of the host the machine runs on (a known limit of its provider).
LIMITED = "environment-limited"


@dataclass
class Verdict:
    check: str
    status: str
    expected: object
    observed: object
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class FactUnavailable(Exception):
    """A fact the verdict needs could not be read from the machine."""


class Facts:
    """Facts of one machine, read on demand while judging one step, all recorded."""

    def __init__(self, remote: Remote, mode_state: ModeState):
        self.remote = remote
        self.mode_state = mode_state
        self.used: dict = {"mode": mode_state.facts()}

    def _keep(self, key: str, value):
        self.used[key] = value
        return value

    def container_pid(self, name: str) -> int:
        key = f"container.{name}"
        if key not in self.used:
            try:
                details = self.remote.docker.inspect_container(name)
            except Exception as exc:
                raise FactUnavailable(f"container '{name}': {str(exc).splitlines()[0][:160]}") from None
            state = details["State"]
            ports = details.get("NetworkSettings", {}).get("Ports") or {}
            self._keep(key, {"running": state.get("Running"), "pid": state.get("Pid"),
                             "published": sorted(f"{b['HostIp']}:{b['HostPort']}->{port}"
                                                 for port, bindings in ports.items() for b in bindings or [])})
        fact = self.used[key]
        if not fact["running"] or not fact["pid"]:
            raise FactUnavailable(f"container '{name}' is not running")
        return fact["pid"]

    def host_uid(self, pid: int) -> int:
        """Real uid of a process on the machine, from /proc (not from ps)."""
        return self._keep(f"host.proc.{pid}.uid", _real_uid(self._read(f"/proc/{pid}/status"), pid))

    def uid_map(self, pid: int) -> str:
        return self._keep(f"host.proc.{pid}.uid_map", self._read(f"/proc/{pid}/uid_map").strip())

    def inside_uid(self, container: str) -> int:
        result = self.remote.run(f"docker exec {shlex.quote(container)} cat /proc/1/status", timeout=30)
        if not result.ok:
            raise FactUnavailable(f"cannot read /proc/1/status in container '{container}': "
                                  f"{result.output.strip()[:160]}")
        return self._keep(f"container.{container}.proc.1.uid", _real_uid(result.stdout, 1))

    def host_users(self) -> dict[str, int]:
        if "host.passwd" not in self.used:
            self._keep("host.passwd", _passwd(self.remote.run("getent passwd").stdout))
        return self.used["host.passwd"]

    def container_users(self, container: str) -> dict[str, int]:
        key = f"container.{container}.passwd"
        if key not in self.used:
            result = self.remote.run(f"docker exec {shlex.quote(container)} cat /etc/passwd", timeout=30)
            self._keep(key, _passwd(result.stdout) if result.ok else {})
        return self.used[key]

    def map_to_host(self, container_uid: int) -> int | None:
        ranges = parse_subids(self.mode_state.subuid, "/etc/subuid")
        self._keep("host.etc.subuid", self.mode_state.subuid)
        return map_to_host(ranges, self.mode_state.mode.remap_user, container_uid)

    def pids_of(self, program: str) -> list[int]:
        result = self.remote.run(f"pidof {shlex.quote(program)}")
        return self._keep(f"host.pidof.{program}", [int(p) for p in result.stdout.split()])

    def daemon_root_dir(self) -> str:
        return self._keep("daemon.DockerRootDir", self.remote.docker.info().get("DockerRootDir"))

    def is_directory(self, path: str) -> bool:
        return self._keep(f"host.isdir.{path}",
                          self.remote.run(f"test -d {shlex.quote(path)}", sudo=True).exit_code == 0)

    def daemon_contents(self) -> dict:
        api = self.remote.docker
        return self._keep("daemon.contents", {
            "containers": [c.get("Names", ["?"])[0].lstrip("/") for c in api.containers(all=True)],
            "images": [tag for image in api.images() for tag in (image.get("RepoTags") or ["<none>"])],
        })

    def _read(self, path: str) -> str:
        result = self.remote.run(f"cat {shlex.quote(path)}", sudo=True, timeout=30)
        if not result.ok:
            raise FactUnavailable(f"cannot read {path}: {result.output.strip()[:160]}")
        return result.stdout


def judge(expect: Expect, result: CommandResult, facts: Facts,
          known_limits: list[KnownLimit] = ()) -> list[Verdict]:
    checks = expect.checks() or ["exit"]
    verdicts = []
    for check in checks:
        try:
            verdicts.append(CHECKS[check](expect, result, facts))
        except FactUnavailable as exc:
            verdicts.append(Verdict(check, ERROR, _describe(expect, check), None, str(exc)))
    limit = next((l for l in known_limits if l.signature in result.output), None)
    if limit is not None:
        for verdict in verdicts:
            if verdict.status != PASS:
                # Not a pass, and not the lab's failure either: say which limit, with the error.
                verdict.status = LIMITED
                verdict.detail = f"{limit.reason}: {_line_with(result.output, limit.signature)}"
    return verdicts


def _check_exit(expect: Expect, result: CommandResult, facts: Facts) -> Verdict:
    wanted = 0 if expect.exit is None else expect.exit
    if wanted == "nonzero":
        ok = result.exit_code != 0
    else:
        ok = result.exit_code == wanted
    return Verdict("exit", PASS if ok else FAIL, wanted, result.exit_code,
                   "" if ok else _last_line(result.output))


def _check_contains(expect: Expect, result: CommandResult, facts: Facts) -> Verdict:
    ok = expect.output_contains in result.output
    return Verdict("output_contains", PASS if ok else FAIL, expect.output_contains,
                   _line_with(result.output, expect.output_contains) if ok else _last_line(result.output))


def _check_matches(expect: Expect, result: CommandResult, facts: Facts) -> Verdict:
    found = re.search(expect.output_matches, result.output)
    return Verdict("output_matches", PASS if found else FAIL, expect.output_matches,
                   found.group(0) if found else _last_line(result.output))


def _check_uid(expect: Expect, result: CommandResult, facts: Facts) -> Verdict:
    spec: UidExpect = expect.uid
    pid = facts.container_pid(spec.container)
    observed = {"inside": facts.inside_uid(spec.container), "host": facts.host_uid(pid)}
    facts.uid_map(pid)
    wanted = {"inside": spec.inside, "host": facts.map_to_host(spec.inside)}
    ok = observed == wanted
    return Verdict("uid", PASS if ok else FAIL, wanted, observed,
                   f"container '{spec.container}', host pid {pid}")


def _check_ps_row(expect: Expect, result: CommandResult, facts: Facts) -> Verdict:
    spec: PsRowExpect = expect.ps_row
    if spec.side == "inside":
        pid, users, wanted = 1, facts.container_users(spec.container), spec.uid
    else:
        pid, users, wanted = facts.container_pid(spec.container), facts.host_users(), facts.map_to_host(spec.uid)
    rows = parse_ps(result.stdout)
    row = next((r for r in rows if r.get("pid") == pid), None)
    if row is None:
        return Verdict("ps_row", FAIL, {"pid": pid, "uid": wanted}, None,
                       f"no row for pid {pid} in the ps output ({len(rows)} rows)")
    observed_uid = resolve_uid(row["user"], users)
    ok = observed_uid == wanted
    return Verdict("ps_row", PASS if ok else FAIL, {"pid": pid, "uid": wanted},
                   {"pid": pid, "user": row["user"], "uid": observed_uid}, row["line"])


def _check_process(expect: Expect, result: CommandResult, facts: Facts) -> Verdict:
    spec: ProcessExpect = expect.process
    rows = [r for r in parse_ps(result.stdout)
            if r["command"].split()[:1] and r["command"].split()[0].rsplit("/", 1)[-1] == spec.command]
    if not rows:
        return Verdict("process", FAIL, {"command": spec.command, "uid": spec.uid}, None,
                       f"no {spec.command} process in the ps output")
    users = facts.host_users()
    observed = {
        "ps": sorted({resolve_uid(r["user"], users) for r in rows}, key=str),
        "proc": sorted({facts.host_uid(pid) for pid in facts.pids_of(spec.command)}),
    }
    ok = observed["ps"] == [spec.uid] and observed["proc"] == [spec.uid]
    return Verdict("process", PASS if ok else FAIL, {"command": spec.command, "uid": spec.uid},
                   observed, rows[0]["line"])


def _check_data_root(expect: Expect, result: CommandResult, facts: Facts) -> Verdict:
    wanted = facts.mode_state.expected_data_root
    observed = facts.daemon_root_dir()
    exists = facts.is_directory(wanted)
    ok = observed == wanted and exists
    return Verdict("data_root", PASS if ok else FAIL, wanted, observed,
                   "" if exists else f"{wanted} does not exist on the machine")


def _check_daemon_empty(expect: Expect, result: CommandResult, facts: Facts) -> Verdict:
    contents = facts.daemon_contents()
    ok = not contents["containers"] and not contents["images"]
    return Verdict("daemon_empty", PASS if ok else FAIL, {"containers": [], "images": []}, contents)


CHECKS = {
    "exit": _check_exit,
    "output_contains": _check_contains,
    "output_matches": _check_matches,
    "uid": _check_uid,
    "ps_row": _check_ps_row,
    "process": _check_process,
    "data_root": _check_data_root,
    "daemon_empty": _check_daemon_empty,
}


def parse_ps(text: str) -> list[dict]:
    """Rows of `ps -ef` (procps: UID PID ...) or busybox `ps` (PID USER ...) output."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0].split()
    last = len(header) - 1
    upper = [h.upper() for h in header]
    user_column = next((i for i, h in enumerate(upper) if h in ("UID", "USER")), None)
    if "PID" not in upper or user_column is None:
        return []
    pid_column = upper.index("PID")
    rows = []
    for line in lines[1:]:
        cells = line.split(None, last)
        if len(cells) <= max(pid_column, user_column) or not cells[pid_column].isdigit():
            continue
        rows.append({"pid": int(cells[pid_column]), "user": cells[user_column],
                     "command": cells[-1] if len(cells) == len(header) else "", "line": line.strip()})
    return rows


def resolve_uid(user: str, users: dict[str, int]) -> int | None:
    """A ps user column to a uid: numbers as they are, names through that side's passwd."""
    if user.isdigit():
        return int(user)
    return users.get(user)


def _passwd(text: str) -> dict[str, int]:
    users = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            users.setdefault(fields[0], int(fields[2]))
    return users


def _real_uid(status: str, pid: int) -> int:
    for line in status.splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise FactUnavailable(f"no Uid line in /proc/{pid}/status")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _line_with(text: str, needle: str) -> str:
    return next((line.strip()[:300] for line in text.splitlines() if needle in line), "")


def _describe(expect: Expect, check: str):
    value = getattr(expect, check)
    return value.model_dump() if hasattr(value, "model_dump") else value
