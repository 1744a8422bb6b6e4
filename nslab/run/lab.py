"""One lab run: machines up, the scenario on each, the run directory, machines disposed of."""
from __future__ import annotations

import fcntl
import os
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..config.lab import Box, Lab
from ..config.scenario import Scenario
from ..daemon.modes import wait_ready
from ..daemon.styles import config_style
from ..errors import ArtifactsError, ConfigError, MachineError, NslabError
from ..judge.verdict import JUDGED_OK, Status
from ..machines.base import DEFAULT_INSTANCE, Instance
from ..machines.connection import Remote
from ..machines.vagrant import VagrantMachine
from ..paths import artifacts_dir, state_dir
from .layout import RunDir
from .machine import MachineRun, StepOutcome
from .material import material_files


@dataclass
class LabResult:
    run_path: Path
    status: str
    seconds: float
    outcomes: list[StepOutcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.status == "interrupted":
            return 130
        return 0 if self.status == "passed" else 1


class InstanceBusy(ConfigError):
    def __init__(self, instance: str, holder: str):
        super().__init__(f"the machines of instance '{instance}' are in use by {holder}; "
                         f"use --instance NAME to run beside it")
        self.holder = holder


@contextmanager
def instance_lock(instance: Instance):
    """One run at a time per instance: a second one is refused at once, with who holds it."""
    folder = state_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / f"{instance.name}.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise InstanceBusy(instance.name, holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    try:
        yield
    finally:
        handle.close()


def run_lab(scenario: Scenario, lab: Lab, boxes: list[Box], destroy: str, docker_url: str,
            instance: Instance = DEFAULT_INSTANCE, log=print, extra_manifest: dict | None = None,
            allow_live_user: bool = False) -> LabResult:
    """Runs the scenario on each box in turn; artifacts and manifest are kept whatever happens."""
    with instance_lock(instance):
        return _run_lab(scenario, lab, boxes, destroy, docker_url, instance, log, extra_manifest,
                        allow_live_user)


def _run_lab(scenario, lab, boxes, destroy, docker_url, instance, log, extra_manifest,
             allow_live_user) -> LabResult:
    started = time.monotonic()
    run = RunDir.create(artifacts_dir(), scenario.name, scenario_text=scenario.path.read_text(),
                        destroy_policy=destroy,
                        scenario_file=str(scenario.path), instance=instance.name, **(extra_manifest or {}))
    for relative, content in material_files(scenario).items():
        run.write(relative, content)        # beside the scenario copy, as beside the scenario
    log(f"run {run.run_id}: artifacts in {run.path}")
    outcomes: list[StepOutcome] = []
    machines: list[VagrantMachine] = []
    status, broke = "error", True
    try:
        for box in boxes:
            machine = VagrantMachine(box, docker_url, log_dir=run.path / box.name, instance=instance)
            machines.append(machine)
            outcomes += _run_on(machine, box, scenario, run, lab, log, allow_live_user)
        status = "passed" if outcomes and all(o.status in JUDGED_OK for o in outcomes) else "failed"
        broke = any(o.status in (Status.ERROR, Status.NOT_RUN) for o in outcomes)
    except KeyboardInterrupt:
        status = "interrupted"
        log("interrupted: keeping the artifacts written so far")
        raise
    except NslabError as exc:
        run.manifest["error"] = str(exc)
        log(f"error: {exc}")
    except Exception as exc:  # a defect or an unforeseen failure: still keep the run and dispose
        run.manifest["error"] = f"unexpected {type(exc).__name__}: {exc}"
        try:
            run.write("traceback.txt", traceback.format_exc())
            log(f"error: unexpected {type(exc).__name__}: {exc} (traceback in {run.path / 'traceback.txt'})")
        except ArtifactsError:
            log(f"error: unexpected {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    finally:
        seconds = round(time.monotonic() - started, 1)
        run.manifest["seconds"] = seconds
        try:
            _dispose(machines, destroy, status, broke, log, run)
        finally:
            try:
                run.finish(status)      # after disposal: Vagrant's logs in the run are final, then digested
            except ArtifactsError as exc:
                log(f"error: {exc}; the manifest's last version stands, with every file it lists")
    return LabResult(run.path, status, seconds, outcomes)


def _run_on(machine: VagrantMachine, box: Box, scenario: Scenario, run: RunDir, lab: Lab,
            log, allow_live_user: bool) -> list[StepOutcome]:
    style = config_style(box.config_style)
    record = run.machine(box.name)
    record.update({"box": box.name, "distro": box.distro, "provider": box.provider,
                   "config_style": style.name, "lab_images": box.lab_images, "status": "starting",
                   # What the machine is called by its provider: a container, or a libvirt domain.
                   machine.provider.machine_kind: f"{machine.instance.prefix}-{box.name}"})
    run.save_manifest()
    log(f"[{box.name}] vagrant up ({box.provider})")
    record["up_seconds"] = round(machine.up(log=log), 1)
    run.adopt(box.name)        # Vagrant's logs of the bring-up
    endpoint = machine.ssh_endpoint()
    # The key's path, never its content, goes into the artifacts.
    record["ssh"] = {"host": endpoint.host, "port": endpoint.port, "user": endpoint.user,
                     "key_file": endpoint.key_file}
    connecting = time.monotonic()
    remote = Remote(endpoint).open()
    try:
        # sshd answers before the box's init has started dockerd.
        wait_ready(remote, timeout=120)
        record["connect_seconds"] = round(time.monotonic() - connecting, 2)
        version = remote.docker.version()
        record.update({
            "os": remote.check("sh -c '. /etc/os-release && echo \"$PRETTY_NAME\"'").strip(),
            "kernel": remote.check("uname -r").strip(),
            "docker_version": version.get("Version"),
            "docker_api_version": version.get("ApiVersion"),
            "status": "running",
        })
        run.save_manifest()
        outcomes = MachineRun(scenario, run, box.name, remote, style, box.lab_images,
                              known_limits=lab.known_limits(box), log=log,
                              allow_live_user=allow_live_user).execute()
        record["status"] = "done"
        run.save_manifest()
        return outcomes
    finally:
        remote.close()


def _dispose(machines: list[VagrantMachine], policy: str, status: str, broke: bool, log, run: RunDir) -> None:
    destroy = {"always": True, "never": False, "passing": status == "passed", "on-error": broke}[policy]
    for machine in machines:
        if destroy:
            started = time.monotonic()
            try:
                machine.destroy(log=log)
                run.machine(machine.name)["destroy_seconds"] = round(time.monotonic() - started, 2)
            except MachineError as exc:
                log(f"error: {exc}")
        else:
            log(f"[{machine.name}] kept running (--destroy {policy}); `invoke down` removes it")
