"""Container engines a mode can name. A new engine: a module here, one line below."""
from __future__ import annotations

from . import dockerd, rootless_docker, rootless_podman
from .base import Engine

ENGINES: dict[str, Engine] = {engine.name: engine for engine in (
    dockerd.ENGINE,
    rootless_docker.ENGINE,
    rootless_podman.ENGINE,
)}
