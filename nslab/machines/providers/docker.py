"""Provider `docker`: a systemd machine in a container (docker-in-docker), built offline here."""
from __future__ import annotations

import os

from .base import Provider


class DockerProvider(Provider):
    name = "docker"
    machine_kind = "container"

    def check_box(self, box) -> str | None:
        if not (box.suite and box.image):
            return "a docker box is built here: it needs suite and image"
        return None

    def before_vagrant(self, instance, log) -> None:
        # Vagrant's docker calls fail at once on a host daemon that is restarting; wait it out.
        from ..hostdocker import ensure_host_docker, wait_for_own_daemon
        wait_for_own_daemon(log)
        ensure_host_docker(log)

    def build(self, box, docker_url, force, log) -> dict:
        from ..boxes import build_container_box
        return build_container_box(box, docker_url, force, log)

    def vagrant_settings(self, box, lab, instance) -> dict:
        from ..hostshare import clone_labels
        create_args = list(lab.providers["docker"].create_args)
        # Whose machine it is, for the other clones sharing the host daemon (`down --host-daemon`).
        create_args += [f"--label={key}={value}" for key, value in clone_labels(instance.name).items()]
        if box.lab_images == "offline":
            # An offline machine must never reach for a registry: with no resolver
            # but its own loopback, a missing image fails at once, on the machine.
            create_args.append("--dns=127.0.0.1")
        return {
            "options": {
                # NSLAB_IMAGE replaces the box image (the fault suite's broken box).
                "image": os.environ.get("NSLAB_IMAGE", f"{box.image}:latest"),
                "name": f"{instance.prefix}-{box.name}",
                "has_ssh": True,
                "remains_running": True,
                "create_args": create_args,
            },
            # Chosen free by nslab, so machines started at once never race for 2222.
            "forwarded_ssh_port": instance.ssh_port,
        }


PROVIDER = DockerProvider()
