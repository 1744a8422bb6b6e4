"""Docker's rootless daemon (`dockerd-rootless.sh`, shipped with Debian's docker.io) under rootlesskit.

Started the same way in container machines and VMs: rootlesskit keeps the
machine's network (`--net=host`, no slirp4netns: /dev/net/tun is root's only in
container machines), so dockerd makes no bridge and its containers run with
`--network none`; vfs storage and cgroupfs, which need nothing of the kernel
or of a systemd user session that a container machine may not give.
"""
from __future__ import annotations

from .base import Engine, EngineUser

SCRIPT = "/usr/share/docker.io/contrib/dockerd-rootless.sh"


class RootlessDocker(Engine):
    name = "rootless-docker"
    rootless = True
    needs = (SCRIPT, "rootlesskit")
    program = "docker"

    def environment(self, user: EngineUser) -> dict[str, str]:
        return {**super().environment(user), "DOCKER_HOST": f"unix://{self.api_socket(user)}",
                "DOCKERD_ROOTLESS_ROOTLESSKIT_NET": "host", "DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER": "none"}

    def api_socket(self, user: EngineUser) -> str:
        return f"{user.runtime_dir}/docker.sock"

    def expected_root_dir(self, user: EngineUser) -> str:
        return f"{user.home}/.local/share/docker"

    def start_command(self, user: EngineUser) -> str:
        return (f"{SCRIPT} --storage-driver=vfs --iptables=false --ip-forward=false --bridge=none "
                f"--exec-opt native.cgroupdriver=cgroupfs")

    def process_pattern(self) -> str:
        return "rootlesskit"


ENGINE = RootlessDocker()
