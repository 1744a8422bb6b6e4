"""Boxes built offline from Debian packages, cached by the hash of their recipe."""
from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import docker

from ..config.lab import Box
from ..errors import MachineError
from ..paths import host_dir, provision_dir, state_dir, vagrant_home

RECIPE_LABEL = "org.nslab.recipe"
BOX_DIR = "box"
# Run after the root filesystem of a box that comes without Docker (`docker: install`).
WITHOUT_DOCKER = provision_dir() / "box-without-docker" / "remove-docker.sh"


def vagrant_public_key() -> Path:
    """Vagrant's well-known public key, as public boxes ship it (Vagrant replaces it on first up)."""
    patterns = [
        "/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub",
        "/opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub",
        "/opt/vagrant/embedded/gems/*/gems/vagrant-*/keys/vagrant.pub",
    ]
    for pattern in patterns:
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[-1])
    raise MachineError("cannot find Vagrant's public key (keys/vagrant.pub); is vagrant installed?")


def debian_mirror() -> str:
    """The Debian mirror boxes are built from: NSLAB_DEBIAN_MIRROR, else the first Debian
    archive in the host's own apt sources, else "" (debootstrap's default). Never written
    in the repository: each host brings its own."""
    explicit = os.environ.get("NSLAB_DEBIAN_MIRROR")
    if explicit:
        return explicit
    sources = Path("/etc/apt/sources.list.d")
    files = [Path("/etc/apt/sources.list"), *sorted(sources.glob("*.list")), *sorted(sources.glob("*.sources"))]
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for uri in _apt_uris(text):
            if "security" not in uri and uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return ""


_ONE_LINE = re.compile(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)")


def _apt_uris(text: str) -> list[str]:
    """Archive URIs of one-line (`deb [opts] URI suite ...`) and deb822 (`URIs:`) sources,
    leaving out deb822 stanzas marked `Enabled: no`."""
    uris = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
        if fields.get("Enabled", "yes").strip().lower() == "no":
            continue
        uris += fields.get("URIs", "").split()
        uris += [m.group(1) for line in stanza.splitlines() if (m := _ONE_LINE.match(line.split("#", 1)[0]))]
    return [u for u in uris if re.match(r"https?://", u)]


