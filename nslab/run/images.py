"""The lab's logical images (registry, hello, alpine, clock) on a machine.

`pull` fetches the real images from a registry; `offline` builds stand-ins
inside the machine from its Debian packages (provision/images/), for machines
that can reach no registry. A box says which in lab.yaml.
"""
from __future__ import annotations

import hashlib
import shlex

from ..config.scenario import Scenario
from ..machines.connection import CommandResult, Remote
from ..paths import provision_dir

OFFLINE_PREFIX = "nslab"
BUILDER = "/usr/local/sbin/nslab-build-lab-images"


def image_refs(scenario: Scenario, source: str) -> dict[str, str]:
    if source == "pull":
        return {name: spec.pull for name, spec in scenario.images.items()}
    return {name: f"{OFFLINE_PREFIX}/{spec.offline}:offline" for name, spec in scenario.images.items()}


def provide_images(remote: Remote, scenario: Scenario, names: list[str], source: str,
                   timeout: float) -> CommandResult:
    if source == "pull":
        refs = [scenario.images[name].pull for name in names]
        command = " && ".join(f"docker pull {shlex.quote(ref)}" for ref in refs)
    else:
        return build_offline(remote, sorted({scenario.images[name].offline for name in names}), timeout)
    return remote.run(command, timeout=timeout)


def builder_script() -> str:
    return (provision_dir() / "images" / "build-lab-images.sh").read_text()


def offline_recipe() -> str:
    return hashlib.sha256(builder_script().encode()).hexdigest()[:16]


def build_offline(remote: Remote, offline_names: list[str], timeout: float = 300) -> CommandResult:
    """Builds stand-in images inside the machine (skipping those of the current recipe)."""
    remote.write_file(BUILDER, builder_script(), mode="0755")
    return remote.run(f"{BUILDER} {OFFLINE_PREFIX} {offline_recipe()} " + " ".join(offline_names),
                      timeout=timeout)
