"""`systemd-dropin`: a drop-in that resets ExecStart= and starts dockerd with the mode's flags."""
from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from ...errors import DaemonError
from .base import DAEMON_JSON, ConfigStyle, flags_to_options, options_to_flags, read_daemon_json, systemctl_restart

if TYPE_CHECKING:  # the connection only as a type: loading styles loads no SSH stack
    from ...machines.connection import CommandResult, Remote


class SystemdDropInStyle(ConfigStyle):
    """A drop-in that resets ExecStart= and starts dockerd with the mode's flags."""

    name = "systemd-dropin"
    path = "/etc/systemd/system/docker.service.d/nslab-mode.conf"
    location = f"the drop-in {path}"

    def _base_command(self, remote: Remote) -> str:
        fragment = remote.check("systemctl show -p FragmentPath --value docker.service", sudo=True).strip()
        unit = remote.read_file(fragment) or ""
        line = next((each for each in unit.splitlines() if each.startswith("ExecStart=")), None)
        if line is None:
            raise DaemonError(f"no ExecStart= in {fragment}")
        # Options come from the drop-in only, so DOCKER_OPTS cannot set a key twice.
        return " ".join(w for w in line[len("ExecStart="):].split() if "DOCKER_OPTS" not in w)

    def read(self, remote: Remote) -> dict | None:
        text = remote.read_file(self.path)
        if text is None:
            return None
        lines = [each for each in text.splitlines() if each.startswith("ExecStart=") and each != "ExecStart="]
        return flags_to_options(shlex.split(lines[-1][len("ExecStart="):])) if lines else None

    def write(self, remote: Remote, options: dict | None) -> None:
        if options is None:
            remote.check(f"rm -f {self.path}", sudo=True)
        else:
            command = self._base_command(remote) + " " + " ".join(options_to_flags(options))
            remote.check(f"mkdir -p {shlex.quote(self.path.rsplit('/', 1)[0])}", sudo=True)
            remote.write_file(self.path, f"# Written by nslab: the daemon mode's flags.\n"
                                         f"[Service]\nExecStart=\nExecStart={command}\n")
        remote.check("systemctl daemon-reload", sudo=True)

    def restart(self, remote: Remote) -> CommandResult:
        return systemctl_restart(remote)

    def other_places(self, remote: Remote) -> dict[str, dict]:
        return {DAEMON_JSON: read_daemon_json(remote) or {}}

