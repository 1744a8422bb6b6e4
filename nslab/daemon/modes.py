"""Daemon modes: applied through the machine's config style, then verified.

A mode is applied over SSH, the daemon restarted and then verified from its
own report (`docker info`): userns on or off, and the data-root subdirectory
named after the remap user's ranges read from the machine.
"""
from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass

from ..config.scenario import ModeSpec
from ..errors import ConfigError, DaemonError
from ..machines.connection import Remote
from ..poll import poll_until
from ..subids import SubIdRange, next_free_start, overlapping, parse_subids, range_of
from .engines import ENGINES
from .engines.base import EngineUser
from .styles import ConfigStyle

LAB_REGISTRY = "127.0.0.1:5000"
REMAP_USER_COMMENT = "nslab userns-remap user"
DEFAULT_REMAP_USER = "dockremap"


@dataclass(frozen=True)
class DaemonMode:
    name: str
    userns_remap: str | None = None
    subid_start: int | None = None
    subid_count: int = 65536
    extra_options: tuple[tuple[str, object], ...] = ()
    engine: str = "dockerd"
    #: The unprivileged user a rootless engine runs as.
    user: str | None = None
    container_options: str = ""

    @classmethod
    def from_spec(cls, name: str, spec: ModeSpec) -> DaemonMode:
        return cls(name, spec.userns_remap, spec.subid_start, spec.subid_count,
                   tuple(sorted(spec.daemon_options.items())), spec.engine, spec.user, spec.container_options)

    @property
    def rootless(self) -> bool:
        return ENGINES[self.engine].rootless

    @property
    def remap_user(self) -> str | None:
        """The user whose subordinate ranges container ids map into."""
        if self.userns_remap == "default":
            return DEFAULT_REMAP_USER
        return self.userns_remap

    @property
    def creates_own_user(self) -> bool:
        return self.userns_remap not in (None, "default")

    def daemon_options(self) -> dict:
        options: dict = {"insecure-registries": [LAB_REGISTRY]}
        options.update(dict(self.extra_options))
        if self.userns_remap:
            options["userns-remap"] = self.userns_remap
        return options


@dataclass
class ModeState:
    """What a mode looks like on the machine once applied: recorded as the mode's facts (mode.json)."""
    mode: DaemonMode
    changed: bool
    seconds: float
    options: dict
    info: dict
    subuid: str
    subgid: str
    remap_uid: SubIdRange | None = None
    remap_gid: SubIdRange | None = None
    daemon_log: str = ""
    persisted: str = ""
    dockerd_command: str = ""
    #: A rootless engine's user, and its ranges.
    engine_user: EngineUser | None = None
    user_uid: SubIdRange | None = None
    user_gid: SubIdRange | None = None
    #: Where the engine's own report said it runs rootless.
    rootless_report: str = ""

    @property
    def expected_data_root(self) -> str:
        if self.engine_user is not None:
            return ENGINES[self.mode.engine].expected_root_dir(self.engine_user)
        if self.remap_uid is None:
            return "/var/lib/docker"
        return f"/var/lib/docker/{self.remap_uid.start}.{self.remap_gid.start}"

    def facts(self) -> dict:
        user = self.engine_user
        return {
            "dockerd_command": self.dockerd_command,
            "mode": self.mode.name,
            "engine": self.mode.engine,
            "container_options": self.mode.container_options,
            # A rootless engine: container root is this user; other ids fall in its ranges.
            "rootless_user": user.name if user else None,
            "rootless_uid": user.uid if user else None,
            "rootless_gid": user.gid if user else None,
            "rootless_uid_range": str(self.user_uid) if self.user_uid else None,
            "rootless_gid_range": str(self.user_gid) if self.user_gid else None,
            "rootless_report": self.rootless_report or None,
            "userns_remap": self.mode.userns_remap,
            "remap_user": self.mode.remap_user,
            "daemon_options": self.options,
            "docker_root_dir": self.info.get("DockerRootDir"),
            "security_options": self.info.get("SecurityOptions"),
            "server_version": self.info.get("ServerVersion"),
            "remap_uid_range": str(self.remap_uid) if self.remap_uid else None,
            "remap_gid_range": str(self.remap_gid) if self.remap_gid else None,
            "expected_data_root": self.expected_data_root,
        }


