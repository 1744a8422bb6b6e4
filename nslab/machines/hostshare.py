"""What the clones on one host share on purpose, and how they wait for each other.

Every clone of nslab on a host uses one host Docker daemon (and so one cache of built boxes) and
one libvirtd. Three rules keep them out of each other's way:

- work that must happen once at a time (starting the daemon, building one box) takes a host lock;
  a second clone says in one line who it waits for, then waits;
- every command that works with the host services (a run, a matrix, a box build, `down`) holds
  them *in use*, shared; the one thing that interrupts them for everyone (the fault suite
  restarting the daemon or killing libvirtd) holds them exclusively, so it waits for the other
  clones' work to end, and their new work waits for it;
- every machine carries its clone in a label, so `down --host-daemon` in one clone can see the
  machines of another and leave the daemon to them.
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from ..paths import host_dir, state_dir
from .pidfiles import alive

CLONE_LABEL = "org.nslab.clone"
INSTANCE_LABEL = "org.nslab.instance"
# Set for the children of a process that holds the host services exclusively: they work under its hold.
EXCLUSIVE_ENV = "NSLAB_HOST_EXCLUSIVE"


def locks_dir() -> Path:
    folder = host_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def who() -> dict:
    """This process as other clones see it in a waiting line."""
    command = " ".join(Path(arg).name if i == 0 else arg for i, arg in enumerate(sys.argv[:3]))
    return {"pid": os.getpid(), "clone": str(state_dir().parent), "command": command}


def describe(holder: dict | None) -> str:
    if not holder:
        return "another nslab process"
    return f"pid {holder.get('pid')} ({holder.get('command') or 'nslab'} in {holder.get('clone')})"


def _read_holder(handle) -> dict | None:
    handle.seek(0)
    try:
        return json.loads(handle.read() or "null")
    except ValueError:
        return None


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextmanager
def host_lock(name: str, waiting: str, log=print):
    """One holder at a time on this host. A second process says once what it waits for (`waiting`,
    then who holds it) and waits; it never fails for the wait. Threads of one process (a matrix's
    cells) take turns first, so the line only ever names another process."""
    with _thread_locks_guard:
        in_process = _thread_locks.setdefault(name, threading.Lock())
    with in_process, _flock(name, waiting, log):
        yield


@contextmanager
def _flock(name: str, waiting: str, log):
    handle = open(locks_dir() / f"{name}.lock", "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"{waiting}: waiting for {describe(_read_holder(handle))}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(who()))
        handle.flush()
        yield
    finally:
        handle.close()


class HostServices:
    """The host daemon and libvirtd in use by this process (shared), or held by it alone."""

    def __init__(self):
        self._guard = threading.Lock()
        self._handle = None
        self._count = 0

    @staticmethod
    def _users_dir() -> Path:
        folder = host_dir() / "users"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @contextmanager
    def in_use(self, log=print):
        """Held by a command for as long as it works with the host services (threads count once)."""
        if os.environ.get(EXCLUSIVE_ENV):
            yield                       # a parent holds them exclusively, for this process too
            return
        with self._guard:
            if self._count == 0:
                handle = open(locks_dir() / "host-services.lock", "a+")
                try:
                    fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = self._exclusive_holder()
                    log(f"host services: waiting for {describe(holder)}, which holds them alone "
                        f"(it restarts nslab's host daemon or libvirtd)")
                    fcntl.flock(handle, fcntl.LOCK_SH)
                (self._users_dir() / f"{os.getpid()}.json").write_text(json.dumps(who()))
                self._handle = handle
            self._count += 1
        try:
            yield
        finally:
            with self._guard:
                self._count -= 1
                if self._count == 0:
                    (self._users_dir() / f"{os.getpid()}.json").unlink(missing_ok=True)
                    self._handle.close()
                    self._handle = None

    @contextmanager
    def exclusive(self, log=print):
        """Held alone: waits for the other processes using the host services (naming them once);
        meanwhile new ones wait. Children started inside work under this hold."""
        with self._guard:
            handle = self._handle or open(locks_dir() / "host-services.lock", "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                names = "; ".join(describe(user) for user in self.users()) or "another nslab process"
                log(f"host services: waiting for the work of other nslab processes to end: {names}")
                fcntl.flock(handle, fcntl.LOCK_EX)
            exclusive_file = self._users_dir() / "exclusive.json"
            exclusive_file.write_text(json.dumps(who()))
            os.environ[EXCLUSIVE_ENV] = str(os.getpid())
        try:
            yield
        finally:
            with self._guard:
                os.environ.pop(EXCLUSIVE_ENV, None)
                exclusive_file.unlink(missing_ok=True)
                if handle is self._handle:
                    fcntl.flock(handle, fcntl.LOCK_SH)      # back to plain use
                else:
                    handle.close()

    def users(self) -> list[dict]:
        """The other live processes that hold the host services in use, from any clone."""
        found = []
        for path in sorted(self._users_dir().glob("[0-9]*.json")):
            try:
                user = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if user.get("pid") == os.getpid():
                continue
            if alive(user.get("pid")):
                found.append(user)
            else:
                path.unlink(missing_ok=True)        # left by a process that was killed
        return found

    @contextmanager
    def alone_if_free(self):
        """Yields whether no other process uses the host services now; when none does, they stay
        this process's alone until the block ends. Entered outside `in_use` (a failed upgrade of a
        shared flock can lose the shared one)."""
        with open(locks_dir() / "host-services.lock", "a+") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True

    def _exclusive_holder(self) -> dict | None:
        try:
            return json.loads((self._users_dir() / "exclusive.json").read_text())
        except (OSError, ValueError):
            return None


HOST_SERVICES = HostServices()


def clone_labels(instance_name: str) -> dict[str, str]:
    return {CLONE_LABEL: str(state_dir()), INSTANCE_LABEL: instance_name}


def other_clones_containers(client) -> list[tuple[str, str]]:
    """(container, clone) for every container on the host daemon that another clone made."""
    mine = str(state_dir())
    found = []
    for container in client.containers.list(all=True):
        clone = (container.labels or {}).get(CLONE_LABEL)
        if clone and clone != mine:
            found.append((container.name, clone))
    return found
