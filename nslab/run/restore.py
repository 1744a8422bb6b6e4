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

from ..daemon.modes import wait_ready
from ..daemon.styles import CONFIG_STYLES, config_style
from ..errors import ConfigError, DaemonError
from ..machines.connection import Remote

BUNDLE = "/var/lib/nslab-restore"
ACCOUNT_FILES = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/subuid", "/etc/subgid")
# The data-roots a remapped daemon makes beside the standard one: /var/lib/docker/<uid>.<gid>.
REMAPPED_ROOT = re.compile(r"\d+\.\d+")
# Arguments of one command stay well under Linux's 128 KiB limit for a single argument.
CHUNK = 60_000


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
    def from_json(cls, text: str) -> "HostState":
        return cls(**json.loads(text))


def _standard_root(data_root: str) -> str:
    """The daemon's own data-root: a remapped daemon reports its <uid>.<gid> subfolder."""
    head, _, tail = data_root.rstrip("/").rpartition("/")
    return head if REMAPPED_ROOT.fullmatch(tail) else data_root


def read_state(remote: Remote, style: str, lab_paths: list[str]) -> HostState:
    """The host's state, from one shell script and the docker SDK."""
    info = remote.docker.info()
    root = _standard_root(info.get("DockerRootDir") or "/var/lib/docker")
    quoted = " ".join(shlex.quote(p) for p in watched_files())
    paths = " ".join(shlex.quote(p) for p in lab_paths)
    script = (
        f"for f in {quoted}; do if [ -e \"$f\" ]; then "
        "echo \"F $f $(stat -c '%a %u %g' \"$f\") $(sha256sum < \"$f\" | cut -c1-64)\"; "
        "else echo \"F $f absent\"; fi; done; "
        "cut -d: -f1 /etc/passwd | sed 's/^/U /'; cut -d: -f1 /etc/group | sed 's/^/G /'; "
        f"for p in {paths}; do if [ -e \"$p\" ]; then echo \"L $p 1\"; else echo \"L $p 0\"; fi; done; "
        f"for d in {shlex.quote(root)}/*; do [ -e \"$d\" ] && echo \"D ${{d##*/}}\"; done; "
        "echo \"P $(ps -o args= -C dockerd | head -n 1)\"; "
        "if [ -d /run/systemd/system ]; then echo \"S $(systemctl is-active docker)\"; "
        "elif service docker status >/dev/null 2>&1; then echo 'S active'; else echo 'S inactive'; fi")
    out = remote.run(script, sudo=True, timeout=60).stdout
    files, users, groups, entries, lab = {}, [], [], [], {}
    dockerd = service = ""
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "F":
            path, _, fact = rest.partition(" ")
            files[path] = fact
        elif kind == "U":
            users.append(rest)
        elif kind == "G":
            groups.append(rest)
        elif kind == "L":
            path, _, there = rest.rpartition(" ")
            lab[path] = there == "1"
        elif kind == "D":
            entries.append(rest)
        elif kind == "P":
            dockerd = rest.strip()
        elif kind == "S":
            service = rest.strip()
    images = {i["Id"]: sorted(i.get("RepoTags") or []) for i in remote.docker.images(all=True)}
    containers = {c["Id"]: {"name": (c.get("Names") or ["?"])[0].lstrip("/"), "image": c.get("Image", ""),
                            "state": c.get("State", "")}
                  for c in remote.docker.containers(all=True)}
    volumes = sorted(v["Name"] for v in (remote.docker.volumes() or {}).get("Volumes") or [])
    return HostState(files=files, users=users, groups=groups, lab_paths=lab, data_root=root, volumes=volumes,
                     data_root_entries=sorted(entries),
                     security_options=sorted(info.get("SecurityOptions") or []),
                     images=images, containers=containers, dockerd=dockerd, service=service, style=style)


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


def check_owner_gone(owner: dict, address: str) -> None:
    """A bundle whose run still works on the host (a process of this controller) is not to be touched."""
    if owner.get("controller") != socket.gethostname() or owner.get("pid") == os.getpid():
        return
    try:
        os.kill(int(owner.get("pid", 0)), 0)
    except (ProcessLookupError, ValueError):
        return
    except PermissionError:
        pass
    raise ConfigError(f"host {address} is in use by run {owner.get('run')} (pid {owner.get('pid')}): "
                      f"one lab at a time on a host")


