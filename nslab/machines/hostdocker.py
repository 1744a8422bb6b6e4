"""The host Docker daemon that runs container machines.

nslab uses a daemon that already answers (NSLAB_DOCKER_HOST, DOCKER_HOST, or
the system socket) and never changes it. When none answers it starts its own,
with socket, data-root, exec-root and pidfile of its own under the host folder,
so it can never disturb a system daemon. Every clone on the host shares that one
daemon on purpose: two daemons would fight over the docker0 bridge and
iptables' DOCKER chains, and one daemon is one cache of built boxes.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import docker

from ..errors import MachineError
from ..paths import host_dir
from ..poll import poll_until
from .hostshare import HOST_SERVICES, describe, host_lock, other_clones_containers
from .pidfiles import alive, read_pid, terminate

SYSTEM_SOCKET = "unix:///var/run/docker.sock"
# How long a caller waits for nslab's own daemon while it (re)starts: with live-restore its
# containers keep running meanwhile, and a run should not fail for a restart it can wait out.
RESTART_WAIT = 60


def own_daemon_dir() -> Path:
    return host_dir() / "docker"


def own_socket_url() -> str:
    return f"unix://{own_daemon_dir() / 'docker.sock'}"


def answers(url: str) -> bool:
    if url.startswith("unix://") and not Path(url[len("unix://"):]).exists():
        return False
    try:
        client = docker.DockerClient(base_url=url, version="1.24", timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def ensure_host_docker(log=print) -> str:
    """Returns the URL of a host daemon that answers, starting nslab's own if needed."""
    explicit = os.environ.get("NSLAB_DOCKER_HOST")
    if explicit:
        if not answers(explicit):
            raise MachineError(f"NSLAB_DOCKER_HOST={explicit}: no Docker daemon answers there")
        return explicit
    for url in (os.environ.get("DOCKER_HOST"), own_socket_url(), SYSTEM_SOCKET):
        if url and answers(url):
            return url
    if wait_for_own_daemon(log):
        return own_socket_url()
    # Clones starting at once: one starts the daemon, the others wait for it and find it answering.
    with host_lock("docker-start", "host docker: another clone is starting nslab's host daemon", log):
        if not answers(own_socket_url()):
            start_own_daemon(log)
    return own_socket_url()


def wait_for_own_daemon(log=print) -> bool:
    """Whether nslab's own daemon answers, waiting while it (re)starts; False when none runs."""
    if not own_daemon_running():
        return False
    if answers(own_socket_url()):
        return True
    log("host docker: waiting for nslab's own daemon, which is (re)starting")
    if poll_until(lambda: answers(own_socket_url()), RESTART_WAIT, max_pause=0.5):
        return True
    raise MachineError(f"nslab's own host dockerd (pid {read_pid(own_pidfile())}) did not answer within "
                       f"{RESTART_WAIT}s; see {own_daemon_dir() / 'dockerd.log'}")


def own_pidfile() -> Path:
    return own_daemon_dir() / "docker.pid"


def own_daemon_running() -> bool:
    """A dockerd holds nslab's pidfile (not a stale pid that another process took since)."""
    pid = read_pid(own_pidfile())
    try:
        return alive(pid) and Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd"
    except OSError:
        return False


def start_own_daemon(log=print, timeout: float = 60) -> None:
    home = own_daemon_dir()
    home.mkdir(parents=True, exist_ok=True)
    # exec-root holds containerd's sockets, whose paths must stay short.
    exec_root = Path("/run") / "nslab-docker"
    command = [
        "dockerd",
        "--host", own_socket_url(),
        "--data-root", str(home / "data"),
        "--exec-root", str(exec_root),
        "--pidfile", str(own_pidfile()),
        # Container machines outlive a restart of this daemon (and `invoke faults` restarts it).
        "--live-restore",
    ]
    log(f"host docker: starting nslab's own daemon ({own_socket_url()})")
    with open(home / "dockerd.log", "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    def ready() -> bool:
        # Two nslab commands may start the daemon at once: the one that lost the pidfile exits,
        # and waits for the other.
        if process.poll() is not None and not own_daemon_running():
            raise MachineError(f"host dockerd exited with status {process.returncode}; "
                               f"see {home / 'dockerd.log'}")
        return answers(own_socket_url())

    if poll_until(ready, timeout, max_pause=1.0):
        return
    raise MachineError(f"host dockerd did not answer within {timeout:.0f}s; see {home / 'dockerd.log'}")


def stop_own_daemon(timeout: float = 30) -> tuple[bool, str]:
    """Stops nslab's own host daemon (never another one) when no other clone needs it: returns
    whether it was stopped, and why not when it was kept."""
    pid = read_pid(own_pidfile())
    if not alive(pid):
        return False, "not running"
    if answers(own_socket_url()):
        client = docker.DockerClient(base_url=own_socket_url(), timeout=60)
        try:
            # Held alone while deciding and stopping: no clone starts work or a machine meanwhile.
            with HOST_SERVICES.alone_if_free() as free:
                reasons = []
                others = other_clones_containers(client)
                if others:
                    listed = ", ".join(f"{name} (clone {clone})" for name, clone in others)
                    reasons.append(f"the machines of other clones: {listed}")
                if not free:
                    users = "; ".join(describe(user) for user in HOST_SERVICES.users()) or "another nslab process"
                    reasons.append(f"the work of {users}")
                if reasons:
                    return False, "kept for " + "; and for ".join(reasons)
                # Under live-restore a container outlives its daemon: stop what is left first.
                for container in client.containers.list():
                    container.stop(timeout=10)
                terminate(pid, timeout)
                return True, ""
        finally:
            client.close()
    terminate(pid, timeout)
    return True, ""
