"""What an engine is: how its CLI and its API are reached, and (rootless) how it starts and stops.

A rootless engine runs as an unprivileged user nslab created, with that user's
own runtime directory; every command reaches it through `sudo -u USER env …`,
and the docker SDK through `docker system dial-stdio` run the same way against
the engine's Docker-compatible socket, on the run's one SSH connection.
"""
from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import DaemonError
from ...poll import poll_until

if TYPE_CHECKING:  # the connection only as a type: loading engines loads no SSH stack
    from ...machines.connection import Remote

# How long an engine that is not running yet may take to show its process before it counts as exited.
GONE_AFTER = 3.0
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class EngineUser:
    """The unprivileged user a rootless engine runs as, as read from the machine."""
    name: str
    uid: int
    gid: int
    home: str

    @property
    def runtime_dir(self) -> str:
        return f"/run/user/{self.uid}"


class Engine:
    """The machine's own dockerd: `docker`, as root, through the system socket."""
    name = "dockerd"
    rootless = False
    #: Debian's packages of the engine, for a machine that has none (a box with `docker: install`).
    packages: tuple[str, ...] = ("docker.io",)
    #: The program its steps call ({mode.engine}).
    program = "docker"

    def environment(self, user: EngineUser) -> dict[str, str]:
        return {"PATH": PATH, "HOME": user.home, "XDG_RUNTIME_DIR": user.runtime_dir}

    def as_user(self, user: EngineUser | None, command: str) -> str:
        """A command line run as the engine's user, in its environment."""
        if user is None:
            return command
        env = " ".join(f"{key}={shlex.quote(value)}" for key, value in self.environment(user).items())
        return f"sudo -n -u {shlex.quote(user.name)} env {env} {command}"

    def cli(self, user: EngineUser | None) -> str:
        return self.as_user(user, self.program)

    def api_socket(self, user: EngineUser) -> str:
        raise NotImplementedError

    def dial_command(self, user: EngineUser | None) -> str | None:
        """What the docker SDK's channel runs: a byte pipe to the engine's Docker API (None: the
        machine's own dockerd)."""
        if user is None:
            return None
        return self.as_user(user, f"env DOCKER_HOST=unix://{self.api_socket(user)} docker system dial-stdio")

    def expected_root_dir(self, user: EngineUser) -> str:
        """Where the engine's report (`docker info` DockerRootDir) must say it keeps its data."""
        raise NotImplementedError

    def says_rootless(self, remote: Remote, user: EngineUser, info: dict) -> tuple[bool, str]:
        """Whether the engine's own report says it runs rootless, and where it says so."""
        options = info.get("SecurityOptions") or []
        return any("name=rootless" in option for option in options), f"docker info SecurityOptions {options}"

    def prepare(self, remote: Remote, user: EngineUser) -> None:
        """What the engine needs written as its user before it starts."""

    def write_as_user(self, remote: Remote, user: EngineUser, files: dict[str, tuple[str, str]],
                      folders: tuple[str, ...] = ()) -> None:
        """Files (path -> content, mode) and folders, owned by the engine's user, in one command."""
        parents = sorted({path.rsplit("/", 1)[0] for path in files} | set(folders))
        steps = [f"mkdir -p {' '.join(shlex.quote(p) for p in parents)}"] + [
            f"printf %s {shlex.quote(content)} > {shlex.quote(path)} && chmod {mode} {shlex.quote(path)}"
            for path, (content, mode) in files.items()]
        remote.check(self.as_user(user, f"sh -c {shlex.quote(' && '.join(steps))}"))

    def start_command(self, user: EngineUser) -> str:
        raise NotImplementedError

    def process_pattern(self) -> str:
        """What `pgrep -f` finds of the engine's own service process."""
        raise NotImplementedError

    #: Programs the machine must have for this engine (lab.yaml's extra_packages bring them).
    needs: tuple[str, ...] = ()

    def start(self, remote: Remote, user: EngineUser, timeout: float = 60) -> None:
        """Starts the engine in the background, as its user, and waits for its socket to answer."""
        missing = [p for p in self.needs + ("newuidmap",) if not remote.run(f"command -v {p} || test -x {p}").ok]
        if missing:
            raise DaemonError(f"engine {self.name} cannot start: the machine has no {', '.join(missing)} "
                              f"(a box carries it through extra_packages in lab.yaml)")
        remote.check(f"install -d -m 0700 -o {user.uid} -g {user.gid} {user.runtime_dir}", sudo=True)
        self.prepare(remote, user)
        log = f"{user.home}/nslab-{self.name}.log"
        background = f"setsid -f {self.start_command(user)} > {shlex.quote(log)} 2>&1 < /dev/null"
        remote.check(self.as_user(user, f"sh -c {shlex.quote(background)}"))
        ping = self.as_user(user, f"env DOCKER_HOST=unix://{self.api_socket(user)} docker version "
                                  f"--format '{{{{.Server.Version}}}}'")
        began = time.monotonic()

        def answers() -> bool:
            if remote.run(ping, timeout=30).ok:
                return True
            if time.monotonic() - began > GONE_AFTER and not self.running(remote, user):
                raise self._refused(remote, log, "exited at start")
            return False

        if not poll_until(answers, timeout, pause=0.2):
            raise self._refused(remote, log, f"did not answer on {self.api_socket(user)} within {timeout:.0f}s")

    def _refused(self, remote: Remote, log: str, what: str) -> DaemonError:
        """The engine's failure to start, with its own log kept (the run writes it as daemon.log)."""
        text = remote.read_file(log, sudo=True) or ""
        said = " | ".join(text.strip().splitlines()[-3:]) or "empty"
        return DaemonError(f"engine {self.name} {what} (its log: {said})", daemon_log=text)

    def running(self, remote: Remote, user: EngineUser) -> bool:
        return remote.run(f"pgrep -u {user.uid} -f {shlex.quote(self.process_pattern())}").ok

    def stop(self, remote: Remote, user: EngineUser, timeout: float = 20) -> None:
        """Stops the engine and everything its user runs (its containers with it): the user is the
        engine's own, created for it. Its runtime directory goes too, as logind removes it at a
        user's last logout: the next start finds no pid file of a process gone (Podman's pause
        process) and takes the wiped directory for a reboot."""
        remote.run(f"pkill -TERM -u {user.uid} -f {shlex.quote(self.process_pattern())}", sudo=True)
        if not poll_until(lambda: not remote.run(f"pgrep -u {user.uid}").ok, timeout, pause=0.2):
            remote.run(f"pkill -KILL -u {user.uid}", sudo=True)
            poll_until(lambda: not remote.run(f"pgrep -u {user.uid}").ok, 10, pause=0.2)
        remote.run(f"rm -rf {user.runtime_dir}", sudo=True)

    def load_images(self, user: EngineUser, refs: list[str]) -> str:
        """A command that copies images from the machine's dockerd into this engine."""
        quoted = " ".join(shlex.quote(ref) for ref in refs)
        return f"docker save {quoted} | {self.cli(user)} load -q"
