"""Lab machines of the project's Vagrantfile, driven by python-vagrant."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import vagrant

from ..config.lab import Box
from ..errors import ArtifactsError, MachineError
from ..paths import PROJECT_ROOT, state_dir, vagrant_home
from ..run.layout import write_json
from .base import DEFAULT_INSTANCE, Instance, Machine, SshEndpoint
from .inventory import load_lab
from .providers import PROVIDERS


def vagrant_settings_path(instance: Instance) -> Path:
    return state_dir() / "vagrant" / f"{instance.name}.json"


def write_vagrant_settings(instance: Instance = DEFAULT_INSTANCE) -> Path:
    """The machines of lab.yaml as the Vagrantfile applies them, resolved by each box's provider."""
    lab = load_lab()
    machines = []
    for box in lab.boxes.values():
        if PROVIDERS[box.provider].existing_host:
            continue
        settings = PROVIDERS[box.provider].vagrant_settings(box, lab, instance)
        machines.append({"name": box.name, "provider": box.provider, "box": settings.get("box"),
                         "options": settings["options"], "ssh": settings.get("ssh", {}),
                         "forwarded_ssh_port": settings.get("forwarded_ssh_port")})
    path = vagrant_settings_path(instance)
    # Container machines boot in seconds; the fault suite shortens this further.
    write_json(path, {"boot_timeout": int(os.environ.get("NSLAB_BOOT_TIMEOUT", "180")), "machines": machines})
    return path


def vagrant_env(docker_url: str, instance: Instance = DEFAULT_INSTANCE) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DOCKER_HOST": docker_url,
        "VAGRANT_HOME": str(vagrant_home()),
        # Vagrant would otherwise ask HashiCorp's servers for updates.
        "VAGRANT_CHECKPOINT_DISABLE": "1",
        "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1",
        "VAGRANT_NO_COLOR": "1",
        "LIBVIRT_DEFAULT_URI": "qemu:///system",
        "NSLAB_VAGRANT_SETTINGS": str(write_vagrant_settings(instance)),
    })
    env.update(instance.env())
    return env


# Vagrant's docker provider, when a container it listed is gone by the time it inspects it.
VANISHED_CONTAINER = re.compile(r'Command: \["docker", "inspect", "[0-9a-f]{12,64}".*No such object', re.S)


class VagrantMachine(Machine):
    """A machine of the project's Vagrantfile, driven by python-vagrant."""

    def __init__(self, box: Box, docker_url: str, log_dir: Path | None = None,
                 instance: Instance = DEFAULT_INSTANCE):
        super().__init__(box)
        self.instance = instance
        self.log_dir = log_dir or state_dir() / "logs" / instance.name
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._stderr_path = self.log_dir / f"vagrant-{box.name}.err"
        self._vagrant = vagrant.Vagrant(
            root=str(PROJECT_ROOT), env=vagrant_env(docker_url, instance),
            err_cm=vagrant.make_file_cm(str(self._stderr_path), mode="w"),
        )

    @property
    def called(self) -> str:
        return f"{self.instance.prefix}-{self.box.name}"

    def _prepare(self, log=print) -> None:
        """What the provider sets up first, then the settings the Vagrantfile reads, anew."""
        self.provider.prepare(self, log)
        write_vagrant_settings(self.instance)

    def up(self, log=print) -> float:
        started = time.monotonic()
        self._prepare(log)
        out_path = self.log_dir / f"vagrant-up-{self.name}.log"
        for attempt in (1, 2):
            try:
                with open(out_path, "a") as out:
                    for line in self._vagrant.up(vm_name=self.name, provider=self.box.provider,
                                                 stream_output=True):
                        out.write(line)
                        text = line.strip()
                        if text.startswith(f"==> {self.name}:"):
                            log(f"vagrant: {text[4:]}")
                break
            except OSError as exc:          # the log beside the run cannot be written (a full disk)
                raise ArtifactsError(f"cannot write {out_path}: {exc.strerror or exc}") from None
            except subprocess.CalledProcessError:
                error = self._last_error()
                if attempt == 1 and VANISHED_CONTAINER.search(error):
                    # Vagrant's docker provider inspects every container on the host for port
                    # collisions; one that a machine beside it destroyed in between fails that
                    # inspect before anything of this machine was created. Once more is enough.
                    log(f"vagrant: a container vanished during Vagrant's port check; bringing {self.name} up again")
                    continue
                raise MachineError(f"vagrant up {self.name} failed: {error} (log: {out_path})") from None
        return time.monotonic() - started

    def status(self) -> str:
        try:
            states = self._vagrant.status(vm_name=self.name)
        except subprocess.CalledProcessError:
            raise MachineError(f"vagrant status {self.name} failed: {self._last_error()}") from None
        return states[0].state if states else "unknown"

    def ssh_endpoint(self) -> SshEndpoint:
        # A relay (libvirt) may be gone since the bring-up; nothing to do for other providers.
        self._prepare(log=lambda _: None)
        try:
            conf = self._vagrant.conf(vm_name=self.name)
        except subprocess.CalledProcessError:
            raise MachineError(f"vagrant ssh-config {self.name} failed: {self._last_error()}") from None
        key = conf.get("IdentityFile", "").strip('"')
        return SshEndpoint(host=conf["HostName"], port=int(conf["Port"]), user=conf["User"], key_file=key)

    def destroy(self, log=print) -> None:
        self.provider.before_vagrant(self.instance, log)
        try:
            self._vagrant.destroy(vm_name=self.name)
        except subprocess.CalledProcessError:
            raise MachineError(f"vagrant destroy {self.name} failed: {self._last_error()}") from None
        self.provider.after_destroy(self)
        log(f"vagrant: {self.name} destroyed")
        self.forget_instance()

    def forget_instance(self) -> None:
        """Drops an instance's Vagrant state once none of its machines exists."""
        folder = self.instance.dotfile_path
        if folder is not None and not any((folder / "machines").glob("*/*/id")):
            shutil.rmtree(folder, ignore_errors=True)

    def _last_error(self) -> str:
        """The start of Vagrant's error message (its first lines say what went wrong)."""
        try:
            text = self._stderr_path.read_text(errors="replace")
            lines = [each.strip() for each in text.splitlines() if each.strip()]
        except OSError:
            return "no error output"
        return " ".join(lines)[:400] or "no error output"


def machine_states(docker_url: str, instance: Instance = DEFAULT_INSTANCE) -> dict[str, str]:
    """State of every machine of an instance, from one `vagrant status`."""
    if instance.dotfile_path is not None and not instance.dotfile_path.exists():
        return {}           # forgotten meanwhile with its last machine: asking Vagrant would make it again
    for provider in PROVIDERS.values():
        provider.before_vagrant(instance, log=lambda _: None)
    runner = vagrant.Vagrant(root=str(PROJECT_ROOT), env=vagrant_env(docker_url, instance))
    try:
        return {status.name: status.state for status in runner.status()}
    except subprocess.CalledProcessError as exc:
        raise MachineError(f"vagrant status failed (instance {instance.name}, status {exc.returncode})") from None


def listed_states(docker_url: str, instance: Instance) -> dict[str, str]:
    """machine_states for commands that list machines (`status`, `login`): another instance's run
    may be creating or destroying its machine at this very moment (a matrix cell), and Vagrant then
    fails to say; that instance's machines are the run's, and are left out of the list."""
    try:
        return machine_states(docker_url, instance)
    except MachineError:
        if instance.is_default:
            raise
        return {}