def save_bundle(remote: Remote, state: HostState, owner: dict) -> None:
    """The files byte for byte (content, mode, owner) and the state, root-only, on the host."""
    present = [path.lstrip("/") for path, fact in state.files.items() if fact != "absent"]
    remote.check(f"umask 077 && rm -rf {BUNDLE} && mkdir -p {BUNDLE} && "
                 f"tar -C / -cpf {BUNDLE}/files.tar {' '.join(shlex.quote(p) for p in present)}", sudo=True)
    _write_root_file(remote, f"{BUNDLE}/owner.json", json.dumps(owner))
    # The state last: a bundle without it is no bundle (read_bundle reads it first).
    _write_root_file(remote, f"{BUNDLE}/state.json", state.to_json())


def _write_root_file(remote: Remote, path: str, text: str) -> None:
    temporary = f"{path}.part"
    remote.check(f"umask 077 && : > {temporary}", sudo=True)
    for start in range(0, len(text), CHUNK):
        remote.check(f"printf %s {shlex.quote(text[start:start + CHUNK])} >> {temporary}", sudo=True)
    remote.check(f"mv -f {temporary} {path}", sudo=True)


def drop_bundle(remote: Remote) -> None:
    remote.check(f"rm -rf {BUNDLE}", sudo=True)


# --- restoring ------------------------------------------------------------------------------------

def restore(remote: Remote, before: HostState, log) -> HostState:
    """Brings the host back to `before`; returns its state read afterwards."""
    remote.use_engine_api(None)
    now = read_state(remote, before.style, list(before.lab_paths))
    for user in sorted(set(now.users) - set(before.users)):
        # Its processes first (a rootless engine), then the user with its home.
        remote.run(f"pkill -KILL -u {shlex.quote(user)}; userdel -r -f {shlex.quote(user)}", sudo=True)
        log(f"restore: removed user {user} and its home")
    for path, there in now.lab_paths.items():
        if there and not before.lab_paths.get(path):
            remote.check(f"rm -rf -- {shlex.quote(path)}", sudo=True)
            log(f"restore: removed the lab's {path}")
    # Every file back, whatever the removals above rewrote (userdel writes passwd- and the like).
    absent = [p for p, fact in before.files.items() if fact == "absent"]
    remote.check(f"tar -C / -xpf {BUNDLE}/files.tar" +
                 "".join(f" && rm -f -- {shlex.quote(p)}" for p in absent), sudo=True)
    changed = [p for p in sorted(set(before.files) | set(now.files)) if before.files.get(p) != now.files.get(p)]
    if changed:
        log(f"restore: files back byte for byte ({', '.join(changed)})")
    daemon_files = {style.path for style in CONFIG_STYLES.values()}
    if (set(changed) & daemon_files or now.security_options != before.security_options
            or now.data_root != before.data_root or now.dockerd != before.dockerd):
        remote.run("[ -d /run/systemd/system ] && systemctl daemon-reload", sudo=True)
        result = config_style(before.style).restart(remote)
        if not result.ok:
            raise DaemonError(f"restore: the daemon did not restart in its original configuration: "
                              f"{result.output.strip()[-200:]}")
        remote.reset_docker_api()
        wait_ready(remote, timeout=120)
        log("restore: the daemon restarted in its original configuration")
    _restore_engine_objects(remote, before, log)
    # Read before the restart, from the standard root: the remapped daemons' data-roots the run made.
    for entry in sorted(set(now.data_root_entries) - set(before.data_root_entries)):
        if REMAPPED_ROOT.fullmatch(entry):
            remote.check(f"rm -rf -- {shlex.quote(before.data_root + '/' + entry)}", sudo=True)
            log(f"restore: removed the remapped data-root {before.data_root}/{entry}")
    return read_state(remote, before.style, list(before.lab_paths))


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
    """The paths a lab makes on its machine: its own (cleanup.paths), its files, the image builder."""
    from .images import BUILDER
    from .material import MACHINE_ROOT
    return list(scenario.cleanup.paths) + [MACHINE_ROOT, BUILDER]


def refuse_clashes(state: HostState, scenario, address: str) -> None:
    """What the lab would overwrite or remove on the host, were it there: the host's own."""
    there = [path for path, exists in state.lab_paths.items() if exists]
    names = {c["name"] for c in state.containers.values()}
    taken = sorted(names & set(scenario.cleanup.containers))
    if there or taken:
        said = [f"{', '.join(there)} exists" if there else "",
                f"containers named {', '.join(taken)} exist" if taken else ""]
        raise ConfigError(f"host {address}: {' and '.join(s for s in said if s)}; the lab makes and removes "
                          f"its own of these names, so it would destroy the host's: nothing was changed")


def refuse_running_containers(state: HostState, address: str, allow: bool) -> None:
    if state.running and not allow:
        raise ConfigError(f"host {address} runs containers ({', '.join(state.running)}): a mode switch stops "
                          f"them and takes them out of view; --allow-disruption runs anyway and starts them "
                          f"again afterwards; nothing was changed")
