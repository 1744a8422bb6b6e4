"""Left as found: what a lab may change on an existing host, recorded before, restored after, verified.

Before the first mode nslab reads the host's state (`HostState`) and keeps a restore bundle on the
host itself (the files byte for byte, and that state), so a run cut off mid-way can be restored by
`invoke restore` or by the next `invoke up` on that host. After the run: the files come back byte
for byte, what the lab added (users, their homes, data-roots, images, containers, the lab's own
paths) goes, the daemon restarts in its original configuration, and the state is read again and
compared. Only digests of the files reach the run's folder, never their content, and nothing of the
host's or containers' environment.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import socket
from dataclasses import asdict, dataclass

from ..daemon.modes import DEFAULT_REMAP_USER, REMAP_USER_COMMENT, wait_ready
from ..daemon.rootless import ENGINE_USER_COMMENT
from ..daemon.styles import CONFIG_STYLES, config_style
from ..errors import ConfigError, DaemonError
from ..machines.connection import Remote

BUNDLE = "/var/lib/nslab-restore"
ACCOUNT_FILES = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/subuid", "/etc/subgid")
# Whether the docker service runs: systemd's word for it, or the init script's status.
SERVICE_STATE = ("if [ -d /run/systemd/system ]; then systemctl is-active docker; "
                 "elif service docker status >/dev/null 2>&1; then echo active; else echo inactive; fi")
# The data-roots a remapped daemon makes beside the standard one: /var/lib/docker/<uid>.<gid>.
REMAPPED_ROOT = re.compile(r"\d+\.\d+")


def watched_files() -> list[str]:
    """Every file a lab may change: each config style's file (whichever the host uses), and the
    account files with the backups shadow's tools write beside them."""
    daemon = {style.path for style in CONFIG_STYLES.values()}
    return sorted(daemon | set(ACCOUNT_FILES) | {f"{path}-" for path in ACCOUNT_FILES})


@dataclass
class HostState:
    """What a lab may change on a host, as read from it."""
    files: dict[str, str]            # path -> "absent" or "mode uid gid sha256"
    users: list[str]
    groups: list[str]
    lab_paths: dict[str, bool]       # a path the lab creates -> whether it exists
    data_root: str
    data_root_entries: list[str]
    security_options: list[str]
    images: dict[str, list[str]]     # id -> tags
    containers: dict[str, dict]      # id -> name, image, state
    volumes: list[str]
    dockerd: str                     # its command line
    service: str                     # active / inactive
    style: str = ""

    @property
    def running(self) -> list[str]:
        return sorted(c["name"] for c in self.containers.values() if c["state"] == "running")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HostState:
        return cls(**json.loads(text))


def _standard_root(data_root: str) -> str:
    """The daemon's own data-root: a remapped daemon reports its <uid>.<gid> subfolder."""
    head, _, tail = data_root.rstrip("/").rpartition("/")
    return head if REMAPPED_ROOT.fullmatch(tail) else data_root


def read_state(remote: Remote, style: str, lab_paths: list[str]) -> HostState:
    """The host's state: its files, accounts and daemon, and what the daemon holds."""
    info = remote.docker.info()
    host = _read_host(remote, _standard_root(info.get("DockerRootDir") or "/var/lib/docker"), lab_paths)
    images = {i["Id"]: sorted(i.get("RepoTags") or []) for i in remote.docker.images(all=True)}
    containers = {c["Id"]: {"name": (c.get("Names") or ["?"])[0].lstrip("/"), "image": c.get("Image", ""),
                            "state": c.get("State", "")}
                  for c in remote.docker.containers(all=True)}
    volumes = sorted(v["Name"] for v in (remote.docker.volumes() or {}).get("Volumes") or [])
    return HostState(**host, volumes=volumes, security_options=sorted(info.get("SecurityOptions") or []),
                     images=images, containers=containers, style=style)


