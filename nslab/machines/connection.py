"""One SSH connection per machine, kept open for a whole run.

Shell commands go through Fabric on that connection; structured daemon facts
come from the docker SDK, whose HTTP requests travel as `docker system
dial-stdio` channels of the same connection.
"""
from __future__ import annotations

import os
import shlex
import socket
import time
from dataclasses import dataclass

import docker
import paramiko
import requests
from docker.transport.sshconn import SSHConnection, SSHConnectionPool
from fabric import Config, Connection
from fabric.runners import Remote as FabricRemoteRunner
from invoke.exceptions import CommandTimedOut

from ..errors import ConfigError, MachineError, RemoteTimeout
from ..poll import poll_until
from .base import SshEndpoint

DEFAULT_TIMEOUT = 120.0
WRITE_PIECE = 60_000
# The docker SDK's channel to the machine's own dockerd; a rootless engine's goes to its socket.
SYSTEM_DIAL = "docker system dial-stdio"


@dataclass
class CommandResult:
    command: str
    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class _DialStdio(SSHConnection):
    """`docker system dial-stdio` on a channel that must open within the timeout: on a machine
    that vanished without closing the connection (a VM's qemu killed), opening one waits forever."""

    def __init__(self, ssh_transport, timeout: float, dial_command: str):
        super().__init__(ssh_transport, timeout)
        self.dial_command = dial_command

    def connect(self):
        try:
            sock = self.ssh_transport.open_session(timeout=self.timeout)
        except paramiko.SSHException as exc:
            if not self.ssh_transport.is_active():
                raise          # the connection is gone: the adapter names it, with the request
            raise MachineError(f"the machine stopped answering: no SSH channel for the docker API within "
                               f"{self.timeout:.0f}s ({exc})") from None
        sock.settimeout(self.timeout)
        sock.exec_command(self.dial_command)
        self.sock = sock


class _FreshChannelPool(SSHConnectionPool):
    """A new `docker system dial-stdio` channel per request: a pooled one dies
    silently whenever the daemon restarts, and the lab restarts it often."""

    def __init__(self, dial_command: str, **kwargs):
        super().__init__(**kwargs)
        self.dial_command = dial_command

    def _new_conn(self):
        return _DialStdio(self.ssh_transport, self.timeout, self.dial_command)

    def _put_conn(self, conn):
        if conn is not None:
            conn.close()


class _SameConnectionAdapter(requests.adapters.HTTPAdapter):
    """Sends every docker API request over the run's own SSH connection."""

    def __init__(self, ssh_client, timeout: float, where: str, dial_command: str):
        super().__init__()
        self._pool = _FreshChannelPool(dial_command, ssh_client=ssh_client, timeout=timeout, maxsize=4)
        self._ssh_client = ssh_client
        self._where = where

    def send(self, request, **kwargs):
        try:
            return super().send(request, **kwargs)
        except (requests.exceptions.ConnectionError, paramiko.SSHException, OSError, EOFError) as exc:
            transport = self._ssh_client.get_transport()
            if transport is not None and transport.is_active():
                raise          # the machine's daemon did not answer; the connection is fine
            # The SSH connection under the API went away (sshd killed, the port's proxy restarted):
            # said as for a command, so the run names it and stops the machine's remaining steps.
            raise MachineError(f"connection to {self._where} lost during: docker API {request.method} "
                               f"{request.path_url} ({type(exc).__name__})") from None

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        return self._pool

    def get_connection(self, url, proxies=None):
        return self._pool

    def close(self):
        self._pool.close()
        super().close()


class HostKeyRefused(ConfigError):
    """The host's key is not the one known for it, or not known and not to be accepted: nothing ran."""


