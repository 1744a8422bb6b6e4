"""A step's evidence: the files a run captured, and the facts judging reads from them.

Layout of one step's facts folder (`<machine>/<mode>/NN-<step>.facts/`), one file a fact:

    container-<name>.inspect.json    `docker inspect` of the container
    container-<name>.host-status     /proc/<pid>/status of its main process, read on the machine
    container-<name>.host-limits     /proc/<pid>/limits of that process
    container-<name>.uid_map         /proc/<pid>/uid_map and gid_map of that process
    container-<name>.gid_map
    container-<name>.inside-status   /proc/1/status read inside the container
    container-<name>.inside-passwd   /etc/passwd and /etc/group inside the container
    container-<name>.inside-group
    host.passwd, host.group          `getent passwd`, `getent group` on the machine
    host.subuid, host.subgid         /etc/subuid, /etc/subgid
    program-<name>.pids              `pidof <name>`, and program-<name>.<pid>.status each
    path-<container><path>.inside    `stat -c '%u %g %n'` of a path inside the container (the
    path-<container><path>.host      path's / as _), and of the same file on the machine
    docker-info.json                 the daemon's `docker info`
    docker-dirs                      directories in /var/lib/docker: "uid gid path" lines
    daemon-contents.json             containers and images the daemon lists
    daemon-config.json               /etc/docker/daemon.json ("file") and dockerd's command line
    bridge-network.json              `docker network inspect bridge`
    sysctl-<container>.<name>        a network sysctl read in the container's network namespace
    before.<fact file>               a fact captured before the step's command ran ("before:<fact>")
    unavailable.json                 facts that could not be read, with the reason

A fact is requested by name (FACT_KINDS); the run captures each requested fact
once per step, and judging never reads anything but these files.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..subids import SubIdRange, parse_subids
from .parse import parse_id_map, parse_passwd, status_ids

# The facts a check may ask for: "container:<name>", "program:<name>", or one of these.
FACT_KINDS = ("container", "program", "path", "host-accounts", "subids", "docker-info", "docker-dirs",
              "daemon-contents", "daemon-config", "bridge-network", "sysctl")
#: A fact captured before the step's command runs: "before:container:<name>", kept as "before.<file>".
BEFORE = "before."
UNAVAILABLE = "unavailable.json"
#: A JSON object of the evidence (`docker inspect`, `docker info`), as the machine wrote it.
JsonObject = dict[str, Any]


class FactUnavailable(Exception):
    """A fact a verdict needs is not in the evidence (it could not be read, or was not captured)."""


def container_file(name: str, what: str) -> str:
    return f"container-{name}.{what}"


def program_file(name: str, what: str) -> str:
    return f"program-{name}.{what}"


def sysctl_file(container: str, name: str) -> str:
    return f"sysctl-{container}.{name}"


def path_file(container: str, path: str, where: str) -> str:
    return f"path-{container}{path.replace('/', '_')}.{where}"


def host_path_of(inspect: JsonObject, path: str) -> str:
    """Where a container's path is on the machine: under the source of the bind mount or volume
    that holds it, else in the container's own filesystem, seen through its main process."""
    mounts = [m for m in inspect.get("Mounts") or []
              if path == m.get("Destination") or path.startswith(m.get("Destination", "").rstrip("/") + "/")]
    if mounts:
        mount = max(mounts, key=lambda m: len(m["Destination"]))
        source: str = mount["Source"]
        return source + path[len(mount["Destination"].rstrip("/")):]
    return f"/proc/{(inspect.get('State') or {}).get('Pid', 0)}/root{path}"


def parse_stat(text: str, file: str) -> tuple[int, int, str]:
    """`stat -c '%u %g %n'` output: the owner's uid and gid, and the path."""
    fields = text.strip().split(" ", 2)
    if len(fields) != 3 or not fields[0].isdigit() or not fields[1].isdigit():
        raise FactUnavailable(f"{file} is not a stat line ({text.strip()[:80]!r})")
    return int(fields[0]), int(fields[1]), fields[2]


