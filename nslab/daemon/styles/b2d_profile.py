"""`b2d-profile`: EXTRA_ARGS in /var/lib/boot2docker/profile, sourced by boot2docker's init script."""
from __future__ import annotations

from .docker_opts import DockerOptsStyle


class Boot2dockerProfileStyle(DockerOptsStyle):
    """EXTRA_ARGS in /var/lib/boot2docker/profile, sourced by boot2docker's /etc/init.d/docker."""

    name = "b2d-profile"
    path = "/var/lib/boot2docker/profile"
    location = f"EXTRA_ARGS in {path}"
    variable = "EXTRA_ARGS"

