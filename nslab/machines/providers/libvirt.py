"""Provider `libvirt`: real VMs (qemu; KVM where it really runs guests), built offline here or
downloaded, reached through a 127.0.0.1 relay into nslab's network namespace."""
from __future__ import annotations

from ...paths import PROJECT_ROOT
from .base import Provider
from .downloads import missing_download


class LibvirtProvider(Provider):
    name = "libvirt"
    machine_kind = "domain"

    def check_box(self, box) -> str | None:
        if bool(box.suite) == bool(box.vagrant_box):
            return "a libvirt box needs either suite (built here) or vagrant_box (downloaded)"
        if box.built_here and box.init != "systemd":
            return "a VM box is built with systemd"
        return None

    def unavailable_reason(self, box) -> str | None:
        from ..hostvirt import missing_tools
        if box.built_here:
            missing = missing_tools()
            return f"needs libvirt and qemu ({', '.join(missing)} not found; ./setup.sh installs them)" \
                if missing else None
        return missing_download(box, "virsh")

    def build(self, box, docker_url, force, log) -> dict:
        from ..boxes import build_vm_box
        return build_vm_box(box, docker_url, force, log)

    def before_vagrant(self, instance, log) -> None:
        folder = instance.dotfile_path or PROJECT_ROOT / ".vagrant"
        if any((folder / "machines").glob("*/libvirt/id")):
            from ..hostvirt import ensure_libvirtd
            ensure_libvirtd(log)

    def prepare(self, machine, log) -> None:
        """nslab's libvirt, the accelerator and the 127.0.0.1 relay to the VM's sshd."""
        from ..base import free_loopback_port
        from ..hostvirt import ensure_libvirt
        from ..vmport import PortRelay

        host = ensure_libvirt(log)
        relay = PortRelay(machine.instance.prefix, machine.name)
        relay.ensure(relay.port() or machine.instance.ssh_port or free_loopback_port(), host.netns)

    def after_destroy(self, machine) -> None:
        from ..vmport import PortRelay
        PortRelay(machine.instance.prefix, machine.name).stop()

    def destroy_leftovers(self, lab, log) -> None:
        from ..hostvirt import remove_idle_network
        network = lab.providers["libvirt"].network
        if remove_idle_network(network):
            log(f"libvirt: removed the idle network {network}")

    def stop_host_services(self, log) -> None:
        from ..hostvirt import stop_own_libvirt
        if stop_own_libvirt():
            log("libvirt: nslab's own libvirtd and virtlogd stopped, namespace removed")

    def vagrant_settings(self, box, lab, instance) -> dict:
        from ..hostvirt import known_accelerator, pool_name
        from ..vmport import PortRelay

        if box.built_here:
            settings = lab.providers["libvirt"]
            options = {
                "graphics_type": "none", "memory": 2048, "cpus": 2,
                # nslab probes whether KVM really runs guests here; qemu (TCG) otherwise.
                "driver": known_accelerator(), "storage_pool_name": pool_name(),
                "default_prefix": f"{instance.prefix}-",
                # An offline box has nothing to reach: an isolated network, no NAT.
                "management_network_name": settings.network,
                "management_network_address": settings.network_address,
                "management_network_mode": "none",
            }
        else:
            options = {"graphics_type": "none", "memory": 1024, "cpus": 1}
        # Where nslab relays a 127.0.0.1 port to the VM's sshd (its libvirtd keeps VM
        # networks in a namespace of their own), SSH goes there.
        port = PortRelay(instance.prefix, box.name).port()
        return {"box": box.box_name, "options": options,
                "ssh": {"host": "127.0.0.1", "port": port} if port else {}}


PROVIDER = LibvirtProvider()
