"""The machine's own Docker daemon, run as root: what every mode used before rootless engines."""
from .base import Engine

ENGINE = Engine()
