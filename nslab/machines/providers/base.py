"""What a machine provider is to nslab: how its boxes are checked, built, prepared for Vagrant,
and the resolved settings the Vagrantfile applies to its machines.

Top-level imports stay light: lab.yaml is checked against the registry without
loading Vagrant, libvirt or the docker SDK.
"""
from __future__ import annotations

from ...errors import ConfigError


class Provider:
    name = ""
    #: What the run's manifest calls a machine of this provider (a container, a libvirt domain, a VM).
    machine_kind = "vm"
    #: Its machines are someone's own, reached as they are (no Vagrant): never destroyed, left as
    #: found (restored and verified). Every other provider's are the Vagrantfile's.
    existing_host = False

    def machine(self, box, docker_url: str, log_dir, instance):
        """The machine a run brings up for a box of this provider."""
        from ..vagrant import VagrantMachine
        return VagrantMachine(box, docker_url, log_dir=log_dir, instance=instance)

    def check_box(self, box) -> str | None:
        """What lab.yaml must say of a box of this provider and does not, or None."""
        return None

    def unavailable_reason(self, box) -> str | None:
        """Why a box of this provider cannot run on this host, or None."""
        return None

    def build(self, box, docker_url: str, force: bool, log) -> dict:
        raise ConfigError(f"box {box.name} comes from Vagrant Cloud ({box.vagrant_box}): there is nothing to build")

    def before_vagrant(self, instance, log) -> None:
        """What Vagrant needs running before it can even list this provider's machines."""

    def prepare(self, machine, log) -> None:
        """Before bring-up, and before SSH when what it set up is gone (libvirt's relay)."""

    def after_destroy(self, machine) -> None:
        pass

    def destroy_leftovers(self, lab, log) -> None:
        """After `invoke down` destroyed machines: what they left on the host that none uses any more."""

    def stop_host_services(self, log) -> None:
        """`invoke down --host-daemon`: stops what nslab started on the host for this provider's
        machines, unless a machine or another clone still needs it."""

    def vagrant_settings(self, box, lab, instance) -> dict:
        """The machine as the Vagrantfile applies it: box, provider options, SSH and ports."""
        raise NotImplementedError
