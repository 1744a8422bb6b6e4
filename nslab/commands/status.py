"""`invoke status`: lab machines of every instance, their state and their daemon's current mode."""
from __future__ import annotations

from rich.table import Table

from ..errors import MachineError
from ..machines.inventory import load_lab, unavailable_reason
from .common import console, log


def execute() -> int:
    from ..machines.base import instances
    from ..machines.hostdocker import ensure_host_docker
    from ..machines.vagrant import listed_states

    lab = load_lab()
    url = ensure_host_docker(log)
    table = Table(title="nslab machines")
    for column in ("machine", "instance", "distro", "provider", "config style", "state"):
        table.add_column(column, overflow="fold")
    # An SSH endpoint and a mode are copied as they are: never folded.
    table.add_column("ssh", no_wrap=True)
    table.add_column("docker", overflow="fold")
    table.add_column("daemon mode", no_wrap=True)
    for instance in instances():
        states = listed_states(url, instance)
        for box in lab.boxes.values():
            row = _row(box, instance, states.get(box.name, "not_created"), url)
            if row is not None:
                table.add_row(*row)
    console.print(table)
    return 0


def _row(box, instance, state: str, url: str) -> tuple[str, ...] | None:
    """A box's row in an instance, or None when it has no machine there to show."""
    from ..daemon.describe import machine_facts
    from ..machines.providers import PROVIDERS
    from ..machines.vagrant import listed_states

    if not instance.is_default and state == "not_created":
        return None
    reason = unavailable_reason(box)
    ssh = docker_version = mode = "-"
    if PROVIDERS[box.provider].existing_host:
        if not instance.is_default:
            return None
        # Someone's own machine: named, not connected to (`invoke up --box` does that).
        state = f"not available here: {reason}" if reason else "existing host"
        ssh = f"{box.user}@{box.host}:{box.port}"
    elif reason:
        state = f"not available here: {reason}"
    elif state == "running":
        try:
            ssh, docker_version, mode = machine_facts(box, url, instance)
        except MachineError as exc:
            if listed_states(url, instance).get(box.name) != "running":
                return None    # destroyed by its run while it was listed (a matrix cell)
            # Running, but its daemon did not answer: a run may be restarting it.
            mode = f"unreadable: {exc}"
    return box.name, instance.name, box.distro, box.provider, box.config_style, state, ssh, docker_version, mode
