"""Config styles: how a kind of machine persists daemon options. A new style: a module here, one line below."""
from __future__ import annotations

from ...errors import ConfigError
from . import b2d_profile, daemon_json, docker_opts, systemd_dropin
from .base import ConfigStyle

CONFIG_STYLES: dict[str, type[ConfigStyle]] = {style.name: style for style in (
    daemon_json.DaemonJsonStyle,
    systemd_dropin.SystemdDropInStyle,
    docker_opts.DockerOptsStyle,
    b2d_profile.Boot2dockerProfileStyle,
)}


def config_style(name: str) -> ConfigStyle:
    try:
        return CONFIG_STYLES[name]()
    except KeyError:
        raise ConfigError(f"unknown daemon config style '{name}' (known: {', '.join(CONFIG_STYLES)})") from None
