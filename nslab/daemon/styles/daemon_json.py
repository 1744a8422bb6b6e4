"""`daemon-json`: /etc/docker/daemon.json, restarted by systemd (modern Docker everywhere)."""
from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

from .base import (
    DAEMON_JSON,
    DEFAULT_DOCKER,
    ConfigStyle,
    flags_to_options,
    read_daemon_json,
    shell_assignment,
    systemctl_restart,
)

if TYPE_CHECKING:  # the connection only as a type: loading styles loads no SSH stack
    from ...machines.connection import CommandResult, Remote


class DaemonJsonStyle(ConfigStyle):
    """/etc/docker/daemon.json, restarted by systemd (modern Docker everywhere)."""

    name = "daemon-json"
    path = DAEMON_JSON
    location = path

    def read(self, remote: Remote) -> dict | None:
        return read_daemon_json(remote)

    def write(self, remote: Remote, options: dict | None) -> None:
        if options is None:
            remote.check(f"rm -f {self.path}", sudo=True)
        else:
            remote.write_file(self.path, json.dumps(options, indent=2, sort_keys=True) + "\n")

    def restart(self, remote: Remote) -> CommandResult:
        return systemctl_restart(remote)

    def other_places(self, remote: Remote) -> dict[str, dict]:
        places = {}
        unit = remote.run("systemctl cat docker.service", sudo=True).stdout
        exec_start = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
        if exec_start:
            places["the docker.service command line"] = flags_to_options(shlex.split(exec_start[-1][10:]))
        if "$DOCKER_OPTS" in unit or "${DOCKER_OPTS}" in unit:
            opts = shell_assignment(remote.read_file(DEFAULT_DOCKER), "DOCKER_OPTS")
            places[f"DOCKER_OPTS in {DEFAULT_DOCKER}"] = flags_to_options(opts)
        return places