def _read_host(remote: Remote, root: str, lab_paths: list[str]) -> dict:
    """What one root shell script reads, with no daemon needed (a restore may start with none)."""
    quoted = " ".join(shlex.quote(p) for p in watched_files())
    paths = " ".join(shlex.quote(p) for p in lab_paths)
    script = (
        f"for f in {quoted}; do if [ -e \"$f\" ]; then "
        "echo \"F $f $(stat -c '%a %u %g' \"$f\") $(sha256sum < \"$f\" | cut -c1-64)\"; "
        "else echo \"F $f absent\"; fi; done; "
        "cut -d: -f1 /etc/passwd | sed 's/^/U /'; cut -d: -f1 /etc/group | sed 's/^/G /'; "
        f"for p in {paths}; do if [ -e \"$p\" ]; then echo \"L $p 1\"; else echo \"L $p 0\"; fi; done; "
        f"for d in {shlex.quote(root)}/*; do [ -e \"$d\" ] && echo \"D ${{d##*/}}\"; done; "
        # The machine's own dockerd (root's), never a rootless one a lab user runs.
        "echo \"P $(ps -o args= -p \"$(pgrep -o -u 0 -x dockerd)\" 2>/dev/null)\"; "
        f"echo \"S $({SERVICE_STATE})\"; true")
    out = remote.check(script, sudo=True, timeout=60)
    found: dict = {"files": {}, "users": [], "groups": [], "lab_paths": {}, "data_root_entries": [],
                   "dockerd": "", "service": "", "data_root": root}
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "F":
            path, _, fact = rest.partition(" ")
            found["files"][path] = fact
        elif kind in ("U", "G", "D"):
            found[{"U": "users", "G": "groups", "D": "data_root_entries"}[kind]].append(rest)
        elif kind == "L":
            path, _, there = rest.rpartition(" ")
            found["lab_paths"][path] = there == "1"
        elif kind == "P":
            found["dockerd"] = rest.strip()
        elif kind == "S":
            found["service"] = rest.strip()
    found["data_root_entries"].sort()
    return found


def differences(before: HostState, after: HostState) -> list[str]:
    """What is not as it was, one line each (empty: restored)."""
    found = []
    for path in sorted(set(before.files) | set(after.files)):
        if before.files.get(path) != after.files.get(path):
            found.append(f"file {path}: was {_file_fact(before.files.get(path))}, "
                         f"is {_file_fact(after.files.get(path))}")
    for what, was, now in (("user", before.users, after.users), ("group", before.groups, after.groups),
                           ("data-root entry", before.data_root_entries, after.data_root_entries),
                           ("volume", before.volumes, after.volumes)):
        found += [f"{what} {name} added" for name in sorted(set(now) - set(was))]
        found += [f"{what} {name} gone" for name in sorted(set(was) - set(now))]
    for path, there in sorted(after.lab_paths.items()):
        if there and not before.lab_paths.get(path):
            found.append(f"the lab's path {path} is still there")
    if before.security_options != after.security_options:
        found.append(f"docker info security options: were {before.security_options}, are {after.security_options}")
    if before.data_root != after.data_root:
        found.append(f"data-root: was {before.data_root}, is {after.data_root}")
    for image in sorted(set(after.images) - set(before.images)):
        found.append(f"image {image[:19]} {after.images[image]} added")
    for image in sorted(set(before.images) - set(after.images)):
        found.append(f"image {image[:19]} {before.images[image]} gone")
    for cid in sorted(set(before.containers) | set(after.containers)):
        was, now = before.containers.get(cid), after.containers.get(cid)
        if was is None:
            found.append(f"container {now['name']} added")
        elif now is None:
            found.append(f"container {was['name']} gone")
        elif was["state"] != now["state"]:
            found.append(f"container {was['name']}: was {was['state']}, is {now['state']}")
    if before.dockerd != after.dockerd:
        found.append(f"dockerd runs as '{after.dockerd}', was '{before.dockerd}'")
    if before.service != after.service:
        found.append(f"docker service is {after.service}, was {before.service}")
    return found


def _file_fact(fact: str | None) -> str:
    if fact in (None, "absent"):
        return "absent"
    mode, uid, gid, digest = fact.split()
    return f"{mode} {uid}:{gid} sha256 {digest[:12]}"


# --- the bundle on the host -----------------------------------------------------------------------

def owner_tag(run_id: str) -> dict:
    return {"controller": socket.gethostname(), "pid": os.getpid(), "run": run_id}


def read_bundle(remote: Remote) -> tuple[HostState, dict] | None:
    """The state a bundle on the host recorded, and who wrote it; None when there is none."""
    text = remote.read_file(f"{BUNDLE}/state.json", sudo=True)
    if text is None:
        return None
    owner = json.loads(remote.read_file(f"{BUNDLE}/owner.json", sudo=True) or "{}")
    return HostState.from_json(text), owner


def check_owner_gone(owner: dict, address: str, asked: bool = False) -> None:
    """A bundle whose run may still work on the host is not to be touched: a live process of this
    machine's, or a run of another machine's, unless the user asked for it (`invoke restore`)."""
    if owner.get("pid") == os.getpid() and owner.get("controller") == socket.gethostname():
        return
    if owner.get("controller") != socket.gethostname():
        if asked:
            return
        raise HostRefused(f"host {address} has a restore bundle of run {owner.get('run')}, written from "
                          f"{owner.get('controller')}; if that run is over, `invoke restore` restores it")
    try:
        os.kill(int(owner.get("pid", 0)), 0)
    except (ProcessLookupError, ValueError):
        return
    except PermissionError:
        pass
    raise HostRefused(f"host {address} is in use by run {owner.get('run')} (pid {owner.get('pid')}): "
                      f"one lab at a time on a host")


