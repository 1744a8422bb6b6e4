"""A running machine's daemon as `invoke status` shows it: its SSH endpoint, Docker version and
mode, read from the machine itself."""
from __future__ import annotations

import docker
import requests

from ..errors import MachineError
from ..machines.connection import Remote
from ..machines.vagrant import VagrantMachine
from .modes import userns_on
from .styles import config_style


def describe_mode(options: dict | None, info: dict) -> str:
    """The daemon's mode as its config file and its own report (`docker info`) say it together."""
    remap = (options or {}).get("userns-remap")
    userns = userns_on(info)
    if remap:
        return f"userns-remap={remap}" + ("" if userns else " (configured, not active)")
    return "standard (root)" + (" but userns is active" if userns else "")


def machine_facts(box, docker_url: str, instance) -> tuple[str, str, str]:
    """A running machine's SSH endpoint, Docker version and daemon mode."""
    endpoint = VagrantMachine(box, docker_url, instance=instance).ssh_endpoint()
    remote = Remote(endpoint).open(attempts_until=10)
    try:
        mode = describe_mode(config_style(box.config_style).read(remote), remote.docker.info())
        return f"{endpoint.user}@{endpoint.host}:{endpoint.port}", remote.docker.version().get("Version", "?"), mode
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        raise MachineError(f"its daemon did not answer ({type(exc).__name__})") from None
    finally:
        remote.close()
