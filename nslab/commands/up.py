"""`invoke up`: one scenario on fresh or running machines, or on existing hosts."""
from __future__ import annotations

import re
from pathlib import Path

from ..config.lab import Box
from ..config.scenario import load_scenario
from ..errors import ConfigError
from ..machines.inventory import load_lab, unavailable_reason
from . import judge
from .common import (
    NO_HOSTS,
    HostTargets,
    check_destroy,
    check_provider,
    console,
    host_docker_for,
    log,
    parse_boxes,
    using_host_services,
)


@using_host_services
def execute(scenario_name: str, box_names: str | None = None, destroy: str = "on-error",
            instance_name: str | None = None, allow_live_user: bool = False, provider: str | None = None,
            prove: bool = False, hosts: HostTargets = NO_HOSTS, docker_packages: str | None = None) -> int:
    """Runs a scenario; returns the process exit status.
    With `prove`, the run is then mutation-proved as `invoke judge --mutate` does."""
    from ..machines.base import DEFAULT_INSTANCE, Instance, free_loopback_port
    from ..machines.boxes import build_box
    from ..report.table import print_outcomes
    from ..run.lab import run_lab

    check_destroy(destroy)
    check_provider(provider)
    scenario = load_scenario(scenario_name)
    lab = load_lab()
    boxes = parse_boxes(box_names, lab, provider, hosts)
    if docker_packages:
        boxes = _with_docker_packages(boxes, docker_packages)
    # A port nslab chose free, even for the default instance: another clone may be creating a
    # machine at this moment, and Vagrant's 2222 would race it.
    instance = Instance(instance_name or DEFAULT_INSTANCE.name, ssh_port=free_loopback_port())
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", instance.name):
        raise ConfigError(f"--instance {instance.name}: use lowercase letters, digits and dashes")
    for box in boxes:
        reason = unavailable_reason(box)
        if reason:
            raise ConfigError(f"box {box.name} is not available here: {reason}")
    url = host_docker_for(boxes)
    for box in boxes:
        build_box(box, url, log=log)
    try:
        result = run_lab(scenario, lab, boxes, destroy, url, instance=instance, log=log,
                         allow_live_user=allow_live_user, hosts=hosts.options())
    except KeyboardInterrupt:
        return 130
    if result.outcomes:
        print_outcomes(console, result.outcomes, f"{scenario.name}: {scenario.title}")
    log(f"run {result.run_path.name}: {result.status} ({result.seconds}s); artifacts in {result.run_path}")
    for name, why in result.unrestored.items():
        log(f"{name}: NOT left as found: {why}")
    if prove and result.outcomes:
        from ..judge.run import judge_run

        judgement = judge_run(result.run_path)
        proof = judge.prove(judgement)
        judge.write_judgement(judgement, proof)
        if proof.unshown:
            return max(result.exit_code, 1)
    return result.exit_code


def _with_docker_packages(boxes: list[Box], folder: str) -> list[Box]:
    """The boxes that install Docker take it from this folder of .deb files."""
    path = Path(folder).expanduser()
    if not path.is_dir() or not any(path.glob("*.deb")):
        raise ConfigError(f"--docker-packages {folder}: expected a folder of .deb files")
    if not any(box.docker == "install" for box in boxes):
        raise ConfigError(f"--docker-packages: none of {', '.join(b.name for b in boxes)} installs Docker "
                          f"(lab.yaml: docker: install)")
    return [box.model_copy(update={"docker_packages": str(path.resolve())}) if box.docker == "install" else box
            for box in boxes]