def apply_mode(remote: Remote, mode: DaemonMode, style: ConfigStyle, log=print,
               allow_live_user: bool = False) -> ModeState:
    """Puts the daemon in `mode`; restarts only when something must change."""
    started = time.monotonic()
    if mode.creates_own_user:
        ensure_remap_user(remote, mode, log, allow_live_user)
    wanted = mode.daemon_options()
    conflicts = style.conflicts(remote, wanted)
    if conflicts:
        raise DaemonError(f"mode '{mode.name}' refused before restart: {'; '.join(conflicts)} "
                          f"(dockerd would not start)")
    previous = style.read(remote)
    changed = previous != wanted or not _daemon_agrees(remote, mode)
    if changed:
        log(f"daemon: switching to mode '{mode.name}' ({json.dumps(wanted, sort_keys=True)})")
        style.write(remote, wanted)
        try:
            _restart_and_wait(remote, style)
            state = read_state(remote, mode, style, changed=True, started=started)
            verify(state)
        except DaemonError as exc:
            log_text = style.daemon_log(remote)
            _restore(remote, style, previous, log)
            reason = _daemon_reason(log_text)
            raise DaemonError(f"mode '{mode.name}' refused: {exc}" + (f"; the daemon said: {reason}" if reason else ""),
                              daemon_log=log_text) from None
        log(f"daemon: mode '{mode.name}' ready after {state.seconds:.1f}s")
        return state
    state = read_state(remote, mode, style, changed=False, started=started)
    verify(state)
    return state


def _daemon_reason(log_text: str) -> str:
    """The daemon's own last word on why it stopped."""
    for line in reversed(log_text.splitlines()):
        lowered = line.lower()
        if "failed to start daemon" in lowered or "unable to configure the docker daemon" in lowered:
            return line.split("dockerd[", 1)[-1].split("]: ", 1)[-1].strip()[:300]
    return ""


def _restore(remote: Remote, style: ConfigStyle, previous: dict | None, log) -> None:
    log("daemon: restoring the last good configuration")
    style.write(remote, previous)
    try:
        _restart_and_wait(remote, style)
    except DaemonError as exc:
        log(f"daemon: the last good configuration did not come back either: {exc}")


def _restart_and_wait(remote: Remote, style: ConfigStyle, timeout: float = 120) -> None:
    remote.reset_docker_api()
    result = style.restart(remote)
    if not result.ok:
        said = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise DaemonError(f"the restart failed (status {result.exit_code}): {said[-1]}")
    wait_ready(remote, timeout)


def wait_ready(remote: Remote, timeout: float = 120, gone_after: float = 8.0) -> None:
    """Polls the daemon's own readiness (API ping), with back-off; gives up early
    once no dockerd process has existed for `gone_after` seconds (it died at start)."""
    last = {"error": "no answer", "seen": time.monotonic()}

    def answers() -> bool:
        try:
            if remote.docker.ping():
                return True
        except Exception as exc:
            last["error"] = str(exc).splitlines()[0][:200]
            remote.reset_docker_api()
        if remote.run("pidof dockerd", timeout=30).ok:
            last["seen"] = time.monotonic()
        elif time.monotonic() - last["seen"] > gone_after:
            raise DaemonError(f"dockerd is not running ({gone_after:.0f}s after the restart it had exited)")
        return False

    if not poll_until(answers, timeout):
        raise DaemonError(f"the daemon did not answer within {timeout:.0f}s ({last['error']})")


def _daemon_agrees(remote: Remote, mode: DaemonMode) -> bool:
    try:
        info = remote.docker.info()
    except Exception:
        remote.reset_docker_api()
        return False
    return userns_on(info) == (mode.remap_user is not None)


def userns_on(info: dict) -> bool:
    return any("name=userns" in option for option in info.get("SecurityOptions") or [])


