"""What nslab needs of a lab machine, and the sets of machines (instances) runs use."""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from ..config.lab import Box
from ..errors import ConfigError
from ..paths import clone_id, state_dir, vagrant_home


@dataclass(frozen=True)
class SshEndpoint:
    host: str
    port: int
    user: str
    key_file: str
    #: The known_hosts file the host's key must be in; None for the machines nslab built (a new key each).
    known_hosts: str | None = None
    #: An unknown key is recorded there instead of refused (ssh's StrictHostKeyChecking=accept-new).
    accept_new_host_key: bool = False

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


class Machine(ABC):
    """A machine a lab runs on: brought up, reached over SSH, destroyed."""

    def __init__(self, box: Box):
        self.box = box

    @property
    def name(self) -> str:
        return self.box.name

    @property
    def provider(self):
        from .providers import PROVIDERS
        return PROVIDERS[self.box.provider]

    @property
    @abstractmethod
    def called(self) -> str:
        """What its provider calls it: a container's or a domain's name, a host's address."""

    @abstractmethod
    def up(self, log=print) -> float:
        """Brings the machine up; returns the seconds it took."""

    @abstractmethod
    def status(self) -> str:
        """'running', 'not_created', 'stopped', ..."""

    @abstractmethod
    def ssh_endpoint(self) -> SshEndpoint:
        ...

    @abstractmethod
    def destroy(self, log=print) -> None:
        ...


@dataclass(frozen=True)
class Instance:
    """A set of machines of the one Vagrantfile with Vagrant state, container
    names and SSH port of its own, so runs at once never clash. The default
    instance uses the project's .vagrant, as plain `vagrant` commands do. Names
    every clone on the host sees (containers, domains, relays) carry the clone's
    id, so two clones' instances of one name never meet."""
    name: str = "default"
    ssh_port: int | None = None

    @property
    def is_default(self) -> bool:
        return self.name == "default"

    @property
    def prefix(self) -> str:
        base = f"nslab-{clone_id()}"
        return base if self.is_default else f"{base}-{self.name}"

    @property
    def dotfile_path(self) -> Path | None:
        return None if self.is_default else state_dir() / "instances" / self.name

    def env(self) -> dict[str, str]:
        env = {}
        if self.dotfile_path is not None:
            self.dotfile_path.mkdir(parents=True, exist_ok=True)
            env["VAGRANT_DOTFILE_PATH"] = str(self.dotfile_path)
            # Vagrant locks a machine being created under a key that every new
            # machine shares, in VAGRANT_HOME: instances need homes of their own
            # to come up at the same time.
            home = self.dotfile_path / "home"
            env["VAGRANT_HOME"] = str(home)
            # ... but the boxes nslab built and added are the project's, shared.
            home.mkdir(exist_ok=True)
            shared_boxes = vagrant_home() / "boxes"
            shared_boxes.mkdir(parents=True, exist_ok=True)
            if not (home / "boxes").exists():
                (home / "boxes").symlink_to(shared_boxes)
        return env


DEFAULT_INSTANCE = Instance()


def instances() -> list[Instance]:
    """The default instance and every other one that holds a machine (Vagrant keeps its id). A
    folder without one is no instance: a command that listed machines while a run destroyed the
    instance's last one (`invoke status` beside a matrix) may have made it again."""
    folder = state_dir() / "instances"
    others = sorted(p.name for p in folder.iterdir()
                    if p.is_dir() and any((p / "machines").glob("*/*/id"))) if folder.exists() else []
    return [DEFAULT_INSTANCE] + [Instance(name) for name in others]


def chosen_instances(name: str | None) -> list[Instance]:
    """The instance --instance names (refused when there is none of that name), or every instance."""
    known = instances()
    chosen = [i for i in known if name is None or i.name == name]
    if name is not None and not chosen:
        raise ConfigError(f"--instance {name}: no such instance (known: {', '.join(i.name for i in known)})")
    return chosen


_ports_given: set[int] = set()
_ports_lock = threading.Lock()


def nat_ports() -> set[int]:
    """Ports a NAT rule redirects (Docker's published ports, and any it left behind). A port free to
    bind may still be one of them, and a connection to it would reach the rule's container instead."""
    iptables = shutil.which("iptables")
    if iptables is None:
        return set()
    result = subprocess.run([iptables, "-w", "-t", "nat", "-S"], capture_output=True, text=True)
    return {int(port) for port in re.findall(r"--dport (\d+) .*-j DNAT", result.stdout)}


def free_loopback_port() -> int:
    """A port free on 127.0.0.1 now, redirected by no NAT rule, and not handed to another machine
    of this process."""
    with _ports_lock:
        taken = nat_ports()
        while True:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            if port not in _ports_given and port not in taken:
                _ports_given.add(port)
                return port
