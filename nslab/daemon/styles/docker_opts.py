"""`docker-opts`: DOCKER_OPTS in /etc/default/docker, read by the sysvinit (or upstart) script."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .base import (
    DAEMON_JSON,
    DEFAULT_DOCKER,
    ConfigStyle,
    flags_to_options,
    options_to_flags,
    read_daemon_json,
    replace_assignment,
    shell_assignment,
)

if TYPE_CHECKING:  # the connection only as a type: loading styles loads no SSH stack
    from ...machines.connection import CommandResult, Remote


class DockerOptsStyle(ConfigStyle):
    """DOCKER_OPTS in /etc/default/docker, read by the sysvinit (or upstart) script.

    Ubuntu 16.04's systemd unit ignores this file: there use daemon-json or
    systemd-dropin. Debian's units read it, but nslab uses it where sysvinit runs.
    """

    name = "docker-opts"
    path = DEFAULT_DOCKER
    location = f"DOCKER_OPTS in {path}"
    variable = "DOCKER_OPTS"
    init_script = "/etc/init.d/docker"
    log_path = "/var/log/docker.log"

    def read(self, remote: Remote) -> dict | None:
        text = remote.read_file(self.path)
        words = shell_assignment(text, self.variable)
        return flags_to_options(words) if words else None

    def write(self, remote: Remote, options: dict | None) -> None:
        text = remote.read_file(self.path)
        words = options_to_flags(options) if options else []
        remote.write_file(self.path, replace_assignment(text, self.variable, words))

    def restart(self, remote: Remote) -> CommandResult:
        # The script returns before the daemon is ready (or has died); apply_mode polls for that.
        return remote.run(f"{self.init_script} restart", sudo=True, timeout=180)

    def daemon_log(self, remote: Remote) -> str:
        return remote.run(f"tail -n 60 {self.log_path}", sudo=True).output

    def other_places(self, remote: Remote) -> dict[str, dict]:
        return {DAEMON_JSON: read_daemon_json(remote) or {}}

