"""What several commands share: the console, the host services held while they work, and the
parsing of --box, --host, --scenarios, --provider and --destroy."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from rich.console import Console

from ..config.lab import Box
from ..config.options import DESTROY_POLICIES
from ..config.scenario import load_scenario
from ..errors import ConfigError

console = Console(highlight=False, width=None if Console().is_terminal else 160)


def log(text: str) -> None:
    console.print(text, markup=False, soft_wrap=True)


def using_host_services(command):
    """A command that works with the host daemon or libvirtd holds them in use while it runs: the
    one fault that restarts them for every clone waits for it, and it waits for that fault."""
    @functools.wraps(command)
    def holding(*args, **kwargs):
        from ..machines.hostshare import HOST_SERVICES
        with HOST_SERVICES.in_use(log):
            return command(*args, **kwargs)
    return holding


@dataclass(frozen=True)
class HostTargets:
    """--host USER@HOST[:PORT],... with --identity FILE, and what the run may do there."""
    spec: str | None = None
    identity: str | None = None
    known_hosts: str | None = None
    accept_new_host_key: bool = False
    allow_disruption: bool = False

    def options(self):
        from ..run.lab import HostOptions
        return HostOptions(self.accept_new_host_key, self.allow_disruption)


#: No --host given: the boxes of lab.yaml only.
NO_HOSTS = HostTargets()


def parse_boxes(text: str | None, lab, provider: str | None = None, hosts: HostTargets | None = None) -> list[Box]:
    """--box names (default: the first default box), then the existing hosts of --host."""
    from ..config.lab import existing_hosts
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    if hosts is not None and hosts.spec:
        return ([lab.box(name, provider) for name in names] +
                existing_hosts(hosts.spec, hosts.identity, hosts.known_hosts))
    return [lab.box(name, provider) for name in names or lab.default_boxes[:1]]


def parse_scenarios(text: str | None) -> list:
    return [load_scenario(name) for name in (n.strip() for n in (text or "userns").split(",")) if name]


def check_provider(provider: str | None) -> None:
    from ..machines.providers import PROVIDERS
    if provider is not None and provider not in PROVIDERS:
        raise ConfigError(f"--provider {provider}: expected one of {', '.join(PROVIDERS)}")


def check_destroy(destroy: str) -> None:
    if destroy not in DESTROY_POLICIES:
        raise ConfigError(f"--destroy {destroy}: expected one of {', '.join(DESTROY_POLICIES)}")


def host_docker_for(boxes: list[Box]) -> str:
    """The host daemon's URL, started if need be; existing hosts alone need none of this host's services."""
    from ..machines.hostdocker import ensure_host_docker
    from ..machines.providers import PROVIDERS
    if all(PROVIDERS[box.provider].existing_host for box in boxes):
        return ""
    return ensure_host_docker(log)
