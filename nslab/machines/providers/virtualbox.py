"""Provider `virtualbox`: the seeds' Ubuntu 16.04 and boot2docker boxes, for hosts with
VirtualBox and downloads."""
from __future__ import annotations

from .base import Provider
from .downloads import missing_download


class VirtualBoxProvider(Provider):
    name = "virtualbox"

    def check_box(self, box) -> str | None:
        return None if box.vagrant_box else "a virtualbox box needs vagrant_box"

    def unavailable_reason(self, box) -> str | None:
        return missing_download(box, "VBoxManage")

    def vagrant_settings(self, box, lab, instance) -> dict:
        return {
            "box": box.vagrant_box,
            "options": {"memory": 1024, "cpus": 1},
            # boot2docker keeps no changes across reboots: keep Vagrant's key.
            "ssh": {"insert_key": False} if box.config_style == "b2d-profile" else {},
            "forwarded_ssh_port": instance.ssh_port,
        }


PROVIDER = VirtualBoxProvider()
