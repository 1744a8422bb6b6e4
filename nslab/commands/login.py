"""`invoke login`: an interactive shell on a machine a run kept (`--destroy never`), through `vagrant ssh`."""
from __future__ import annotations

import os

from ..errors import ConfigError
from ..machines.inventory import load_lab
from ..paths import PROJECT_ROOT
from .common import log


def execute(box_name: str | None = None, instance_name: str | None = None) -> int:
    from ..machines.base import chosen_instances
    from ..machines.hostdocker import ensure_host_docker
    from ..machines.vagrant import listed_states, vagrant_env

    lab = load_lab()
    if box_name:
        lab.box(box_name)
    chosen = chosen_instances(instance_name)
    url = ensure_host_docker(log)
    running = [(instance, name) for instance in chosen for name, state in listed_states(url, instance).items()
               if state == "running" and box_name in (None, name)]
    if not running:
        which = f"of box {box_name} " if box_name else ""
        where = f"in instance {instance_name} " if instance_name else ""
        raise ConfigError(f"no lab machine {which}{where}is running: keep one with "
                          f"`invoke up scenario=userns --destroy never`, then log in")
    if len(running) > 1:
        listed = ", ".join(f"{name} (instance {instance.name})" for instance, name in running)
        raise ConfigError(f"{len(running)} lab machines are running: {listed}; name one with --box and --instance")
    instance, name = running[0]
    log(f"login: {name} (instance {instance.name}) through `vagrant ssh`; `exit` leaves it running")
    os.chdir(PROJECT_ROOT)
    os.execvpe("vagrant", ["vagrant", "ssh", name], vagrant_env(url, instance))
