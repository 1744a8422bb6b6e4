"""Existing hosts to try nslab on: machines nslab did not bring up. Each is a container started with
plain `docker run` from a box image on the host daemon (the options Vagrant's docker provider uses),
with a key made here, a host key of its own and passwordless sudo for its user; nothing of nslab's
Vagrant state knows it. The tests and `bench/fleet.py` use them; `--host USER@127.0.0.1:PORT`
reaches one."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..machines.base import free_loopback_port
from ..machines.hostdocker import ensure_host_docker
from ..machines.hostshare import clone_labels
from ..machines.inventory import load_lab
from ..paths import clone_id


@dataclass
class ContainerHost:
    name: str           # the container's name
    port: int
    user: str = "vagrant"

    @property
    def spec(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"


class ContainerHosts:
    def __init__(self, folder: Path):
        self.url = ensure_host_docker(lambda _: None)
        self.folder = folder
        self.key = folder / "id_ed25519"
        if not self.key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        self.known_hosts = folder / "known_hosts"
        self.hosts: list[ContainerHost] = []

    def start(self, box: str, name: str) -> ContainerHost:
        """A container of the box's image with sshd, this key authorized, its daemon answering."""
        lab = load_lab()
        host = ContainerHost(f"nslab-{clone_id()}-test-{name}", free_loopback_port())
        self.docker("rm", "-f", "-v", host.name, check=False)
        self.docker("run", "-d", "--name", host.name, "-p", f"127.0.0.1:{host.port}:22",
                    *[f"--label={k}={v}" for k, v in clone_labels("tests").items()],
                    *lab.providers["docker"].create_args, f"{lab.box(box).image}:latest")
        self.hosts.append(host)
        self.exec(host, "until [ -s /etc/ssh/ssh_host_ed25519_key.pub ] && docker info >/dev/null 2>&1; "
                        "do sleep 0.2; done", timeout=120)
        self.exec(host, f"mkdir -p /home/{host.user}/.ssh && cat > /home/{host.user}/.ssh/authorized_keys && "
                        f"chown -R {host.user}: /home/{host.user}/.ssh",
                  stdin=self.key.with_suffix(".pub").read_text())
        return host

    def docker(self, *args, timeout=120, stdin=None, check=True) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", self.url, *args], input=stdin, capture_output=True, text=True,
                              timeout=timeout, check=check)

    def exec(self, host: ContainerHost, command: str, timeout=120, stdin=None) -> str:
        return self.docker("exec", "-i", host.name, "sh", "-c", command, timeout=timeout, stdin=stdin).stdout

    def args(self, *hosts: ContainerHost) -> list[str]:
        """The command-line options that run a lab on these hosts."""
        return ["--host", ",".join(h.spec for h in hosts), "--identity", str(self.key),
                "--known-hosts", str(self.known_hosts)]

    def remove_all(self) -> None:
        for host in self.hosts:
            self.docker("rm", "-f", "-v", host.name, check=False)
        self.hosts.clear()
