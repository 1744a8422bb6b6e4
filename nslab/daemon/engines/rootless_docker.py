"""Docker's rootless daemon (`dockerd-rootless.sh`, shipped with Debian's docker.io) under rootlesskit.

A rootless daemon cannot apply AppArmor (a documented limitation), yet Docker
20.10's still asks the kernel whether its profile is loaded on a host where
AppArmor is on (a VM here), is refused, and starts no container. So the daemon
starts through a `dockerd` of nslab's, found first on PATH by
dockerd-rootless.sh inside rootlesskit's namespaces, which shows AppArmor as
off to that one daemon, in its own mount namespace only.

Started the same way in container machines and VMs: rootlesskit keeps the
machine's network (`--net=host`, no slirp4netns: /dev/net/tun is root's only in
container machines), so dockerd makes no bridge and its containers run with
`--network none`; vfs storage and cgroupfs, which need nothing of the kernel
or of a systemd user session that a container machine may not give.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .base import PATH, Engine, EngineUser

if TYPE_CHECKING:
    from ...machines.connection import Remote

SCRIPT = "/usr/share/docker.io/contrib/dockerd-rootless.sh"
APPARMOR_SWITCH = "/sys/module/apparmor/parameters/enabled"
# Runs as root of rootlesskit's user namespace, in its mount namespace: the bind mount is seen there only.
DOCKERD_WRAPPER = f"""#!/bin/sh
if [ -e {APPARMOR_SWITCH} ]; then
  echo N > "$XDG_RUNTIME_DIR/nslab-apparmor-off"
  mount --bind "$XDG_RUNTIME_DIR/nslab-apparmor-off" {APPARMOR_SWITCH}
fi
exec /usr/sbin/dockerd "$@"
"""


class RootlessDocker(Engine):
    name = "rootless-docker"
    rootless = True
    packages = ("rootlesskit", "slirp4netns", "uidmap")
    needs = (SCRIPT, "rootlesskit")
    program = "docker"

    @staticmethod
    def wrapper_folder(user: EngineUser) -> str:
        return f"{user.home}/.local/nslab-bin"

    def environment(self, user: EngineUser) -> dict[str, str]:
        return {**super().environment(user), "PATH": f"{self.wrapper_folder(user)}:{PATH}",
                "DOCKER_HOST": f"unix://{self.api_socket(user)}",
                "DOCKERD_ROOTLESS_ROOTLESSKIT_NET": "host", "DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER": "none"}

    def api_socket(self, user: EngineUser) -> str:
        return f"{user.runtime_dir}/docker.sock"

    def expected_root_dir(self, user: EngineUser) -> str:
        return f"{user.home}/.local/share/docker"

    def prepare(self, remote: Remote, user: EngineUser) -> None:
        self.write_as_user(remote, user, {f"{self.wrapper_folder(user)}/dockerd": (DOCKERD_WRAPPER, "0755")})

    def start_command(self, user: EngineUser) -> str:
        return (f"{SCRIPT} --storage-driver=vfs --iptables=false --ip-forward=false --bridge=none "
                f"--exec-opt native.cgroupdriver=cgroupfs")

    def process_pattern(self) -> str:
        return "rootlesskit"


ENGINE = RootlessDocker()
