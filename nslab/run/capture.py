"""Reads the facts a step's expectations need from the machine and keeps each as a file.

What is read here is all a verdict may use: judging (nslab/judge/) reads only
these files. A fact that cannot be read is recorded as unavailable, with the
reason, and the verdicts that need it become errors.
"""
from __future__ import annotations

import json
import shlex

import docker

from ..errors import ArtifactsError, MachineError, RemoteTimeout
from ..judge.evidence import (
    BEFORE,
    UNAVAILABLE,
    container_file,
    host_path_of,
    path_file,
    program_file,
    sysctl_file,
)
from ..machines.connection import Remote
from . import redact
from .layout import RunDir, StepFiles, to_json

# Between files in one read of several: NUL never occurs in the text files read.
_SEP = "\0"


def read_files(remote: Remote, paths: list[str], sudo: bool = False, via: str = "") -> dict[str, str | None]:
    """Several files in one command (on the machine, or inside a container with `via`); None where unreadable."""
    loop = ("for f in " + " ".join(shlex.quote(p) for p in paths) +
            "; do printf '\\0%s\\0' \"$f\"; cat \"$f\"; printf '\\0%s\\0' \"$?\"; done")
    command = f"{via} sh -c {shlex.quote(loop)}" if via else loop
    result = remote.run(command, sudo=sudo, timeout=30)
    parts = result.stdout.split(_SEP)
    found: dict[str, str | None] = {p: None for p in paths}
    for index in range(0, len(parts) - 3, 4):
        name, content, code = parts[index + 1], parts[index + 2], parts[index + 3]
        if name in found:
            found[name] = content if code == "0" else None
    return found