def restore_pending(remote: Remote, address: str, log, asked: bool = False) -> tuple[dict, list[str]] | None:
    """Restores from a bundle a run left on the host, if there is one: who left it, and what still differs."""
    bundle = read_bundle(remote)
    if bundle is None:
        return None
    before, owner = bundle
    check_owner_gone(owner, address, asked)
    log(f"a restore bundle of run {owner.get('run')} is on the host (it ended before restoring): restoring it")
    _, left = restore_and_verify(remote, before, log)
    return owner, left


def save_bundle(remote: Remote, state: HostState, owner: dict) -> None:
    """The files byte for byte (content, mode, owner) and the state, root-only, on the host."""
    present = [path.lstrip("/") for path, fact in state.files.items() if fact != "absent"]
    remote.check(f"umask 077 && rm -rf {BUNDLE} && mkdir -p {BUNDLE} && "
                 f"tar -C / -cpf {BUNDLE}/files.tar {' '.join(shlex.quote(p) for p in present)}", sudo=True)
    remote.write_file(f"{BUNDLE}/owner.json", json.dumps(owner), mode="0600")
    # The state last: a bundle without it is no bundle (read_bundle reads it first).
    remote.write_file(f"{BUNDLE}/state.json", state.to_json(), mode="0600")


def drop_bundle(remote: Remote) -> None:
    remote.check(f"rm -rf {BUNDLE}", sudo=True)


# --- restoring ------------------------------------------------------------------------------------

def restore(remote: Remote, before: HostState, log) -> HostState:
    """Brings the host back to `before`; returns its state read afterwards."""
    remote.use_engine_api(None)
    now = _read_host(remote, before.data_root, list(before.lab_paths))
    added = sorted(set(now["users"]) - set(before.users))
    strangers = [user for user in added if not _made_by_nslab(remote, user)]
    for user in added:
        if user in strangers:
            continue
        # Its processes first (a rootless engine), then the user with its home, which the lab made.
        result = remote.run(f"pkill -KILL -u {shlex.quote(user)}; userdel -r -f {shlex.quote(user)}", sudo=True)
        log(f"restore: removed user {user} and its home" if result.ok else
            f"restore: userdel {user} failed: {result.output.strip()[-200:]}")
    for path, there in now["lab_paths"].items():
        if there and not before.lab_paths.get(path):
            remote.check(f"rm -rf -- {shlex.quote(path)}", sudo=True)
            log(f"restore: removed the lab's {path}")
    restored = [p for p in before.files if not (strangers and p in _ACCOUNT_SET)]
    if strangers:
        # Put back byte for byte, the account files would take the users someone else added with them.
        log(f"restore: users {', '.join(strangers)} were added and nslab did not make them: the account "
            f"files stay as they are")
    present = [p.lstrip("/") for p in restored if before.files[p] != "absent"]
    absent = [p for p in restored if before.files[p] == "absent"]
    remote.check(f"tar -C / -xpf {BUNDLE}/files.tar {' '.join(shlex.quote(p) for p in present)}" +
                 "".join(f" && rm -f -- {shlex.quote(p)}" for p in absent), sudo=True)
    changed = [p for p in restored if before.files.get(p) != now["files"].get(p)]
    if changed:
        log(f"restore: files back byte for byte ({', '.join(changed)})")
    if set(changed) & _DAEMON_FILES or not _daemon_as_before(remote, before):
        remote.run("[ -d /run/systemd/system ] && systemctl daemon-reload", sudo=True)
        result = config_style(before.style).restart(remote)
        if not result.ok:
            raise DaemonError(f"restore: the daemon did not restart in its original configuration: "
                              f"{result.output.strip()[-200:]}")
        remote.reset_docker_api()
        wait_ready(remote, timeout=120)
        log("restore: the daemon restarted in its original configuration")
    _restore_engine_objects(remote, before, log)
    # Listed before the restart, from the standard root: the remapped daemons' data-roots the run made
    # (the host had none: a host with any is refused before the first mode).
    for entry in sorted(set(now["data_root_entries"]) - set(before.data_root_entries)):
        if REMAPPED_ROOT.fullmatch(entry):
            remote.check(f"rm -rf -- {shlex.quote(before.data_root + '/' + entry)}", sudo=True)
            log(f"restore: removed the remapped data-root {before.data_root}/{entry}")
    return read_state(remote, before.style, list(before.lab_paths))


_ACCOUNT_SET = set(ACCOUNT_FILES) | {f"{path}-" for path in ACCOUNT_FILES}
_DAEMON_FILES = {style.path for style in CONFIG_STYLES.values()}


