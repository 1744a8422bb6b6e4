"""The lab's logical images (registry, hello, alpine, clock, and the scenario's own) on a machine.

`pull` fetches the real images from a registry; `offline` builds stand-ins
inside the machine from its Debian packages (provision/images/), for machines
that can reach no registry. A box says which in lab.yaml. An image a scenario
builds (`build:`) is built inside the machine from its recipe folder, on top of
one of the others, either way.
"""
from __future__ import annotations

import hashlib
import shlex

from ..config.scenario import Scenario, material_folder
from ..daemon.engines import ENGINES
from ..daemon.engines.base import EngineUser
from ..machines.connection import CommandResult, Remote
from ..paths import provision_dir
from .material import copy_folder, machine_folder

OFFLINE_PREFIX = "nslab"
BUILDER = "/usr/local/sbin/nslab-build-lab-images"


def image_refs(scenario: Scenario, source: str) -> dict[str, str]:
    def ref(name, spec) -> str:
        if spec.build is not None:
            return f"{OFFLINE_PREFIX}/{scenario.name}-{name}:built"
        return spec.pull if source == "pull" else f"{OFFLINE_PREFIX}/{spec.offline}:offline"
    return {name: ref(name, spec) for name, spec in scenario.images.items()}


def provide_images(remote: Remote, scenario: Scenario, names: list[str], source: str, timeout: float,
                   engine: str = "dockerd", engine_user: EngineUser | None = None) -> CommandResult:
    """The images in the machine's dockerd, and copied from there into a rootless engine's own store."""
    result = _provide(remote, scenario, names, source, timeout)
    if engine_user is None or not result.ok:
        return result
    refs = image_refs(scenario, source)
    return _joined(result, remote.run(ENGINES[engine].load_images(engine_user, [refs[n] for n in names]),
                                      timeout=timeout))


def _provide(remote: Remote, scenario: Scenario, names: list[str], source: str,
             timeout: float) -> CommandResult:
    built = [name for name in names if scenario.images[name].build is not None]
    served = [name for name in names if name not in built]
    served += sorted({scenario.images[name].base for name in built} - set(served))
    if source == "pull":
        result = remote.run(" && ".join(f"docker pull {shlex.quote(scenario.images[name].pull)}"
                                        for name in served), timeout=timeout) if served else None
    else:
        result = build_offline(remote, sorted({scenario.images[name].offline for name in served}), timeout) \
            if served else None
    for name in built:
        if result is not None and not result.ok:
            break
        result = _joined(result, build_image(remote, scenario, name, source, timeout))
    return result


def build_image(remote: Remote, scenario: Scenario, name: str, source: str, timeout: float) -> CommandResult:
    """`docker build` of the scenario's recipe folder inside the machine, FROM its base image."""
    spec = scenario.images[name]
    refs = image_refs(scenario, source)
    context = machine_folder(scenario, f"image-{name}")
    copy_folder(remote, material_folder(scenario, spec.build), context)
    # The classic builder: it takes the base from the machine's own images and needs no registry.
    return remote.run(f"DOCKER_BUILDKIT=0 docker build -q --build-arg BASE={shlex.quote(refs[spec.base])} "
                      f"-t {shlex.quote(refs[name])} {shlex.quote(context)}", timeout=timeout)


def _joined(first: CommandResult | None, then: CommandResult) -> CommandResult:
    if first is None:
        return then
    return CommandResult(f"{first.command} && {then.command}", then.exit_code, first.stdout + then.stdout,
                         first.stderr + then.stderr, first.seconds + then.seconds)


def builder_script() -> str:
    return (provision_dir() / "images" / "build-lab-images.sh").read_text()


def offline_recipe() -> str:
    return hashlib.sha256(builder_script().encode()).hexdigest()[:16]


def build_offline(remote: Remote, offline_names: list[str], timeout: float = 300) -> CommandResult:
    """Builds stand-in images inside the machine (skipping those of the current recipe)."""
    remote.write_file(BUILDER, builder_script(), mode="0755")
    return remote.run(f"{BUILDER} {OFFLINE_PREFIX} {offline_recipe()} " + " ".join(offline_names),
                      timeout=timeout)