class Capture:
    """The facts of one step, written into the run as they are read."""

    def __init__(self, remote: Remote, run: RunDir, files: StepFiles, engine_cli: str = "docker"):
        self.remote = remote
        #: Facts read before the step's command runs are kept as before.<file>.
        self.prefix = ""
        #: How a command reaches the mode's engine (a rootless one runs as its user).
        self.engine_cli = engine_cli
        self.run = run
        self.files = files
        self.unavailable: dict[str, str] = {}

    def all(self, facts: list[str], before: bool = False) -> None:
        """The facts read after the step's command, or those asked as before:<fact> before it."""
        self.prefix = BEFORE if before else ""
        for fact in facts:
            if fact.startswith(BEFORE.rstrip(".") + ":") != before:
                continue
            fact = fact.split(":", 1)[1] if before else fact
            kind, _, argument = fact.partition(":")
            try:
                getattr(self, "_" + kind.replace("-", "_"))(*([argument] if argument else []))
            except (MachineError, ArtifactsError):
                raise           # the connection is gone, or the run cannot keep files: the step cannot go on
            except RemoteTimeout as exc:
                self.unavailable[self.prefix + fact] = str(exc)
            except Exception as exc:  # the daemon's API refused or died: that fact is missing
                said = str(exc).splitlines()[0][:200] if str(exc) else ""
                self.unavailable[self.prefix + fact] = f"{type(exc).__name__}: {said}"
        if self.unavailable:
            self._keep(UNAVAILABLE, to_json(self.unavailable))

    def _keep(self, name: str, content: str) -> None:
        self.run.write(self.files.fact(name if name == UNAVAILABLE else self.prefix + name), content)

    def _missing(self, name: str, reason: str) -> None:
        self.unavailable[self.prefix + name] = reason

    def _files(self, names_and_paths: dict[str, str], sudo: bool = False, via: str = "",
               where: str = "on the machine") -> None:
        contents = read_files(self.remote, list(names_and_paths.values()), sudo=sudo, via=via)
        for name, path in names_and_paths.items():
            if contents[path] is None:
                self._missing(name, f"cannot read {path} {where}")
            else:
                self._keep(name, contents[path])

    def _container(self, name: str) -> None:
        try:
            inspect = self.remote.docker.inspect_container(name)
        except docker.errors.NotFound as exc:
            self._missing(container_file(name, "inspect.json"),
                          f"container '{name}': {str(exc).splitlines()[0][:200]}")
            return
        self._keep(container_file(name, "inspect.json"), to_json(redact.container_inspect(inspect)))
        state = inspect.get("State") or {}
        if not state.get("Running") or not state.get("Pid"):
            return          # the verdict says "not running", from the inspect itself
        pid = state["Pid"]
        self._until_exec(pid)
        self._files({container_file(name, "host-status"): f"/proc/{pid}/status",
                     container_file(name, "host-limits"): f"/proc/{pid}/limits",
                     container_file(name, "uid_map"): f"/proc/{pid}/uid_map",
                     container_file(name, "gid_map"): f"/proc/{pid}/gid_map"}, sudo=True)
        self._files({container_file(name, "inside-status"): "/proc/1/status",
                     container_file(name, "inside-passwd"): "/etc/passwd",
                     container_file(name, "inside-group"): "/etc/group"},
                    via=f"{self.engine_cli} exec {shlex.quote(name)}", where=f"inside container '{name}'")

    def _until_exec(self, pid: int) -> None:
        """`docker run -d` may return while the container's process is still runc's init (named
        `runc:[2:INIT]`), which holds root's capabilities until it execs the command: seen once on
        Docker 26 as a `-u 1000` container with every default capability. Its status is read once
        the command runs (at most 2 s; a process still in runc's init then is read as it is)."""
        self.remote.run(f"for i in $(seq 40); do case $(cat /proc/{pid}/comm 2>/dev/null) in "
                        f"runc:*) sleep 0.05;; *) break;; esac; done", timeout=30)

    def _path(self, argument: str) -> None:
        container, path = argument.split(":", 1)
        try:
            inspect = self.remote.docker.inspect_container(container)
        except docker.errors.NotFound as exc:
            self._missing(path_file(container, path, "host"), f"container '{container}': "
                                                               f"{str(exc).splitlines()[0][:200]}")
            return
        stat = "stat -c '%u %g %n' -- "
        for where, command, sudo in (
                ("inside", f"{self.engine_cli} exec {shlex.quote(container)} {stat}{shlex.quote(path)}", False),
                ("host", stat + shlex.quote(host_path_of(inspect, path)), True)):
            result = self.remote.run(command, sudo=sudo)
            if result.ok:
                self._keep(path_file(container, path, where), result.stdout)
            else:
                self._missing(path_file(container, path, where), f"cannot stat {path} ({where}): "
                                                                 f"{result.output.strip()[:200]}")

    def _sysctl(self, argument: str) -> None:
        """A network sysctl inside the container's network namespace, read from the machine."""
        container, name = argument.split(":", 1)
        file = sysctl_file(container, name)
        try:
            pid = (self.remote.docker.inspect_container(container).get("State") or {}).get("Pid") or 0
        except docker.errors.NotFound as exc:
            self._missing(file, f"container '{container}': {str(exc).splitlines()[0][:200]}")
            return
        result = self.remote.run(f"nsenter -t {int(pid)} -n cat /proc/sys/{shlex.quote(name.replace('.', '/'))}",
                                 sudo=True)
        if result.ok and pid:
            self._keep(file, result.stdout)
        else:
            self._missing(file, f"cannot read {name} of container '{container}': {result.output.strip()[:200]}")

    def _program(self, name: str) -> None:
        found = self.remote.run(f"pidof {shlex.quote(name)}")
        if found.exit_code not in (0, 1):          # 1: no such process; anything else: pidof could not look
            self._missing(program_file(name, "pids"), f"pidof {name} failed (exit {found.exit_code}): "
                                                      f"{found.output.strip()[:200]}")
            return
        pids = found.stdout
        self._keep(program_file(name, "pids"), pids)
        if pids.split():
            self._files({program_file(name, f"{pid}.status"): f"/proc/{pid}/status" for pid in pids.split()},
                        sudo=True)

    def _host_accounts(self) -> None:
        for database in ("passwd", "group"):
            result = self.remote.run(f"getent {database}")
            if result.ok:
                self._keep(f"host.{database}", result.stdout)
            else:
                self._missing(f"host.{database}", f"getent {database} failed: {result.output.strip()[:200]}")

    def _subids(self) -> None:
        self._files({"host.subuid": "/etc/subuid", "host.subgid": "/etc/subgid"})

    def _daemon_config(self) -> None:
        """What a configuration audit reads: daemon.json (absent: null) and the daemon's command line."""
        found = read_files(self.remote, ["/etc/docker/daemon.json"], sudo=True)["/etc/docker/daemon.json"]
        try:
            options = json.loads(found) if found is not None else None
        except json.JSONDecodeError:
            options = {"(not valid JSON)": found}
        cmdline = self.remote.run("ps -o args= -C dockerd").stdout.strip()
        self._keep("daemon-config.json", to_json({"file": options, "cmdline": cmdline}))

    def _bridge_network(self) -> None:
        self._keep("bridge-network.json", to_json(self.remote.docker.inspect_network("bridge")))

    def _docker_info(self) -> None:
        self._keep("docker-info.json", to_json(self.remote.docker.info()))

    def _docker_dirs(self) -> None:
        result = self.remote.run("find /var/lib/docker -maxdepth 1 -type d -printf '%U %G %p\\n'", sudo=True)
        if result.ok:
            self._keep("docker-dirs", result.stdout)
        else:
            self._missing("docker-dirs", f"cannot list /var/lib/docker: {result.output.strip()[:200]}")

    def _daemon_contents(self) -> None:
        api = self.remote.docker
        self._keep("daemon-contents.json", json.dumps({
            "containers": [c.get("Names", ["?"])[0].lstrip("/") for c in api.containers(all=True)],
            "images": [tag for image in api.images() for tag in (image.get("RepoTags") or ["<none>"])],
        }, indent=2, sort_keys=True) + "\n")
