"""Boxes built offline from Debian packages, cached by the hash of their recipe."""
from __future__ import annotations

import glob
import hashlib
import shutil
import subprocess
import time
from pathlib import Path

import docker

from .errors import MachineError
from .lab import Box
from .paths import provision_dir, state_dir

RECIPE_LABEL = "org.nslab.recipe"
BOX_DIR = "box"


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


def recipe_hash(box: Box) -> str:
    """Changes whenever anything that goes into the box changes."""
    digest = hashlib.sha256()
    for part in (box.suite, box.mirror, box.provider, box.init, box.layout, ",".join(box.extra_packages)):
        digest.update(part.encode() + b"\0")
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
    """Builds the box image unless one of the same recipe exists. Returns what was done."""
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
            _run([str(provision_dir() / BOX_DIR / "build-rootfs.sh"), box.suite, box.mirror,
                  str(rootfs), str(vagrant_public_key()), box.init, box.layout,
                  ",".join(box.extra_packages)], out, log_path)
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
            tar.stdout.close()
            if tar.wait() != 0:
                raise MachineError(f"box {box.name}: tar of the root filesystem failed; see {log_path}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    log(f"box {box.name}: built {image_ref(box)} (recipe {want}) in {seconds:.0f}s")
    return {"box": box.name, "built": True, "recipe": want, "seconds": round(seconds, 1)}


def _run(command: list[str], out, log_path: Path, stdin=None) -> None:
    result = subprocess.run(command, stdout=out, stderr=out, stdin=stdin)
    if result.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        raise MachineError(f"{Path(command[0]).name} failed (status {result.returncode}): {tail[0]} "
                           f"(log: {log_path})")
