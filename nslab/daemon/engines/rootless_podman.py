"""Rootless Podman (Debian's `podman`), with its Docker-compatible API served for nslab's facts.

Its user's containers.conf and storage.conf say cgroupfs, file events and vfs
storage: a container machine has no systemd user session, journald or fuse
for it. Its containers run with `--network none`, as the rootless daemon's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Engine, EngineUser

if TYPE_CHECKING:
    from ...machines.connection import Remote

CONTAINERS_CONF = '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
STORAGE_CONF = '[storage]\ndriver = "vfs"\n'


class RootlessPodman(Engine):
    name = "rootless-podman"
    rootless = True
    packages = ("podman", "slirp4netns", "uidmap", "containernetworking-plugins")
    needs = ("podman",)
    program = "podman"

    def api_socket(self, user: EngineUser) -> str:
        return f"{user.runtime_dir}/podman/podman.sock"

    def expected_root_dir(self, user: EngineUser) -> str:
        return f"{user.home}/.local/share/containers/storage"

    def prepare(self, remote: Remote, user: EngineUser) -> None:
        folder = f"{user.home}/.config/containers"
        self.write_as_user(remote, user, {f"{folder}/containers.conf": (CONTAINERS_CONF, "0644"),
                                          f"{folder}/storage.conf": (STORAGE_CONF, "0644")},
                           folders=(f"{user.runtime_dir}/podman",))

    def says_rootless(self, remote: Remote, user: EngineUser, info: dict) -> tuple[bool, str]:
        # Its Docker-compatible report leaves rootless out; its own report has it.
        said = remote.run(self.as_user(user, "podman info --format '{{.Host.Security.Rootless}}'")).output.strip()
        return said == "true", f"podman info .Host.Security.Rootless: {said[:200]}"

    def start_command(self, user: EngineUser) -> str:
        return f"podman system service --time=0 unix://{self.api_socket(user)}"

    def process_pattern(self) -> str:
        return "podman system service"


ENGINE = RootlessPodman()
