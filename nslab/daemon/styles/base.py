"""What a config style is, and the helpers styles share: flags <-> daemon.json keys, shell assignments."""
from __future__ import annotations

import json
import shlex
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from ...errors import ConfigError, DaemonError

if TYPE_CHECKING:  # the connection only as a type: loading styles loads no SSH stack
    from ...machines.connection import CommandResult, Remote


DAEMON_JSON = "/etc/docker/daemon.json"
DEFAULT_DOCKER = "/etc/default/docker"


class ConfigStyle(ABC):
    """How one kind of machine persists daemon options and restarts its daemon."""

    name: str
    #: The file that holds the options, and a description of where, for messages.
    path: str
    location: str

    @abstractmethod
    def read(self, remote: Remote) -> dict | None:
        """The options now persisted, or None when there are none."""

    @abstractmethod
    def write(self, remote: Remote, options: dict | None) -> None:
        """Persists options (None removes them)."""

    @abstractmethod
    def restart(self, remote: Remote) -> CommandResult:
        """Restarts the daemon; a failed result means the init system saw it fail."""

    @abstractmethod
    def other_places(self, remote: Remote) -> dict[str, dict]:
        """Options persisted elsewhere on the machine, by place: the daemon refuses a key set twice."""

    def daemon_log(self, remote: Remote) -> str:
        return remote.run("journalctl -u docker --no-pager -n 60", sudo=True).output

    def conflicts(self, remote: Remote, options: dict) -> list[str]:
        """Keys that would be set both here and in another place, which stops dockerd from starting."""
        found = []
        for place, persisted in self.other_places(remote).items():
            for key in sorted(set(options) & set(persisted or {})):
                found.append(f"'{key}' is set both in {place} and in {self.location}")
        return found


# Flags nslab writes, and the daemon.json keys they stand for.
FLAGS = {"insecure-registries": "--insecure-registry", "userns-remap": "--userns-remap"}
KEYS = {flag: key for key, flag in FLAGS.items()}


def options_to_flags(options: dict) -> list[str]:
    flags = []
    for key, value in sorted(options.items()):
        flag = FLAGS.get(key, f"--{key}")
        if key == "default-ulimits" and isinstance(value, dict):
            # dockerd's flag spells each limit name=soft:hard.
            flags += [f"--default-ulimit={name}={limit['Soft']}:{limit['Hard']}"
                      for name, limit in sorted(value.items())]
            continue
        if isinstance(value, dict):
            raise ConfigError(f"daemon option '{key}' is an object, which daemon.json holds but a command "
                              f"line does not: run this mode on a box whose config style is daemon-json")
        for item in value if isinstance(value, list) else [value]:
            item = str(item).lower() if isinstance(item, bool) else item
            flags.append(f"{flag}={item}")
    return flags


def flags_to_options(words: list[str]) -> dict:
    """The daemon.json equivalent of the known flags among words (others are ignored)."""
    options: dict = {}
    pending = None
    for word in words:
        if pending:
            add_option(options, pending, word)
            pending = None
            continue
        flag, _, value = word.partition("=")
        if flag in KEYS:
            if value:
                add_option(options, KEYS[flag], value)
            else:
                pending = KEYS[flag]
    return options


def add_option(options: dict, key: str, value: str) -> None:
    if key == "insecure-registries":
        options.setdefault(key, []).append(value)
    else:
        options[key] = value


def read_daemon_json(remote: Remote) -> dict | None:
    text = remote.read_file(DAEMON_JSON, sudo=True)
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DaemonError(f"{DAEMON_JSON} on the machine is not JSON: {exc}") from None


def shell_assignment(text: str | None, variable: str) -> list[str]:
    """The words of VARIABLE="..." in a shell file (the last assignment wins)."""
    words: list[str] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith(f"{variable}="):
            try:
                # First the shell's quoting of the value, then the words inside it.
                words = shlex.split(" ".join(shlex.split(line[len(variable) + 1:])))
            except ValueError:
                words = []
    return words


def replace_assignment(text: str | None, variable: str, words: list[str]) -> str:
    kept = [line for line in (text or "").splitlines() if not line.strip().startswith(f"{variable}=")]
    kept.append(f'{variable}="{" ".join(words)}"')
    return "\n".join(kept) + "\n"


def systemctl_restart(remote: Remote) -> CommandResult:
    # docker.service has a start limit; a lab restarts it often.
    remote.run("systemctl reset-failed docker.service docker.socket", sudo=True)
    return remote.run("systemctl restart docker.service", sudo=True, timeout=180)
