"""Existing hosts for the tests: machines nslab did not bring up. Each is a container the test itself
starts with `docker run` from a box image (the options Vagrant's docker provider uses), with a key
the test generates and a host key of its own; nothing of nslab's Vagrant state knows it.

`facts()` is the test's own reading of what a lab may change on a host, taken with `docker exec`
beside nslab's, so "left as found" is checked by the test and not only by nslab."""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from nslab.config.lab import load_lab
from nslab.machines.base import free_loopback_port
from nslab.machines.hostshare import clone_labels
from nslab.paths import clone_id

from .conftest import invoke

# Every file a lab may change, listed here on their own (not taken from nslab's list).
FILES = [f"{path}{suffix}" for path in ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow",
                                         "/etc/subuid", "/etc/subgid") for suffix in ("", "-")] + [
    "/etc/docker/daemon.json", "/etc/default/docker", "/etc/systemd/system/docker.service.d/nslab-mode.conf"]
FACTS = (
    f"for f in {' '.join(FILES)}; do if [ -e $f ]; then echo \"$(stat -c '%a %u %g' $f) $(sha256sum $f)\"; "
    "else echo \"absent $f\"; fi; done; "
    "echo users: $(cut -d: -f1 /etc/passwd); echo groups: $(cut -d: -f1 /etc/group); echo homes: $(ls /home); "
    "echo images: $(docker images -aq --no-trunc | sort); "
    "echo containers: $(docker ps -a --format '{{.ID}}/{{.Names}}/{{.State}}' | sort); "
    "echo volumes: $(docker volume ls -q); echo data-root: $(ls -A /var/lib/docker); "
    "echo info: $(docker info --format '{{json .SecurityOptions}} {{.DockerRootDir}}'); "
    "echo dockerd: $(ps -o args= -C dockerd); "
    "echo lab paths: $(ls -d /srv/nslab-* /tmp/nslab-files /usr/local/sbin/nslab-build-lab-images 2>/dev/null)")


@dataclass
class Host:
    name: str           # the container's name
    port: int
    user: str = "vagrant"

    @property
    def spec(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"


class ExistingHosts:
    def __init__(self, docker_url: str, folder: Path):
        self.client = docker.DockerClient(base_url=docker_url)
        self.folder = folder
        self.key = folder / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        self.known_hosts = folder / "known_hosts"
        self.hosts: list[Host] = []

    def start(self, box: str, name: str) -> Host:
        """A container of the box's image with sshd, this key authorized, the daemon answering."""
        lab = load_lab()
        port = free_loopback_port()
        host = Host(f"nslab-{clone_id()}-test-{name}", port)
        try:
            self.client.containers.get(host.name).remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        args = ["run", "-d", "--name", host.name, "-p", f"127.0.0.1:{port}:22",
                *[f"--label={k}={v}" for k, v in clone_labels("tests").items()],
                *lab.providers["docker"].create_args, f"{lab.box(box).image}:latest"]
        self.docker(*args)
        self.hosts.append(host)
        self.exec(host, "until [ -s /etc/ssh/ssh_host_ed25519_key.pub ] && docker info >/dev/null 2>&1; "
                        "do sleep 0.2; done", timeout=120)
        self.exec(host, f"mkdir -p /home/{host.user}/.ssh && cat > /home/{host.user}/.ssh/authorized_keys && "
                        f"chown -R {host.user}: /home/{host.user}/.ssh", stdin=self.key.with_suffix(".pub").read_text())
        return host

    def docker(self, *args, timeout=120, stdin=None) -> subprocess.CompletedProcess:
        from nslab.machines.hostdocker import ensure_host_docker
        return subprocess.run(["docker", "-H", ensure_host_docker(lambda _: None), *args], input=stdin,
                              capture_output=True, text=True, timeout=timeout, check=True)

    def exec(self, host: Host, command: str, timeout=120, stdin=None) -> str:
        return self.docker("exec", "-i", host.name, "sh", "-c", command, timeout=timeout, stdin=stdin).stdout

    def facts(self, host: Host) -> str:
        return self.exec(host, FACTS)

    def host_key(self, host: Host) -> str:
        """The fingerprint of the host's ed25519 key, as ssh-keygen reads it on the host."""
        line = self.exec(host, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").split()
        return f"ssh-ed25519 {line[1]}"

    def args(self, *hosts: Host) -> list[str]:
        return ["--host", ",".join(h.spec for h in hosts), "--identity", str(self.key),
                "--known-hosts", str(self.known_hosts)]

    def up(self, scenario: str, *hosts: Host, extra=(), **kwargs) -> subprocess.CompletedProcess:
        return invoke("up", f"scenario={scenario}", *self.args(*hosts), *extra, **kwargs)

    def remove_all(self) -> None:
        for host in self.hosts:
            try:
                self.client.containers.get(host.name).remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
        self.client.close()


def wait_for_line(process: subprocess.Popen, text: str, timeout: float = 300) -> list[str]:
    """The process's output lines up to the first that holds text."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        lines.append(line)
        if text in line:
            return lines
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"never saw {text!r}; the output was:\n{''.join(lines)}")
