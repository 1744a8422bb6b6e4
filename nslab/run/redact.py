"""What never reaches a run: the environment of the daemon and of containers. A run may come from
someone's server, and environments carry proxies with credentials, tokens and keys."""
from __future__ import annotations

# docker info's fields taken from the daemon's own environment.
DAEMON_ENVIRONMENT = ("HttpProxy", "HttpsProxy", "NoProxy")
NOT_CAPTURED = "not captured"


def daemon_info(info: dict) -> dict:
    return {key: NOT_CAPTURED if key in DAEMON_ENVIRONMENT and value else value for key, value in info.items()}


def container_inspect(inspect: dict) -> dict:
    config = inspect.get("Config")
    if isinstance(config, dict) and config.get("Env"):
        inspect = {**inspect, "Config": {**config, "Env": NOT_CAPTURED}}
    return inspect
