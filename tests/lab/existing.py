"""Existing hosts for the tests (nslab/harness/containerhosts.py: containers started with plain `docker
run`, which nslab's Vagrant state does not know).

`facts()` is the test's own reading of what a lab may change on a host, taken with `docker exec`
beside nslab's, so "left as found" is checked by the test and not only by nslab."""
from __future__ import annotations

import subprocess
import time

from nslab.harness.containerhosts import ContainerHost, ContainerHosts

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


class ExistingHosts(ContainerHosts):
    def facts(self, host: ContainerHost) -> str:
        return self.exec(host, FACTS)

    def host_key(self, host: ContainerHost) -> str:
        """The fingerprint of the host's ed25519 key, as ssh-keygen reads it on the host."""
        line = self.exec(host, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").split()
        return f"ssh-ed25519 {line[1]}"

    def up(self, scenario: str, *hosts: ContainerHost, extra=(), **kwargs) -> subprocess.CompletedProcess:
        return invoke("up", f"scenario={scenario}", *self.args(*hosts), *extra, **kwargs)


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
