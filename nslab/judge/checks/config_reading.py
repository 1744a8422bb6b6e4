"""`config_reading: {setting, reads, does}`: what a configuration-only audit concludes of a daemon
setting, beside what the step's other checks prove the machine does.

An audit reads configuration, never behaviour: `/etc/docker/daemon.json`, the daemon's command line,
`docker info` and the default bridge's options, as docker-bench-security and the CIS Docker
Benchmark's audit steps do. The verdict holds when the reading is the expected one (`reads`);
`does` states the behaviour the step's other checks prove: a report counts it only where they passed,
and marks where reading and behaviour disagree: a key in the file the running daemon did not take, or
a reading that holds only for some Docker versions.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..evidence import JsonObject, StepEvidence
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown

OnOff = Literal["on", "off"]
DAEMON_CONFIG = "daemon-config.json"
BRIDGE = "bridge-network.json"


@dataclass(frozen=True)
class Reading:
    """How an audit reads one setting: the fact file it reads and what it concludes from it."""
    fact: str
    file: str
    read: Callable[[JsonObject], tuple[bool, str]]
    #: The smallest edit of that file that turns the reading around.
    flip: Callable[[JsonObject, bool], None]


# How dockerd (Go's strconv.ParseBool) reads a boolean flag's value.
GO_BOOLS = {**dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
            **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False)}


def flag_value(words: list[str], flag: str) -> str | None:
    """The value a command line gives a flag (the last one given wins); "true" for a bare flag."""
    value = None
    for word in words:
        if word == flag:
            value = "true"
        elif word.startswith(flag + "="):
            value = word.split("=", 1)[1]
    return value


def _daemon_flag(key: str, flag: str, on: Any) -> Reading:
    """A daemon.json key or a dockerd command-line flag (either configures it)."""
    def read(config: JsonObject) -> tuple[bool, str]:
        options = config.get("file") or {}
        cmdline = config.get("cmdline") or ""
        in_file = key in options and (on is None or options[key] == on)
        value = flag_value(cmdline.split(), flag)
        in_cmdline = value is not None if on is None else GO_BOOLS.get(value or "") == on
        said = f"daemon.json {key}: {json.dumps(options[key])}" if key in options else f"no {key} in daemon.json"
        return in_file or in_cmdline, said + (f"; {flag}={value} on the command line" if value is not None else "")

    def flip(config: JsonObject, now: bool) -> None:
        options = dict(config.get("file") or {})
        if now:
            options.pop(key, None)
            config["cmdline"] = " ".join(w for w in (config.get("cmdline") or "").split() if not w.startswith(flag))
        else:
            options[key] = on if on is not None else {"nofile": {"Name": "nofile", "Soft": 1, "Hard": 1}}
        config["file"] = options
    return Reading("daemon-config", DAEMON_CONFIG, read, flip)


def _security_option(name: str) -> Reading:
    def read(info: JsonObject) -> tuple[bool, str]:
        options = info.get("SecurityOptions") or []
        return name in options, f"SecurityOptions: {', '.join(options) or 'none'}"

    def flip(info: JsonObject, now: bool) -> None:
        options = [o for o in info.get("SecurityOptions") or [] if o != name]
        info["SecurityOptions"] = options if now else [*options, name]
    return Reading("docker-info", "docker-info.json", read, flip)


def _live_restore() -> Reading:
    def read(info: JsonObject) -> tuple[bool, str]:
        return bool(info.get("LiveRestoreEnabled")), f"LiveRestoreEnabled: {info.get('LiveRestoreEnabled')}"

    def flip(info: JsonObject, now: bool) -> None:
        info["LiveRestoreEnabled"] = not now
    return Reading("docker-info", "docker-info.json", read, flip)


def _icc() -> Reading:
    option = "com.docker.network.bridge.enable_icc"

    def read(bridge: JsonObject) -> tuple[bool, str]:
        value = (bridge.get("Options") or {}).get(option)
        return value == "false", f"default bridge {option}: {value}"

    def flip(bridge: JsonObject, now: bool) -> None:
        bridge.setdefault("Options", {})[option] = "true" if now else "false"
    return Reading("bridge-network", BRIDGE, read, flip)


# What a configuration-only audit reads for each setting (docker-bench-security's checks of CIS section 2).
READINGS: dict[str, Reading] = {
    "icc": _icc(),
    "no-new-privileges": _daemon_flag("no-new-privileges", "--no-new-privileges", True),
    "userland-proxy": _daemon_flag("userland-proxy", "--userland-proxy", False),
    "live-restore": _live_restore(),
    "default-ulimits": _daemon_flag("default-ulimits", "--default-ulimit", None),
    # The check looks for the profile by the name Docker gave it up to 20.10.
    "seccomp": _security_option("name=seccomp,profile=default"),
}


class ConfigReadingExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    setting: Literal["icc", "no-new-privileges", "userland-proxy", "live-restore", "default-ulimits", "seccomp"]
    reads: OnOff
    does: OnOff


def _word(on: bool) -> OnOff:
    return "on" if on else "off"


def judge(spec: ConfigReadingExpect, evidence: StepEvidence) -> Verdict:
    reading = READINGS[spec.setting]
    on, said = reading.read(evidence.json(reading.file))
    # Only the reading is observed here; what the machine does is what the step's other checks prove.
    return Verdict("config_reading", Status.PASS if _word(on) == spec.reads else Status.FAIL,
                   {"reads": spec.reads, "does": spec.does}, {"reads": _word(on)}, f"{spec.setting}: {said}")


def mutations(spec: ConfigReadingExpect) -> list[Mutation]:
    reading = READINGS[spec.setting]

    def apply(draft: Draft) -> None:
        def change(text: str) -> str:
            value = json.loads(text)
            reading.flip(value, spec.reads == "on")
            return json.dumps(value)
        draft.edit(reading.file, change)
    return [Mutation(f"the configuration reads {spec.setting} {_word(spec.reads != 'on')}", apply)]


def shown(verdict: VerdictRecord, spec: ConfigReadingExpect | None = None) -> Shown:
    observed, expected = verdict.get("observed"), verdict.get("expected")
    if not isinstance(observed, dict) or not isinstance(expected, dict):
        return Shown()
    reads, does = observed["reads"], expected["does"]
    setting = str(verdict.get("detail", "")).split(":")[0]
    mark = "" if reads == does else " ≠"
    return Shown({f"config reads {setting}": reads},
                 f"config: {reads}{mark} machine: {does}", claim=(setting, reads, does))


KIND = CheckKind("config_reading", ConfigReadingExpect, judge,
                 lambda spec: [READINGS[spec.setting].fact], mutations, shown=shown,
                 example={"setting": "icc", "reads": "on", "does": "on"})
