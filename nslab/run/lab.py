"""One lab run: machines up, the scenario on each, the run directory, machines disposed of."""
from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..config.lab import Box, Inventory
from ..config.scenario import Scenario
from ..daemon.install import install_docker
from ..daemon.modes import wait_ready
from ..daemon.styles import config_style
from ..errors import ArtifactsError, ConfigError, MachineError, NslabError
from ..judge.verdict import JUDGED_OK, Status
from ..machines.base import DEFAULT_INSTANCE, Instance, Machine
from ..machines.connection import HostKeyRefused, Remote
from ..machines.providers import PROVIDERS
from ..paths import artifacts_dir, state_dir
from . import restore
from .layout import RunDir, StepFiles
from .machine import MachineRun, StepOutcome
from .material import material_files


@dataclass
class LabResult:
    run_path: Path
    status: str
    seconds: float
    outcomes: list[StepOutcome] = field(default_factory=list)
    #: Existing hosts not verified as found after the run, with why.
    unrestored: dict[str, str] = field(default_factory=dict)
    refused: bool = False

    @property
    def exit_code(self) -> int:
        if self.unrestored or self.refused:
            return 2
        if self.status == "interrupted":
            return 130
        return 0 if self.status == "passed" else 1


@dataclass(frozen=True)
class HostOptions:
    """What a run may do on an existing host."""
    accept_new_host_key: bool = False
    allow_disruption: bool = False


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


def run_lab(scenario: Scenario, lab: Inventory, boxes: list[Box], destroy: str, docker_url: str,
            instance: Instance = DEFAULT_INSTANCE, log=print, matrix: str | None = None,
            allow_live_user: bool = False, hosts: HostOptions = HostOptions()) -> LabResult:
    """Runs the scenario on each box in turn; artifacts and manifest are kept whatever happens."""
    with instance_lock(instance):
        return _run_lab(scenario, lab, boxes, destroy, docker_url, instance, log, matrix,
                        allow_live_user, hosts)