def read_state(remote: Remote, mode: DaemonMode, style: ConfigStyle, changed: bool,
               started: float) -> ModeState:
    info = remote.docker.info()
    subuid = remote.read_file("/etc/subuid") or ""
    subgid = remote.read_file("/etc/subgid") or ""
    state = ModeState(mode=mode, changed=changed, seconds=0.0, options=mode.daemon_options(),
                      info=info, subuid=subuid, subgid=subgid)
    state.persisted = remote.read_file(style.path, sudo=True) or ""
    state.dockerd_command = remote.run("ps -o args= -C dockerd").stdout.strip()
    if mode.remap_user:
        state.remap_uid = range_of(parse_subids(subuid, "/etc/subuid"), mode.remap_user)
        state.remap_gid = range_of(parse_subids(subgid, "/etc/subgid"), mode.remap_user)
    state.seconds = time.monotonic() - started
    return state


def verify(state: ModeState) -> None:
    """The daemon's own report must agree with the mode and the machine's ranges."""
    mode = state.mode
    if userns_on(state.info) != (mode.remap_user is not None):
        raise DaemonError(f"docker info says userns is {'on' if userns_on(state.info) else 'off'}, "
                          f"mode '{mode.name}' wants it {'on' if mode.remap_user else 'off'}")
    if mode.remap_user and (state.remap_uid is None or state.remap_gid is None):
        raise DaemonError(f"no /etc/subuid or /etc/subgid range for {mode.remap_user} after the restart")
    if state.info.get("DockerRootDir") != state.expected_data_root:
        raise DaemonError(f"docker info says data-root {state.info.get('DockerRootDir')}, "
                          f"expected {state.expected_data_root}")


def ensure_remap_user(remote: Remote, mode: DaemonMode, log=print, allow_live_user: bool = False) -> None:
    """Creates the mode's dedicated no-login remap user with its own id range, once."""
    user = mode.remap_user
    entry = remote.run(f"getent passwd {shlex.quote(user)}").stdout.strip()
    subuids = parse_subids(remote.read_file("/etc/subuid") or "", "/etc/subuid")
    subgids = parse_subids(remote.read_file("/etc/subgid") or "", "/etc/subgid")
    if entry:
        fields = entry.split(":")
        if REMAP_USER_COMMENT not in fields[4]:
            if not allow_live_user:
                raise ConfigError(f"mode '{mode.name}': user '{user}' already exists on the machine and nslab "
                                  f"did not create it; remapping container root to a live user gives it "
                                  f"that user's files (the lab calls this a terrible idea); "
                                  f"--allow-live-user does it anyway")
            log(f"daemon: remapping to the live user {user} (--allow-live-user)")
            if range_of(subuids, user) is None or range_of(subgids, user) is None:
                raise ConfigError(f"mode '{mode.name}': live user '{user}' has no range in /etc/subuid "
                                  f"and /etc/subgid; nslab does not give ranges to users it did not create")
            return
        owned = range_of(subuids, user)
        if owned is None or (mode.subid_start is not None and
                             (owned.start, owned.count) != (mode.subid_start, mode.subid_count)):
            raise ConfigError(f"mode '{mode.name}': user '{user}' exists with range {owned}, "
                              f"the scenario asks for {user}:{mode.subid_start}:{mode.subid_count}")
        return
    start = mode.subid_start
    if start is None:
        start = next_free_start(subuids + subgids, mode.subid_count)
    wanted = SubIdRange(user, start, mode.subid_count)
    for path, ranges in (("/etc/subuid", subuids), ("/etc/subgid", subgids)):
        clash = overlapping(ranges, wanted)
        if clash:
            raise ConfigError(f"mode '{mode.name}': range {wanted} overlaps {clash[0]} in {path} "
                              f"on the machine")
    for database in ("passwd", "group"):
        taken = remote.run(f"getent {database} {start}").stdout.strip()
        if taken:
            raise ConfigError(f"mode '{mode.name}': id {start} is already used on the machine "
                              f"({database}: {taken.split(':')[0]})")
    last = start + mode.subid_count - 1
    q = shlex.quote(user)
    remote.check(
        f"groupadd --system --gid {start} {q} && "
        f"useradd --system --uid {start} --gid {start} --no-create-home --home-dir /nonexistent "
        f"--shell /usr/sbin/nologin --comment {shlex.quote(REMAP_USER_COMMENT)} {q} && "
        f"usermod --add-subuids {start}-{last} --add-subgids {start}-{last} {q}", sudo=True)
    log(f"daemon: created remap user {user} (uid {start}, range {wanted})")
