"""Machine providers. A new provider: a module here, one line below; lab.yaml, the
command line and the Vagrantfile take their lists from this registry."""
from __future__ import annotations

from . import docker, libvirt, ssh, virtualbox
from .base import Provider

PROVIDERS: dict[str, Provider] = {provider.name: provider for provider in (
    docker.PROVIDER,
    libvirt.PROVIDER,
    ssh.PROVIDER,
    virtualbox.PROVIDER,
)}
