"""`invoke down`: destroys this clone's machines of every instance (the default one and any a matrix
left), or of one; with host_daemon, then stops nslab's host daemon and what providers started on the
host (libvirtd) unless another clone still needs them (naming what it keeps them for)."""
from __future__ import annotations

from ..errors import MachineError
from ..machines.inventory import load_lab
from .common import log, parse_boxes


def execute(box_names: str | None = None, host_daemon: bool = False, instance_name: str | None = None) -> int:
    from ..machines.hostdocker import stop_own_daemon
    from ..machines.hostshare import HOST_SERVICES
    from ..machines.providers import PROVIDERS

    with HOST_SERVICES.in_use(log):
        failures = _destroy_machines(box_names, instance_name)
    if host_daemon:
        stopped, why = stop_own_daemon()
        if stopped:
            log("host docker: nslab's own daemon stopped")
        elif why != "not running":
            failures += 1
            log(f"host docker: nslab's own daemon {why}")
        for provider in PROVIDERS.values():
            provider.stop_host_services(log)
    return 1 if failures else 0


def _destroy_machines(box_names: str | None, instance_name: str | None) -> int:
    from ..machines.base import chosen_instances
    from ..machines.hostdocker import ensure_host_docker
    from ..machines.providers import PROVIDERS
    from ..run.lab import InstanceBusy, instance_lock

    lab = load_lab()
    wanted = {box.name for box in parse_boxes(box_names, lab)} if box_names else set(lab.boxes)
    url = ensure_host_docker(log)
    failures = 0
    for instance in chosen_instances(instance_name):
        try:
            # Held while destroying: a run in progress keeps its machine, one started meanwhile is refused.
            with instance_lock(instance):
                failures += _destroy_instance(lab, url, instance, wanted)
        except InstanceBusy as busy:
            failures += 1
            log(f"error: instance '{instance.name}' is in use by {busy.holder}: its machines are not destroyed; "
                f"stop that run first (Ctrl-C), or let it finish")
    for provider in PROVIDERS.values():
        provider.destroy_leftovers(lab, log)
    if not failures:
        log("no lab machine left" if not box_names else f"no {', '.join(sorted(wanted))} machine left")
    return failures


def _destroy_instance(lab, url: str, instance, wanted: set[str]) -> int:
    """Destroys an instance's machines of the wanted boxes; returns how many could not be."""
    from ..machines.vagrant import VagrantMachine, machine_states

    failures = 0
    for name, state in machine_states(url, instance).items():
        if name not in wanted or state == "not_created":
            continue
        try:
            VagrantMachine(lab.box(name), url, instance=instance).destroy(log=log)
        except MachineError as exc:
            failures += 1
            log(f"error: {exc}")
    if not instance.is_default and instance.dotfile_path.exists():
        VagrantMachine(next(iter(lab.boxes.values())), url, instance=instance).forget_instance()
    return failures