class ContainerFacts:
    """One container as captured: its inspect, its main process on the machine and inside."""

    def __init__(self, evidence: StepEvidence, name: str, before: bool = False):
        self.name = name
        self._evidence = evidence
        #: As captured before the step's command ran, or after it.
        self._prefix = BEFORE if before else ""
        inspect = evidence.json(self._prefix + container_file(name, "inspect.json"))
        state = inspect.get("State") or {}
        self.running = bool(state.get("Running"))
        self.pid = state.get("Pid") or 0
        host_config = inspect.get("HostConfig") or {}
        #: "host" when the container opted out of the daemon's user namespace.
        self.userns_mode = host_config.get("UsernsMode") or ""
        self.user = (inspect.get("Config") or {}).get("User") or ""
        ports = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
        self.published = sorted(f"{b['HostIp']}:{b['HostPort']}->{port}"
                                for port, bindings in ports.items() for b in bindings or [])

    def require_running(self) -> int:
        if not self.running or not self.pid:
            when = " before the step's command" if self._prefix else ""
            raise FactUnavailable(f"container '{self.name}' is not running{when}")
        return self.pid

    def host_id(self, field: str) -> int:
        """Real uid or gid of the container's main process as the machine sees it."""
        return self._status_id(self._prefix + container_file(self.name, "host-status"), field)

    def inside_id(self, field: str) -> int:
        """Real uid or gid of PID 1 as the container sees it."""
        return self._status_id(self._prefix + container_file(self.name, "inside-status"), field)

    def id_map(self, kind: str) -> list[tuple[int, int, int]]:
        """The process's own uid_map or gid_map: how its ids stand for the machine's."""
        entries = parse_id_map(self._evidence.text(self._prefix + container_file(self.name, kind)))
        if not entries:
            raise FactUnavailable(f"{self._prefix + container_file(self.name, kind)} holds no mapping")
        return entries

    def inside_accounts(self, what: str = "passwd") -> dict[str, int]:
        return parse_passwd(self._evidence.text(self._prefix + container_file(self.name, f"inside-{what}")))

    def _status_id(self, file: str, field: str) -> int:
        value = status_ids(self._evidence.text(file), field)
        if value is None:
            raise FactUnavailable(f"no {field} line in {file}")
        return value


class StepEvidence:
    """Everything one step left: its command's outputs and exit status, its facts, its mode."""

    def __init__(self, folder: Path, exit_code: int | None, stdout: str, stderr: str, mode: dict[str, Any],
                 reader: Callable[[str], bytes | None] | None = None):
        self.folder = folder
        #: How a fact file is read (a run's reader keeps to the run); default: from the folder.
        self._reader = reader
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.mode = mode
        #: The evidence files a verdict read, in order: what a mutation of it must change.
        self.read: list[str] = []
        self._unavailable: dict[str, str] | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def raw(self, name: str) -> str:
        """A fact file as written (carriage returns and all), not noted as read; FileNotFoundError if absent."""
        data = self._reader(name) if self._reader else (self.folder / name).read_bytes()
        if data is None:
            raise FileNotFoundError(name)
        return data.decode(errors="replace")

    def text(self, name: str) -> str:
        try:
            content = self.raw(name)
        except FileNotFoundError:
            reasons = self.unavailable()
            reason = reasons.get(name) or f"{name} was not captured for this step" + (
                f" ({'; '.join(f'{fact}: {why}' for fact, why in reasons.items())})" if reasons else "")
            raise FactUnavailable(reason) from None
        if name not in self.read:
            self.read.append(name)
        return content

    def json(self, name: str) -> JsonObject:
        """A fact file holding a JSON object."""
        try:
            value = json.loads(self.text(name))
        except json.JSONDecodeError as exc:
            raise FactUnavailable(f"{name} is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise FactUnavailable(f"{name} holds a {type(value).__name__}, not a dict")
        return value

    def unavailable(self) -> dict[str, str]:
        if self._unavailable is None:
            try:
                found = json.loads(self.raw(UNAVAILABLE))
            except (FileNotFoundError, json.JSONDecodeError):
                found = {}
            self._unavailable = found if isinstance(found, dict) else {}
        return self._unavailable

    def container(self, name: str, before: bool = False) -> ContainerFacts:
        return ContainerFacts(self, name, before)

    def host_accounts(self, what: str = "passwd") -> dict[str, int]:
        return parse_passwd(self.text(f"host.{what}"))

    def subid_ranges(self, kind: str) -> list[SubIdRange]:
        """The machine's /etc/subuid or /etc/subgid at this step."""
        return parse_subids(self.text(f"host.{kind}"), f"/etc/{kind}")

    def path_owner(self, container: str, path: str, where: str) -> tuple[int, int, str]:
        """The uid, gid and path of a container's file, as seen inside it or on the machine."""
        name = path_file(container, path, where)
        return parse_stat(self.text(name), name)

    def program_pids(self, program: str, before: bool = False) -> list[int]:
        """`pidof` of the program, after the step's command (or before it, when asked as before:)."""
        return [int(p) for p in self.text((BEFORE if before else "") + program_file(program, "pids")).split()]

    def program_status(self, program: str, pid: int) -> str:
        return self.text(program_file(program, f"{pid}.status"))

    def docker_info(self) -> JsonObject:
        return self.json("docker-info.json")

    def docker_dirs(self) -> list[str]:
        """Directories directly under /var/lib/docker (and itself), as paths."""
        return [line.split(None, 2)[2] for line in self.text("docker-dirs").splitlines()
                if len(line.split(None, 2)) == 3]

    def daemon_contents(self) -> JsonObject:
        return self.json("daemon-contents.json")

    @property
    def remap_user(self) -> str | None:
        """The user whose ranges the step's daemon maps container ids into (None: no remapping)."""
        user: str | None = self.mode.get("remap_user")
        return user