def fingerprint(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


class _KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """A host whose key is not in known_hosts: refused with its fingerprint, or recorded when
    accepting new keys was asked for. A changed key never gets here: paramiko refuses it."""

    def __init__(self, path: str, accept_new: bool):
        self.path = path
        self.accept_new = accept_new

    def missing_host_key(self, client, hostname, key):
        if not self.accept_new:
            raise HostKeyRefused(f"the host key of {hostname} is not in {self.path} ({fingerprint(key)}): "
                                 f"check it, then run again with --accept-new-host-key to record it")
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(self.path, "a") as known:
            known.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


class _PromptRemoteRunner(FabricRemoteRunner):
    # Invoke's runner polls for the end of a command every 10 ms, which alone
    # costs ~5 ms a command; 1 ms polling keeps the round trip near the network's.
    input_sleep = 0.001


class Remote:
    """Runs commands on one machine over one persistent SSH connection."""

    def __init__(self, endpoint: SshEndpoint, connect_timeout: float = 15):
        self.endpoint = endpoint
        config = Config(overrides={"load_ssh_configs": False, "run": {"in_stream": False},
                                   "runners": {"remote": _PromptRemoteRunner}})
        self.connection = Connection(
            host=endpoint.host, port=endpoint.port, user=endpoint.user, config=config,
            connect_timeout=connect_timeout,
            connect_kwargs={"key_filename": [endpoint.key_file], "look_for_keys": False,
                            "allow_agent": False},
        )
        if endpoint.known_hosts is not None:
            client = self.connection.client
            if os.path.exists(endpoint.known_hosts):
                client.load_host_keys(endpoint.known_hosts)
            client.set_missing_host_key_policy(_KnownHostsPolicy(endpoint.known_hosts, endpoint.accept_new_host_key))
        self._docker_api: docker.APIClient | None = None
        #: How the docker SDK reaches the engine of the current mode.
        self.dial_command = SYSTEM_DIAL

    def use_engine_api(self, dial_command: str | None) -> None:
        """Points the docker SDK at a rootless engine's socket (None: back to the machine's dockerd)."""
        wanted = dial_command or SYSTEM_DIAL
        if wanted != self.dial_command:
            self.reset_docker_api()
            self.dial_command = wanted

    def open(self, attempts_until: float = 60) -> Remote:
        """Connects, retrying with back-off while sshd is still starting."""
        last_error: list[Exception] = []

        def connected() -> bool:
            try:
                self.connection.open()
                return True
            except HostKeyRefused:
                raise
            except paramiko.BadHostKeyException as exc:
                raise HostKeyRefused(
                    f"the host key of {self.endpoint.host}:{self.endpoint.port} has CHANGED: "
                    f"{self.endpoint.known_hosts} has {fingerprint(exc.expected_key)}, the host offers "
                    f"{fingerprint(exc.key)}; refused (if the host was reinstalled, remove its line "
                    f"from {self.endpoint.known_hosts})") from None
            except paramiko.AuthenticationException as exc:
                if self.endpoint.known_hosts is not None:     # an existing host: its answer is final
                    raise ConfigError(f"{self.endpoint} refused the key {self.endpoint.key_file}") from None
                last_error[:] = [exc]       # a machine still booting may not have its key in place yet
                return False
            except Exception as exc:  # paramiko raises many kinds while sshd starts
                last_error[:] = [exc]
                return False

        if not poll_until(connected, attempts_until, pause=0.1):
            raise MachineError(f"cannot reach {self.endpoint.user}@{self.endpoint.host}:"
                               f"{self.endpoint.port} over SSH: {last_error[0] if last_error else 'no answer'}")
        transport = self.connection.transport
        # Small commands are latency-bound; Nagle's algorithm costs ~30 ms each.
        transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_keepalive(5)
        return self

    @property
    def host_key(self) -> str:
        """The fingerprint of the key the host showed on this connection."""
        return fingerprint(self.connection.transport.get_remote_server_key())

    def run(self, command: str, timeout: float = DEFAULT_TIMEOUT, sudo: bool = False) -> CommandResult:
        if sudo:
            command = "sudo -n sh -c " + shlex.quote(command)
        started = time.monotonic()
        try:
            result = self.connection.run(command, hide=True, warn=True, timeout=timeout)
        except CommandTimedOut:
            raise RemoteTimeout(f"{self.endpoint.host}:{self.endpoint.port}: command timed out after "
                                f"{timeout:.0f}s: {command}") from None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            # sshd or the machine went away under the command.
            raise MachineError(f"connection to {self.endpoint.host}:{self.endpoint.port} "
                               f"lost during: {command} ({type(exc).__name__}: {exc or 'closed'})") from None
        seconds = time.monotonic() - started
        if result.exited in (None, -1) and seconds >= timeout:
            # Invoke kills the channel at the timeout but may miss that its own
            # timer fired (the timer thread can still be alive when it checks).
            raise RemoteTimeout(f"{self.endpoint.host}:{self.endpoint.port}: command timed out after "
                                f"{timeout:.0f}s: {command}")
        if result.exited is None or (result.exited == -1 and not self.connection.is_connected):
            raise MachineError(f"connection to {self.endpoint.host}:{self.endpoint.port} lost during: {command}")
        return CommandResult(command=command, exit_code=result.exited, stdout=result.stdout,
                             stderr=result.stderr, seconds=seconds)

    def check(self, command: str, timeout: float = DEFAULT_TIMEOUT, sudo: bool = False) -> str:
        """Runs a command that must succeed; returns its stdout."""
        result = self.run(command, timeout=timeout, sudo=sudo)
        if not result.ok:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise MachineError(f"command failed on {self.endpoint.host}:{self.endpoint.port} "
                               f"(status {result.exit_code}): {command}: {detail[0]}")
        return result.stdout

    def put(self, local, path: str) -> None:
        """Copies a local file to the machine over this connection (SFTP), as the login user."""
        try:
            self.connection.put(str(local), remote=path)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise MachineError(f"copying {local} to {self.endpoint.host}:{self.endpoint.port}:{path} failed: "
                               f"{type(exc).__name__}: {exc}") from None

    def write_file(self, path: str, content: str, mode: str = "0644") -> None:
        """Writes a root-owned file atomically (a reader never sees half of it)."""
        temporary = shlex.quote(f"{path}.nslab-new")
        # The content travels in the commands themselves (runs take no stdin: in_stream=False), in
        # pieces well under Linux's 128 KiB limit on one argument; the last command puts the file in place.
        pieces = [content[start:start + WRITE_PIECE] for start in range(0, len(content), WRITE_PIECE)] or [""]
        for number, piece in enumerate(pieces):
            command = f"printf %s {shlex.quote(piece)} {'>' if number == 0 else '>>'} {temporary}"
            if number == len(pieces) - 1:
                command += f" && chmod {mode} {temporary} && mv -f {temporary} {shlex.quote(path)}"
            self.check(command, sudo=True)

    def read_file(self, path: str, sudo: bool = False) -> str | None:
        result = self.run(f"cat {shlex.quote(path)}", sudo=sudo)
        return result.stdout if result.ok else None

    @property
    def docker(self) -> docker.APIClient:
        """The machine's Docker daemon through the docker SDK, over this connection."""
        if self._docker_api is None:
            # base_url is never dialled: the adapter below carries every request.
            api = docker.APIClient(base_url="http://nslab-machine:2375", version="1.24", timeout=60)
            api.mount("http://", _SameConnectionAdapter(self.connection.client, timeout=60,
                                                          where=f"{self.endpoint.host}:{self.endpoint.port}",
                                                          dial_command=self.dial_command))
            # Speak the daemon's own API version (Docker 1.11 predates 1.24's minimum).
            api._version = api.version(api_version=False)["ApiVersion"]
            self._docker_api = api
        return self._docker_api

    def reset_docker_api(self) -> None:
        """Forgets pooled API channels, e.g. after the daemon restarted."""
        if self._docker_api is not None:
            self._docker_api.close()
            self._docker_api = None

    def close(self) -> None:
        self.reset_docker_api()
        self.connection.close()