def recipe_hash(box: Box) -> str:
    """Changes whenever anything that goes into the box changes."""
    assert box.suite is not None, "only a box built here (from a suite) has a recipe"
    digest = hashlib.sha256()
    for part in (box.suite, debian_mirror(), box.provider, box.init, box.layout, ",".join(box.extra_packages)):
        digest.update(part.encode() + b"\0")
    if box.docker == "install":
        digest.update(b"without docker\0" + WITHOUT_DOCKER.read_bytes())
    if box.rebuild_daily:
        digest.update(time.strftime("%Y-%m-%d", time.gmtime()).encode() + b"\0")
    for path in sorted((provision_dir() / BOX_DIR).iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(vagrant_public_key().read_bytes())
    return digest.hexdigest()[:16]


def image_ref(box: Box) -> str:
    return f"{box.image}:latest"


def cached_recipe(client: docker.DockerClient, box: Box) -> str | None:
    try:
        image = client.images.get(image_ref(box))
    except docker.errors.ImageNotFound:
        return None
    return (image.labels or {}).get(RECIPE_LABEL)


def build_box(box: Box, docker_url: str, force: bool = False, log=print) -> dict:
    """Builds the box unless one of the same recipe exists (its provider knows how). Returns what was done.
    One build of a box at a time on the host: a clone that finds another building it waits, then
    finds it cached."""
    from .hostshare import host_lock
    from .providers import PROVIDERS
    with host_lock(f"box-{box.name}", f"box {box.name}: another clone is building it", log):
        return PROVIDERS[box.provider].build(box, docker_url, force, log)


def build_container_box(box: Box, docker_url: str, force: bool = False, log=print) -> dict:
    """A container image for Vagrant's docker provider, from Debian packages."""
    client = docker.DockerClient(base_url=docker_url)
    want = recipe_hash(box)
    try:
        if not force and cached_recipe(client, box) == want:
            log(f"box {box.name}: cached ({image_ref(box)}, recipe {want})")
            return {"box": box.name, "built": False, "recipe": want, "seconds": 0.0}
    finally:
        client.close()

    started = time.monotonic()
    work = state_dir() / "build" / f"{box.name}-{want}"
    rootfs = work / "rootfs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log_path = work.parent / f"{box.name}.log"
    log(f"box {box.name}: building from Debian {box.suite} packages (log: {log_path})")
    try:
        with open(log_path, "wb") as out:
            _build_rootfs(box, rootfs, "container", out, log_path)
            log(f"box {box.name}: root filesystem ready after {time.monotonic() - started:.0f}s; importing")
            changes = [
                'CMD ["/usr/local/sbin/nslab-init"]',
                "ENV container=docker",
                f"LABEL {RECIPE_LABEL}={want}",
            ]
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                                   stdout=subprocess.PIPE, stderr=out)
            import_cmd = ["docker", "--host", docker_url, "import"]
            for change in changes:
                import_cmd += ["--change", change]
            _run(import_cmd + ["-", image_ref(box)], out, log_path, stdin=tar.stdout)
            assert tar.stdout is not None       # stdout=PIPE
            tar.stdout.close()
            if tar.wait() != 0:
                raise MachineError(f"box {box.name}: tar of the root filesystem failed; see {log_path}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    log(f"box {box.name}: built {image_ref(box)} (recipe {want}) in {seconds:.0f}s")
    return {"box": box.name, "built": True, "recipe": want, "seconds": round(seconds, 1)}


def _run(command: list[str], out, log_path: Path, stdin=None, env=None) -> None:
    result = subprocess.run(command, stdout=out, stderr=out, stdin=stdin, env=env)
    if result.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        raise MachineError(f"{Path(command[0]).name} failed (status {result.returncode}): {tail[0]} "
                           f"(log: {log_path})")


def _build_rootfs(box: Box, rootfs: Path, kind: str, out, log_path: Path) -> None:
    _run(_rootfs_command(box, rootfs, kind), out, log_path)
    if box.docker == "install":
        _run([str(WITHOUT_DOCKER), str(rootfs)], out, log_path)


def _rootfs_command(box: Box, rootfs: Path, kind: str) -> list[str]:
    assert box.suite is not None, "only a box built here (from a suite) has a root filesystem to build"
    return [str(provision_dir() / BOX_DIR / "build-rootfs.sh"), box.suite, debian_mirror(), str(rootfs),
            str(vagrant_public_key()), box.init, box.layout, ",".join(box.extra_packages), kind]


def stored_vm_box(box: Box) -> Path:
    """Where Vagrant keeps the added box (the project's VAGRANT_HOME; version 0)."""
    return vagrant_home() / "boxes" / box.stored_box_name / "0" / "libvirt"


def cached_vm_recipe(box: Box) -> str | None:
    try:
        return json.loads((stored_vm_box(box) / "metadata.json").read_text()).get("nslab_recipe")
    except (OSError, ValueError):
        return None


def shared_vm_box_file(box: Box, recipe: str) -> Path:
    """The built VM box of a recipe, kept once for every clone on the host."""
    return host_dir() / "boxes" / f"{box.name}-{recipe}.box"


def build_vm_box(box: Box, docker_url: str, force: bool = False, log=print) -> dict:
    """A vagrant-libvirt box from Debian packages: root filesystem, ext4 image, qcow2, kernel and
    initrd, packaged once per host and recipe, and added to the clone's VAGRANT_HOME."""
    from .hostvirt import delete_volumes
    from .vagrant import vagrant_env

    want = recipe_hash(box)
    if not force and cached_vm_recipe(box) == want:
        log(f"box {box.name}: cached ({box.box_name}, recipe {want})")
        return {"box": box.name, "built": False, "recipe": want, "seconds": 0.0}
    started = time.monotonic()
    box_file = shared_vm_box_file(box, want)
    box_file.parent.mkdir(parents=True, exist_ok=True)
    log_path = state_dir() / "build" / f"{box.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    built = force or not box_file.is_file()
    if built:
        _build_vm_box_file(box, want, box_file, log_path, log)
    else:
        log(f"box {box.name}: built on this host already ({box_file}); adding it to Vagrant")
    with open(log_path, "ab") as out:
        _run(["vagrant", "box", "add", "--force", "--name", box.box_name, str(box_file)], out, log_path,
             env=vagrant_env(docker_url))
    # vagrant-libvirt keeps a box's disk in the pool as a base volume; a rebuilt box must not
    # boot from the old one.
    stale = delete_volumes(box.stored_box_name + "_vagrant_box_image_")
    if stale:
        log(f"box {box.name}: removed the previous box's base volume(s): {', '.join(stale)}")
    seconds = time.monotonic() - started
    log(f"box {box.name}: {'built' if built else 'added'} {box.box_name} (recipe {want}) in {seconds:.0f}s")
    return {"box": box.name, "built": built, "recipe": want, "seconds": round(seconds, 1)}


def _build_vm_box_file(box: Box, want: str, box_file: Path, log_path: Path, log) -> None:
    started = time.monotonic()
    work = state_dir() / "build" / f"{box.name}-{want}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    partial = box_file.with_name(box_file.name + ".partial")
    log(f"box {box.name}: building a VM from Debian {box.suite} packages (log: {log_path})")
    try:
        with open(log_path, "wb") as out:
            _build_rootfs(box, work / "rootfs", "vm", out, log_path)
            log(f"box {box.name}: root filesystem ready after {time.monotonic() - started:.0f}s; "
                f"making the disk image")
            _run([str(provision_dir() / BOX_DIR / "make-vm-box.sh"), str(work / "rootfs"), str(partial), want],
                 out, log_path)
        # Whole or not at all: another clone may add it as soon as it has this name.
        os.replace(partial, box_file)
        for older in box_file.parent.glob(f"{box.name}-*.box"):
            if older != box_file:
                older.unlink(missing_ok=True)
        log(f"box {box.name}: {box_file} ({box_file.stat().st_size / 2**20:.0f} MB) after "
            f"{time.monotonic() - started:.0f}s")
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
