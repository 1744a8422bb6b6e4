"""Rootless modes: an engine run by an unprivileged user nslab creates, started, verified, stopped.

The user's subordinate ranges are read from the machine (given by useradd, or
by nslab when useradd gave none), never assumed. The engine is verified from its
own report, as the machine's dockerd is: rootless, its data under the user's home.
"""
from __future__ import annotations

import shlex
import time

from ..errors import ConfigError, DaemonError, NslabError
from ..machines.connection import Remote
from ..subids import SubIdRange, next_free_start, parse_subids, range_of
from .engines import ENGINES
from .engines.base import EngineUser
from .modes import DaemonMode, ModeState

ENGINE_USER_COMMENT = "nslab rootless engine user"


def ensure_engine_user(remote: Remote, mode: DaemonMode, log=print) -> EngineUser:
    """The mode's unprivileged user, created once with a home and subordinate ranges of its own."""
    name = shlex.quote(mode.user)
    entry = remote.run(f"getent passwd {name}").stdout.strip()
    if entry and ENGINE_USER_COMMENT not in entry.split(":")[4]:
        # Never a live user: stopping the engine ends every process of its user and its runtime directory.
        raise ConfigError(f"mode '{mode.name}': user '{mode.user}' already exists on the machine and nslab did "
                          f"not create it; a rootless engine runs as a user of its own, which nslab creates")
    if not entry:
        remote.check(f"useradd --create-home --shell /bin/sh --comment {shlex.quote(ENGINE_USER_COMMENT)} {name}",
                     sudo=True)
        entry = remote.run(f"getent passwd {name}").stdout.strip()
        log(f"daemon: created the rootless user {mode.user} ({entry.split(':')[2]})")
    _, _, uid, gid, _, home, _ = entry.split(":")
    subuids = parse_subids(remote.read_file("/etc/subuid") or "", "/etc/subuid")
    subgids = parse_subids(remote.read_file("/etc/subgid") or "", "/etc/subgid")
    if range_of(subuids, mode.user) is None or range_of(subgids, mode.user) is None:
        # This useradd gave none (no SUB_UID_COUNT, or an older shadow): a range no one else holds.
        start = next_free_start(subuids + subgids, mode.subid_count)
        last = start + mode.subid_count - 1
        remote.check(f"usermod --add-subuids {start}-{last} --add-subgids {start}-{last} {name}", sudo=True)
        log(f"daemon: gave {mode.user} the range {SubIdRange(mode.user, start, mode.subid_count)}")
    return EngineUser(mode.user, int(uid), int(gid), home)


def enter_rootless(remote: Remote, mode: DaemonMode, log=print) -> ModeState:
    """Starts the mode's engine as its user (unless it runs) and points the docker SDK at it."""
    started = time.monotonic()
    engine = ENGINES[mode.engine]
    user = ensure_engine_user(remote, mode, log)
    remote.use_engine_api(engine.dial_command(user))
    try:
        state = _start_and_read(remote, mode, user, log)
    except Exception as exc:
        # An engine that did not come up, or is not what the mode says, does not run on.
        _stop(remote, engine, user)
        if isinstance(exc, NslabError):
            raise
        # Its API refused or broke (the docker SDK's own errors): the mode cannot be entered.
        said = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise DaemonError(f"engine {engine.name}: {type(exc).__name__}: {said}") from None
    state.seconds = time.monotonic() - started
    if state.changed:
        log(f"daemon: mode '{mode.name}' ({engine.name} as {user.name}) ready after {state.seconds:.1f}s")
    return state


def _start_and_read(remote: Remote, mode: DaemonMode, user: EngineUser, log) -> ModeState:
    engine = ENGINES[mode.engine]
    changed = not engine.running(remote, user)
    if changed:
        log(f"daemon: starting {engine.name} as {user.name} (uid {user.uid})")
        engine.start(remote, user)
    subuid = remote.read_file("/etc/subuid") or ""
    subgid = remote.read_file("/etc/subgid") or ""
    state = ModeState(mode=mode, changed=changed, seconds=0.0, options={}, info=remote.docker.info(),
                      subuid=subuid, subgid=subgid, engine_user=user,
                      user_uid=range_of(parse_subids(subuid, "/etc/subuid"), user.name),
                      user_gid=range_of(parse_subids(subgid, "/etc/subgid"), user.name))
    state.persisted = engine.start_command(user) + "\n"
    state.dockerd_command = remote.run(f"pgrep -a -u {user.uid} -f {shlex.quote(engine.process_pattern())}"
                                       ).stdout.strip()
    rootless, state.rootless_report = engine.says_rootless(remote, user, state.info)
    verify_rootless(state, rootless)
    return state


def verify_rootless(state: ModeState, rootless: bool) -> None:
    """The engine's own report must say rootless, with its data under its user's home."""
    if not rootless:
        raise DaemonError(f"engine {state.mode.engine} does not say it is rootless ({state.rootless_report})")
    if state.user_uid is None or state.user_gid is None:
        raise DaemonError(f"no /etc/subuid or /etc/subgid range for {state.engine_user.name}")
    if state.info.get("DockerRootDir") != state.expected_data_root:
        raise DaemonError(f"engine {state.mode.engine} says data-root {state.info.get('DockerRootDir')}, "
                          f"expected {state.expected_data_root}")


def leave_rootless(remote: Remote, state: ModeState) -> None:
    """Stops the engine (its containers with it); the docker SDK goes back to the machine's dockerd."""
    try:
        ENGINES[state.mode.engine].stop(remote, state.engine_user)
    finally:
        remote.use_engine_api(None)


def _stop(remote: Remote, engine, user: EngineUser) -> None:
    """Stops an engine that failed to start; a connection already gone has nothing left to stop."""
    try:
        engine.stop(remote, user)
    except NslabError:
        pass
    finally:
        remote.use_engine_api(None)