def _made_by_nslab(remote: Remote, user: str) -> bool:
    """A user a lab's mode made: dockerd's own dockremap, or one nslab made, named so in its comment."""
    if user == DEFAULT_REMAP_USER:
        return True
    entry = remote.run(f"getent passwd {shlex.quote(user)}").stdout.split(":")
    return len(entry) > 4 and entry[4] in (REMAP_USER_COMMENT, ENGINE_USER_COMMENT)


def _daemon_as_before(remote: Remote, before: HostState) -> bool:
    """The daemon answers, in the configuration it had: same security options, same data-root."""
    try:
        info = remote.docker.info()
    except Exception:      # not answering (stopped, or a mode it could not start in)
        remote.reset_docker_api()
        return False
    return (sorted(info.get("SecurityOptions") or []) == before.security_options
            and info.get("DockerRootDir") == before.data_root)


def _restore_engine_objects(remote: Remote, before: HostState, log) -> None:
    api = remote.docker
    for container in api.containers(all=True):
        if container["Id"] not in before.containers:
            api.remove_container(container["Id"], force=True, v=True)
            log(f"restore: removed container {(container.get('Names') or ['?'])[0].lstrip('/')}")
    for image in api.images(all=True):
        if image["Id"] not in before.images:
            try:
                api.remove_image(image["Id"], force=True)
                log(f"restore: removed image {', '.join(image.get('RepoTags') or []) or image['Id'][:19]}")
            except Exception:      # already gone with the image it was a layer of
                pass
    for volume in (api.volumes() or {}).get("Volumes") or []:
        if volume["Name"] not in before.volumes:
            api.remove_volume(volume["Name"], force=True)
            log(f"restore: removed volume {volume['Name']}")
    for cid, container in before.containers.items():
        if container["state"] == "running":
            state = api.inspect_container(cid)["State"]
            if not state.get("Running"):
                api.start(cid)
                log(f"restore: started container {container['name']} again, as it was running before")


def restore_and_verify(remote: Remote, before: HostState, log) -> tuple[HostState, list[str]]:
    """Restores, then compares: the state read afterwards and what differs. The bundle goes only
    when nothing does."""
    after = restore(remote, before, log)
    found = differences(before, after)
    if not found:
        drop_bundle(remote)
    return after, found


def lab_paths(scenario) -> list[str]:
    """The paths a lab makes on its machine: its own (cleanup.paths), its files, the image builder,
    and the homes of the users its rootless engines run as."""
    from .images import BUILDER
    from .material import MACHINE_ROOT
    homes = [f"/home/{mode.user}" for mode in scenario.modes.values() if mode.user]
    return list(scenario.cleanup.paths) + [MACHINE_ROOT, BUILDER] + homes


class HostRefused(ConfigError):
    """The host has something a lab would destroy or cannot leave as found: nothing was changed."""


def refuse_what_would_be_lost(state: HostState, scenario, address: str, allow_disruption: bool) -> None:
    """What the lab would overwrite or remove on the host, were it there: the host's own."""
    there = [path for path, exists in state.lab_paths.items() if exists]
    names = {c["name"] for c in state.containers.values()}
    taken = sorted(names & set(scenario.cleanup.containers))
    remapped = [entry for entry in state.data_root_entries if REMAPPED_ROOT.fullmatch(entry)]
    said = [f"{', '.join(there)} exists" if there else "",
            f"containers named {', '.join(taken)} exist" if taken else ""]
    if there or taken:
        raise HostRefused(f"host {address}: {' and '.join(s for s in said if s)}; the lab makes and removes its "
                          f"own of these names, so it would destroy the host's: nothing was changed")
    if remapped:
        raise HostRefused(f"host {address}: its data-root holds remapped daemons' stores "
                          f"({', '.join(f'{state.data_root}/{e}' for e in remapped)}); the lab removes those "
                          f"between modes, so it would destroy them: nothing was changed")
    if state.running and not allow_disruption:
        raise HostRefused(f"host {address} runs containers ({', '.join(state.running)}): a mode switch stops "
                          f"them and takes them out of view; --allow-disruption runs anyway and starts them "
                          f"again afterwards; nothing was changed")


# The daemon options the lab's modes write; any other in the host's configuration would be lost
# while the modes run (the config styles write the whole file).
LAB_OPTIONS = {"insecure-registries", "userns-remap"}


def refuse_own_options(options: dict | None, where: str, address: str) -> None:
    others = sorted(set(options or {}) - LAB_OPTIONS)
    if others:
        raise HostRefused(f"host {address}: {where} sets {', '.join(others)}; the lab's modes replace it, so "
                          f"the daemon would run without them: nothing was changed")


def refuse_stopped_service(remote: Remote, address: str) -> None:
    state = remote.run(SERVICE_STATE, sudo=True).stdout.strip()
    if state != "active":
        raise HostRefused(f"host {address}: its docker service is {state or 'unknown'}; nslab leaves a host "
                          f"as it found it, so it does not start it: nothing was changed")