def _run_lab(scenario, lab, boxes, destroy, docker_url, instance, log, matrix,
             allow_live_user, hosts) -> LabResult:
    started = time.monotonic()
    run = RunDir.create(artifacts_dir(), scenario.name, scenario_text=scenario.path.read_text(),
                        instance=instance.name, matrix=matrix, destroy_policy=destroy,
                        scenario_file=str(scenario.path))
    for relative, content in material_files(scenario).items():
        run.write(relative, content)        # beside the scenario copy, as beside the scenario
    log(f"run {run.run_id}: artifacts in {run.path}")
    outcomes: list[StepOutcome] = []
    machines: list[Machine] = []
    status, broke = "error", True
    try:
        for box in boxes:
            provider = PROVIDERS[box.provider]
            machine = provider.machine(box, docker_url, run.path / box.name, instance)
            if provider.existing_host:
                machine.accept_new_host_key = hosts.accept_new_host_key
            machines.append(machine)
            outcomes += _run_on(machine, box, scenario, run, lab, log, allow_live_user, hosts)
        status = "passed" if outcomes and all(o.status in JUDGED_OK for o in outcomes) else "failed"
        broke = any(o.status in (Status.ERROR, Status.NOT_RUN) for o in outcomes)
    except KeyboardInterrupt:
        status = "interrupted"
        log("interrupted: keeping the artifacts written so far")
        raise
    except NslabError as exc:
        run.manifest.error = str(exc)
        # A host that refuses (its key, sudo, what the lab would destroy): nothing was changed.
        run.manifest.refused = isinstance(exc, (restore.HostRefused, HostKeyRefused))
        log(f"error: {exc}")
    except Exception as exc:  # a defect or an unforeseen failure: still keep the run and dispose
        run.manifest.error = f"unexpected {type(exc).__name__}: {exc}"
        try:
            run.write("traceback.txt", traceback.format_exc())
            log(f"error: unexpected {type(exc).__name__}: {exc} (traceback in {run.path / 'traceback.txt'})")
        except ArtifactsError:
            log(f"error: unexpected {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    finally:
        seconds = round(time.monotonic() - started, 1)
        run.manifest.seconds = seconds
        try:
            _dispose(machines, destroy, status, broke, log, run)
        finally:
            try:
                run.finish(status)      # after disposal: Vagrant's logs in the run are final, then digested
            except ArtifactsError as exc:
                log(f"error: {exc}; the manifest's last version stands, with every file it lists")
    unrestored = {name: record.restore_said() for name, record in run.manifest.machines.items()
                  if not record.restored_as_found}
    return LabResult(run.path, status, seconds, outcomes, unrestored, bool(run.manifest.refused))


def _run_on(machine: Machine, box: Box, scenario: Scenario, run: RunDir, lab: Inventory,
            log, allow_live_user: bool, hosts: HostOptions) -> list[StepOutcome]:
    style = config_style(box.config_style)
    record = run.machine(box.name)
    record.box, record.distro, record.provider = box.name, box.distro, box.provider
    record.config_style, record.status = style.name, "starting"
    record.extra["lab_images"] = box.lab_images
    record.called_by(machine.provider.machine_kind, machine.called)
    run.save_manifest()
    existing = PROVIDERS[box.provider].existing_host
    if not existing:
        log(f"[{box.name}] vagrant up ({box.provider})")
    record.up_seconds = round(machine.up(log=log), 1)
    run.adopt(box.name)        # Vagrant's logs of the bring-up
    endpoint = machine.ssh_endpoint()
    # The key's path, never its content, goes into the artifacts.
    record.ssh = {"host": endpoint.host, "port": endpoint.port, "user": endpoint.user,
                  "key_file": endpoint.key_file}
    connecting = time.monotonic()
    remote = Remote(endpoint).open(attempts_until=10 if existing else 60)
    try:
        record.ssh["host_key"] = remote.host_key
        if existing:
            with left_as_found(remote, box, scenario, run, hosts, log):
                return _run_machine(remote, box, scenario, run, lab, log, allow_live_user, connecting)
        return _run_machine(remote, box, scenario, run, lab, log, allow_live_user, connecting)
    finally:
        remote.close()


@contextmanager
def left_as_found(remote: Remote, box: Box, scenario: Scenario, run: RunDir, hosts: HostOptions, log):
    """An existing host: checked, its state recorded and a restore bundle kept on it before anything
    changes; restored and verified after, whatever happened in between."""
    address = str(remote.endpoint)
    record = run.machine(box.name)
    if not remote.run("true", sudo=True).ok:
        said = remote.run("sudo -n true").output.strip().splitlines()
        raise restore.HostRefused(f"host {address}: passwordless sudo is required, and `sudo -n true` said: "
                                  f"{said[-1] if said else 'nothing'}")
    try:
        pending = restore.restore_pending(remote, address, _prefixed(box.name, log))
    except restore.HostRefused:
        raise
    except Exception as exc:       # the host is in the state the earlier run left it in
        record.restored = f"not done: the bundle of an earlier run did not restore it: {_said(exc)}"
        raise MachineError(f"host {address}: {record.restored}") from None
    if pending is not None and pending[1]:
        record.restored = {"differences": pending[1]}
        raise MachineError(f"host {address}: the bundle of run {pending[0].get('run')} did not restore it: "
                           f"{'; '.join(pending[1])}")
    restore.refuse_stopped_service(remote, address)
    wait_ready(remote, timeout=120)
    before = restore.read_state(remote, box.config_style, restore.lab_paths(scenario))
    restore.refuse_what_would_be_lost(before, scenario, address, hosts.allow_disruption)
    style = config_style(box.config_style)
    restore.refuse_own_options(style.read(remote), style.location, address)
    restore.save_bundle(remote, before, restore.owner_tag(run.run_id))
    run.write(StepFiles.machine_file(box.name, "host-before.json"), before.to_json())
    record.restored = "pending"
    run.save_manifest()
    log(f"[{box.name}] {address}: state recorded and a restore bundle kept on the host "
        f"({len(before.files)} files, {len(before.images)} images, {len(before.containers)} containers)")
    try:
        yield
    finally:
        with _interrupts_deferred(log):
            record.restored = _restore(remote, box, before, run, log)
            run.save_manifest()


def _restore(remote: Remote, box: Box, before, run: RunDir, log) -> str | dict:
    """'verified', the differences left, or why it could not be done."""
    try:
        after, left = restore.restore_and_verify(remote, before, log=_prefixed(box.name, log))
    except Exception as exc:     # the connection gone, the daemon not answering: the bundle stays
        log(f"[{box.name}] error: the host was not restored: {_said(exc)}; `invoke restore --host "
            f"{remote.endpoint} --identity {remote.endpoint.key_file}` restores it from the bundle kept on it")
        return f"not done: {_said(exc)}"
    run.write(StepFiles.machine_file(box.name, "host-after.json"), after.to_json())
    if left:
        for line in left:
            log(f"[{box.name}] not as found: {line}")
        return {"differences": left}
    log(f"[{box.name}] restored and verified: files, users, data-root, security options, images and "
        f"containers as found")
    return "verified"


def _said(exc: Exception) -> str:
    if isinstance(exc, NslabError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


@contextmanager
def _interrupts_deferred(log):
    """A Ctrl-C while the host is restored would leave it half done: it waits for the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []

    def later(signum, frame):
        caught.append(signum)
        log("Ctrl-C: restoring the host first")

    previous = signal.signal(signal.SIGINT, later)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _prefixed(name: str, log):
    return lambda text: log(f"[{name}] {text}")


def _run_machine(remote: Remote, box: Box, scenario: Scenario, run: RunDir, lab: Inventory, log,
                 allow_live_user: bool, connecting: float) -> list[StepOutcome]:
    record = run.machine(box.name)
    style = config_style(box.config_style)
    if box.docker == "install":
        record.docker_install = install_docker(remote, scenario, box.docker_packages, log=_prefixed(box.name, log))
        run.save_manifest()
    # sshd answers before the box's init has started dockerd.
    wait_ready(remote, timeout=120)
    record.connect_seconds = round(time.monotonic() - connecting, 2)
    version = remote.docker.version()
    record.os = remote.check("sh -c '. /etc/os-release && echo \"$PRETTY_NAME\"'").strip()
    record.kernel = remote.check("uname -r").strip()
    record.docker_version, record.docker_api_version = version.get("Version"), version.get("ApiVersion")
    record.status = "running"
    run.save_manifest()
    outcomes = MachineRun(scenario, run, box.name, remote, style, box.lab_images,
                          known_limits=lab.known_limits(box), log=log,
                          allow_live_user=allow_live_user).execute()
    record.status = "done"
    run.save_manifest()
    return outcomes


def _dispose(machines: list[Machine], policy: str, status: str, broke: bool, log, run: RunDir) -> None:
    destroy = {"always": True, "never": False, "passing": status == "passed", "on-error": broke}[policy]
    for machine in machines:
        if PROVIDERS[machine.box.provider].existing_host:
            continue        # someone's own: left as found, never destroyed
        if destroy:
            started = time.monotonic()
            try:
                machine.destroy(log=log)
                run.machine(machine.name).destroy_seconds = round(time.monotonic() - started, 2)
            except MachineError as exc:
                log(f"error: {exc}")
        else:
            log(f"[{machine.name}] kept running (--destroy {policy}); `invoke down` removes it")
