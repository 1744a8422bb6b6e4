"""The fault suite: real faults injected into real machines, and bad inputs, with a summary.

Every fault runs on machines of its own instance, so nothing here can disturb
the project's machines, and every machine it starts is destroyed at the end.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker

from ..config.lab import Inventory
from ..daemon.modes import DaemonMode, apply_mode, wait_ready
from ..daemon.styles.daemon_json import DaemonJsonStyle
from ..errors import ConfigError, DaemonError, MachineError
from ..judge.verdict import Status
from ..machines import hostvirt
from ..machines.base import Instance, free_loopback_port
from ..machines.connection import Remote
from ..machines.hostdocker import own_daemon_running, own_pidfile, own_socket_url, start_own_daemon
from ..machines.hostshare import HOST_SERVICES, host_lock
from ..machines.pidfiles import alive, read_pid, terminate
from ..machines.vagrant import VagrantMachine
from ..paths import INVOKE, PROJECT_ROOT, artifacts_dir, state_dir
from ..poll import poll_until
from ..run.images import build_offline
from ..run.layout import RunView

PREFIX = "faults"
# Room for a run's first steps, far from the whole run (about 1 MB for userns).
FULL_TMPFS_KIB = 300
# Short steps with short timeouts, one mode: a VM fault needs a run in progress, not the whole lab.
VM_FAULT_SCENARIO = "tests/scenarios/short.yaml"


class NotInjected(Exception):
    """The fault could not be put in place (the moment passed, the target was not there): reported as
    such, never as a failure of the lab, nor as a fault survived."""


@dataclass
class Outcome:
    name: str
    survived: bool
    detail: str
    injected: bool = True


@dataclass
class Summary:
    faults: list[Outcome] = field(default_factory=list)
    bad_inputs: list[Outcome] = field(default_factory=list)
    artifacts_lost: int = 0
    machines_left: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        injected = [f for f in self.faults if f.injected]
        return {
            "faults_injected": len(injected),
            "faults_survived": sum(f.survived for f in injected),
            "faults_not_injected": len(self.faults) - len(injected),
            "artifacts_lost": self.artifacts_lost,
            "machines_left_behind": len(self.machines_left),
            "bad_inputs_tried": len(self.bad_inputs),
            "bad_inputs_rejected_cleanly": sum(b.survived for b in self.bad_inputs),
            "faults": [vars(f) for f in self.faults],
            "bad_inputs": [vars(b) for b in self.bad_inputs],
            "machines_left": self.machines_left,
        }


class FaultSuite:
    def __init__(self, lab: Inventory, docker_url: str, log=print):
        self.lab = lab
        self.box = lab.box("debian12")
        self.docker_url = docker_url
        self.log = log
        self.summary = Summary()
        self.tag = f"{PREFIX}{os.getpid()}"

    # --- helpers ------------------------------------------------------------
    def _instance(self, name: str) -> Instance:
        return Instance(f"{self.tag}-{name}", ssh_port=free_loopback_port())

    def _invoke(self, *args, timeout=900, **popen):
        return subprocess.run([INVOKE, *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, **popen)

    def _record(self, kind: list, name: str, check) -> None:
        try:
            survived, detail = check()
        except NotInjected as exc:
            kind.append(Outcome(name, False, str(exc), injected=False))
            self.log(f"COULD NOT INJECT: {name}: {exc}")
            return
        except Exception as exc:   # a fault that escapes its check is a fault not survived
            survived, detail = False, f"unexpected {type(exc).__name__}: {exc}"
        kind.append(Outcome(name, survived, detail))
        self.log(f"{'survived' if survived else 'NOT SURVIVED'}: {name}: {detail}")

    def _alone(self, fault):
        with HOST_SERVICES.exclusive(self.log):
            return fault()

    def _lost_artifacts(self, run_path: Path) -> int:
        """Files the run recorded that are now missing or changed (their digests), and steps the
        manifest lists as judged whose command, outputs or record cannot be read, added to the
        summary's count. A step whose machine or connection was cut under it never wrote its record:
        nothing of it was lost."""
        view = RunView(run_path)
        integrity = view.verify()
        lost = len(integrity.missing) + len(integrity.changed)
        recorded = view.manifest.get("artifacts") or {}
        for ref in view.all_steps():
            # A step cut by its machine or connection (an error the run never got to record) wrote
            # no record: nothing of it can be lost. A step whose record the run wrote must read back.
            cut = ref.status == Status.ERROR and ref.files.file("json") not in recorded
            if ref.status == Status.NOT_RUN or cut:
                continue
            for suffix in ("cmd", "stdout", "stderr", "json"):
                try:
                    readable = view.read_text(ref.files.file(suffix)) is not None and (
                        suffix != "json" or view.step_record(ref) is not None)
                except ConfigError:
                    readable = False
                lost += not readable
        self.summary.artifacts_lost += lost
        return lost

    # --- the suite ----------------------------------------------------------
    def run(self) -> Summary:
        machine = VagrantMachine(self.box, self.docker_url, instance=self._instance("shared"))
        try:
            machine.up(log=lambda _: None)
            remote = Remote(machine.ssh_endpoint()).open()
            try:
                wait_ready(remote)
                build_offline(remote, ["alpine"])
                self._record(self.summary.faults, "daemon refuses a mode", lambda: self.refused_mode(remote))
                self._record(self.summary.faults, "dockerd killed mid-step", lambda: self.dockerd_killed(remote))
                self._record(self.summary.faults, "sshd session killed mid-step",
                             lambda: self.sshd_killed(machine))
                self._record(self.summary.bad_inputs, "remap range overlapping /etc/subuid",
                             lambda: self.overlapping_range(remote))
            finally:
                remote.close()
        finally:
            machine.destroy(log=lambda _: None)
        self._record(self.summary.faults, "machine that fails to come up", self.broken_box)
        self._record(self.summary.faults, "Ctrl-C during a run", self.interrupted_run)
        self._record(self.summary.faults, "invoke down of the machine a run is using", self.down_during_run)
        # These two interrupt a host service every clone shares: held alone, after the other clones' work.
        self._record(self.summary.faults, "host Docker daemon restarted mid-run",
                     lambda: self._alone(self.host_daemon_restarted))
        self._record(self.summary.faults, "the artifacts' filesystem full mid-run", self.artifacts_full)
        self._record(self.summary.faults, "a VM's qemu killed mid-step", self.qemu_killed)
        self._record(self.summary.faults, "nslab's libvirtd killed mid-run", lambda: self._alone(self.libvirtd_killed))
        self._record(self.summary.faults, "two runs at once", self.concurrent_runs)
        for name, check in self.bad_input_checks():
            self._record(self.summary.bad_inputs, name, check)
        self.summary.machines_left = self.machines_left()
        return self.summary

    def refused_mode(self, remote: Remote):
        style = DaemonJsonStyle()
        apply_mode(remote, DaemonMode("standard"), style, log=lambda _: None)
        bad = DaemonMode("bogus", extra_options=(("bogus-option", True),))
        try:
            apply_mode(remote, bad, style, log=lambda _: None)
            return False, "the daemon accepted a bogus option"
        except DaemonError as exc:
            error, daemon_log = str(exc), exc.daemon_log
        restored = style.read(remote) == DaemonMode("standard").daemon_options()
        back = bool(remote.docker.ping())
        ok = "refused" in error and "bogus-option" in daemon_log and restored and back
        return ok, f"{error[:120]} | daemon log names the option: {'bogus-option' in daemon_log}; " \
                   f"last good config restored: {restored}; daemon back: {back}"

    def dockerd_killed(self, remote: Remote):
        killer = Remote(remote.endpoint).open()
        sleeper = f"{self.tag}-sleeper"

        def running() -> bool:
            return killer.run(f"docker inspect -f '{{{{.State.Running}}}}' {sleeper}").stdout.strip() == "true"

        def kill_mid_step() -> None:
            # Mid-step for certain: once the step's container runs, never after a guessed delay.
            if poll_until(running, 30, pause=0.1, max_pause=0.2):
                killed.append(killer.run("pkill -KILL -x dockerd", sudo=True).exit_code == 0)

        killed: list[bool] = []
        try:
            thread = threading.Thread(target=kill_mid_step, daemon=True)
            thread.start()
            started = time.monotonic()
            result = remote.run(f"docker run --rm --name {sleeper} nslab/alpine:offline sleep 30", timeout=60)
            thread.join()
            seconds = time.monotonic() - started
            if killed != [True]:
                raise NotInjected(f"dockerd was not killed while the step's container ran "
                                  f"(step exit {result.exit_code} after {seconds:.1f}s)")
            remote.reset_docker_api()
            wait_ready(remote, timeout=90)      # systemd restarts docker.service
            ok = result.exit_code != 0 and seconds < 30
            return ok, f"step ended with status {result.exit_code} after {seconds:.1f}s " \
                       f"({(result.stderr or result.stdout).strip()[-100:]}); daemon back"
        finally:
            killer.close()

    def sshd_killed(self, machine: VagrantMachine):
        endpoint = machine.ssh_endpoint()
        victim = Remote(endpoint).open()
        killer = Remote(endpoint).open()
        try:
            # The parent of a command's shell is the sshd process serving that whole connection.
            sshd = int(victim.check("sh -c 'ps -o ppid= -p $$'").strip())
            name = killer.check(f"ps -o args= -p {sshd}").strip()
            marker = f"{self.tag}-victim"

            def kill_mid_command() -> None:
                # Once the victim's command runs under that sshd, not after a guessed delay.
                if poll_until(lambda: killer.run(f"pgrep -f {marker}").exit_code == 0, 20, pause=0.1,
                              max_pause=0.2):
                    killer.run(f"kill -KILL {sshd}", sudo=True)

            threading.Thread(target=kill_mid_command, daemon=True).start()
            started = time.monotonic()
            try:
                victim.run(f"sh -c 'sleep 30; : {marker}'", timeout=60)
                return False, "the command outlived its sshd"
            except MachineError as exc:
                seconds = time.monotonic() - started
                fresh = Remote(endpoint).open()
                alive = fresh.check("echo ok").strip() == "ok"
                fresh.close()
                return seconds < 30 and alive, f"killed {name} ({sshd}); {exc} after {seconds:.1f}s; " \
                                               f"a new connection works: {alive}"
        finally:
            victim.close()
            killer.close()

    def overlapping_range(self, remote: Remote):
        before = remote.check("cat /etc/subuid /etc/subgid /etc/passwd /etc/docker/daemon.json", sudo=True)
        mode = DaemonMode("clash", userns_remap="clash", subid_start=100500, subid_count=100)
        try:
            apply_mode(remote, mode, DaemonJsonStyle(), log=lambda _: None)
            return False, "an overlapping range was accepted"
        except ConfigError as exc:
            unchanged = remote.check("cat /etc/subuid /etc/subgid /etc/passwd /etc/docker/daemon.json",
                                     sudo=True) == before
            return unchanged and "\n" not in str(exc), f"{exc}; machine unchanged: {unchanged}"

    def broken_box(self):
        host = docker.DockerClient(base_url=self.docker_url)
        broken = f"nslab/{self.tag}-broken:latest"
        dockerfile = f'FROM {self.box.image}:latest\nCMD ["/bin/false"]\n'.encode()
        with tempfile.TemporaryDirectory() as context:
            Path(context, "Dockerfile").write_bytes(dockerfile)
            host.images.build(path=context, tag=broken, pull=False, rm=True)
        instance = self._instance("broken")
        os.environ["NSLAB_IMAGE"] = broken
        os.environ["NSLAB_BOOT_TIMEOUT"] = "20"      # it will never boot: do not wait long
        try:
            machine = VagrantMachine(self.box, self.docker_url, instance=instance)
            try:
                machine.up(log=lambda _: None)
                return False, "a broken box came up"
            except MachineError as exc:
                error = str(exc)
            machine.destroy(log=lambda _: None)
            left = [c.name for c in host.containers.list(all=True) if c.name.startswith(instance.prefix)]
            return not left, f"up failed: {error[:100]}...; destroyed, containers left: {left}"
        finally:
            del os.environ["NSLAB_IMAGE"], os.environ["NSLAB_BOOT_TIMEOUT"]
            host.images.remove(broken, force=True)

    def _start_run(self, instance: str, *flags: str, scenario: str = "userns", steps: int = 3,
                   within: float = 300):
        """`invoke up` of a lab on an instance of its own, in the background; returns it once its
        run has recorded `steps` steps (with the run's folder), or once it ended."""
        before = set(artifacts_dir().glob("2*"))
        # A child of a background job inherits SIGINT as ignored: give it Ctrl-C back, as a
        # terminal's foreground job has it, or a Ctrl-C fault would never reach the run.
        process = subprocess.Popen([INVOKE, "up", f"scenario={scenario}", "--instance", instance, *flags],
                                   cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        run_path = None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and process.poll() is None:
            # The run's folder exists a moment before its manifest does: only a written manifest
            # (replaced whole, never half-written) says the run has begun.
            new = [p for p in set(artifacts_dir().glob("2*")) - before if (p / "manifest.json").is_file()]
            if new:
                run_path = new[0]
                machines = json.loads((run_path / "manifest.json").read_text()).get("machines", {})
                if any(len(m.get("steps", [])) >= steps for m in machines.values()):
                    break
            time.sleep(0.3)
        return process, run_path

    def interrupted_run(self):
        process, run_path = self._start_run(f"{self.tag}-sigint")
        if process.poll() is not None:
            raise NotInjected(f"the run ended (exit {process.returncode}) before Ctrl-C could be sent")
        os.killpg(process.pid, signal.SIGINT)         # what Ctrl-C sends: the whole group
        try:
            process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            return False, "the run did not stop within 120 s of Ctrl-C"
        if run_path is None:
            return False, "the run never recorded a step"
        manifest = json.loads((run_path / "manifest.json").read_text())
        steps = sum(len(m["steps"]) for m in manifest["machines"].values())
        lost = self._lost_artifacts(run_path)
        ok = process.returncode == 130 and manifest["status"] == "interrupted" and steps >= 3 and lost == 0
        return ok, f"exit {process.returncode}, manifest {manifest['status']}, {steps} steps kept, " \
                   f"{lost} artifacts lost"

    def down_during_run(self):
        instance = f"{self.tag}-down"
        process, run_path = self._start_run(instance, "--destroy", "always")
        if process.poll() is not None:
            raise NotInjected(f"the run ended (exit {process.returncode}) before `invoke down` could be tried")
        down = self._invoke("down", "--instance", instance, timeout=300)
        try:
            process.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            process.kill()
            return False, "the run did not finish within 600 s of `invoke down`"
        manifest = json.loads((run_path / "manifest.json").read_text())
        lost = self._lost_artifacts(run_path)
        said = next((line for line in down.stdout.splitlines() if "is in use by" in line), "")
        ok = down.returncode == 1 and f"is in use by pid {process.pid}" in said and process.returncode == 0 \
            and manifest["status"] == "passed" and lost == 0
        return ok, f"down exit {down.returncode} ({said.strip() or down.stdout.strip()[-200:]}); the run went " \
                   f"on: exit {process.returncode}, manifest {manifest['status']}, {lost} artifacts lost"

    def host_daemon_restarted(self):
        """nslab's own host dockerd stopped and started again while a run uses a machine on it. Under
        live-restore every other container machine must keep running; the run itself loses its SSH
        connection (the port's proxy restarts with the daemon) and must say so in one line, keep what it
        wrote, and still destroy its machine."""
        if self.docker_url != own_socket_url() or not own_daemon_running():
            raise NotInjected("the host daemon is not nslab's own; nslab never restarts another")
        host = docker.DockerClient(base_url=self.docker_url)
        if not host.info().get("LiveRestoreEnabled"):
            raise NotInjected("nslab's host daemon was started without --live-restore (by an older nslab): "
                              "`invoke down --host-daemon` first")
        witness = host.containers.run(f"{self.box.image}:latest", "600", entrypoint="sleep", detach=True,
                                      name=f"{self.tag}-witness", network_mode="none")
        try:
            process, run_path = self._start_run(f"{self.tag}-restart", "--destroy", "always")
            if process.poll() is not None or run_path is None:
                process.kill()
                raise NotInjected(f"the run ended (exit {process.returncode}) before the daemon could be restarted")
            machines = json.loads((run_path / "manifest.json").read_text())["machines"]
            own = {machine.get("container") for machine in machines.values()}
            running = {c.name for c in host.containers.list()} - own
            started = time.monotonic()
            # Held across the gap: a process finding no daemon meanwhile waits for this one to answer
            # instead of starting a second.
            with host_lock("docker-start", "host docker: the fault suite is restarting nslab's host daemon",
                           self.log):
                terminate(read_pid(own_pidfile()), 30)
                start_own_daemon(log=lambda _: None)
            restart = time.monotonic() - started
            host = docker.DockerClient(base_url=self.docker_url)
            stopped = sorted(name for name in running if self._state(host, name) not in ("running", "gone"))
            try:
                output, _ = process.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                process.kill()
                return False, "the run did not end within 600 s of the restart"
            manifest = json.loads((run_path / "manifest.json").read_text())
            lost = self._lost_artifacts(run_path)
            left = sorted(own & {c.name for c in host.containers.list(all=True)})
            said = next((text for machine in manifest["machines"].values()
                         for text in [machine.get("error") or ""] + [step["detail"] for step in machine["steps"]]
                         if "lost during" in text), manifest.get("error") or "")
            # The machine's published port goes through the daemon's proxy, which restarts with it: the run's
            # connection is always cut, and the run must say so and fail, never pass on it or hang.
            clear = "Traceback" not in output and process.returncode == 1 and bool(said)
            ok = not stopped and clear and lost == 0 and not left
            return ok, f"restarted in {restart:.1f}s; {len(running)} other containers, stopped by it: {stopped}; " \
                       f"the run: exit {process.returncode}, manifest {manifest['status']}, {lost} artifacts lost, " \
                       f"its machine left: {left}" + (f"; said: {said[:200]}" if said else "")
        finally:
            witness.remove(force=True)

    @staticmethod
    def _state(host, name: str) -> str:
        try:
            return host.containers.get(name).status
        except docker.errors.NotFound:
            return "gone"          # removed by its own run meanwhile, not stopped by the restart

    def artifacts_full(self):
        """The artifacts' filesystem full mid-run: a tmpfs far smaller than a run."""
        folder = Path(tempfile.mkdtemp(prefix="nslab-full-"))
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FULL_TMPFS_KIB}k", "nslab-full", str(folder)],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            folder.rmdir()
            raise NotInjected(f"cannot mount a {FULL_TMPFS_KIB} KiB tmpfs: {mounted.stderr.strip()[:200]}")
        try:
            process = self._invoke("up", "scenario=userns", "--instance", f"{self.tag}-full", timeout=600,
                                   env={**os.environ, "NSLAB_ARTIFACTS": str(folder)})
            runs = [p for p in folder.iterdir() if p.is_dir() and (p / "manifest.json").is_file()]
            if process.returncode == 0:
                raise NotInjected(f"the whole run fit in {FULL_TMPFS_KIB} KiB")
            if not runs:
                return False, f"exit {process.returncode}, no run kept: {process.stdout.strip()[-300:]}"
            manifest = json.loads((runs[0] / "manifest.json").read_text())
            steps = sum(len(m["steps"]) for m in manifest["machines"].values())
            lost = self._lost_artifacts(runs[0])
            output = process.stdout + process.stderr
            said = [line for line in output.splitlines() if "No space left on device" in line]
            ok = process.returncode == 1 and said and "Traceback" not in output and lost == 0
            return ok, f"exit {process.returncode}, {steps} steps kept, {lost} artifacts lost; said: " \
                       f"{said[0].strip()[:200] if said else output.strip()[-300:]}"
        finally:
            subprocess.run(["umount", str(folder)], capture_output=True)
            folder.rmdir()

    def _vm_run(self, name: str, *flags: str):
        """A short lab on a VM of its own instance, started; its run and the VM's libvirt domain."""
        missing = hostvirt.missing_tools()
        if missing:
            raise NotInjected(f"no VM here: {', '.join(missing)} not found")
        process, run_path = self._start_run(f"{self.tag}-{name}", "--box", "debian12", "--provider", "libvirt",
                                            *flags, scenario=VM_FAULT_SCENARIO, steps=2,
                                            within=900)      # the first may build the VM box
        if process.poll() is not None or run_path is None:
            process.kill()
            raise NotInjected(f"the VM's run ended (exit {process.returncode}) before the fault could be injected")
        machine = next(iter(json.loads((run_path / "manifest.json").read_text())["machines"].values()))
        return process, run_path, machine["domain"]

    def _vm_outcome(self, process, run_path: Path, domain: str) -> tuple[int, str, int, bool]:
        try:
            output, _ = process.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            process.kill()
            output = "(no end within 600 s)"
        lost = self._lost_artifacts(run_path)
        said = next((line.strip() for line in output.splitlines() if "error: " in line), "")
        hostvirt.ensure_libvirtd(log=lambda _: None)
        left = domain in hostvirt.virsh("list", "--all", "--name", check=False).stdout.split()
        return process.returncode, said, lost, left

    def qemu_killed(self):
        process, run_path, domain = self._vm_run("qemu")
        found = subprocess.run(["pgrep", "-f", f"guest={domain}"], capture_output=True, text=True).stdout.split()
        if not found:
            process.kill()
            raise NotInjected(f"no qemu process of domain {domain}")
        for pid in found:
            os.kill(int(pid), signal.SIGKILL)
        code, said, lost, left = self._vm_outcome(process, run_path, domain)
        status = json.loads((run_path / "manifest.json").read_text())["status"]
        ok = code == 1 and status in ("error", "failed") and said and lost == 0 and not left
        return ok, f"qemu of {domain} killed; the run: exit {code}, manifest {status}, {lost} artifacts lost, " \
                   f"domain left: {left}; said: {said[:200]}"

    def libvirtd_killed(self):
        process, run_path, domain = self._vm_run("virtd", "--destroy", "always")
        pid = read_pid("/run/libvirtd.pid")
        if hostvirt.libvirtd_netns() != hostvirt.NETNS or not alive(pid):
            process.kill()
            raise NotInjected("the libvirtd running is not nslab's own; nslab never kills another")
        os.kill(pid, signal.SIGKILL)
        code, said, lost, left = self._vm_outcome(process, run_path, domain)
        status = json.loads((run_path / "manifest.json").read_text())["status"]
        # The VM's qemu lives on without libvirtd and the run's SSH connection with it: the lab finishes;
        # its destroy needs libvirtd back, which nslab starts again.
        ok = code == 0 and status == "passed" and lost == 0 and not left and hostvirt.answers()
        return ok, f"nslab's libvirtd killed mid-run; the run: exit {code}, manifest {status}, {lost} artifacts " \
                   f"lost, domain left: {left}, libvirt answers again: {hostvirt.answers()}" + \
                   (f"; said: {said[:200]}" if said else "")

    def concurrent_runs(self):
        names = [f"{self.tag}-a", f"{self.tag}-b"]
        before = set(artifacts_dir().glob("2*"))
        processes = [subprocess.Popen([INVOKE, "up", "scenario=workshop", "--instance", name, "--destroy",
                                       "always"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
                     for name in names]
        # A third run on a busy instance is refused at once and changes nothing: tried once the
        # first run holds its instance (its lock names it), not after a guessed delay.
        lock = state_dir() / "locks" / f"{names[0]}.lock"
        holds = poll_until(lambda: lock.is_file() and lock.read_text().strip() == f"pid {processes[0].pid}",
                           120, pause=0.1, max_pause=0.5)
        if not holds:
            for process in processes:
                process.kill()
            raise NotInjected("the first run did not take its instance within 120 s")
        busy = self._invoke("up", "scenario=workshop", "--instance", names[0], timeout=120)
        outputs = [p.communicate(timeout=900)[0] for p in processes]
        runs = sorted(set(artifacts_dir().glob("2*")) - before)
        containers = set()
        for run in runs:
            manifest = json.loads((run / "manifest.json").read_text())
            containers |= {m.get("container") for m in manifest["machines"].values()}
            self._lost_artifacts(run)
        ok = (all(p.returncode == 0 for p in processes) and len(runs) == 2 and len(containers) == 2
              and busy.returncode == 2 and "in use by pid" in busy.stderr)
        detail = (f"exits {[p.returncode for p in processes]}, runs {[r.name for r in runs]}, "
                  f"machines {sorted(containers)}; run on a busy instance: exit {busy.returncode} "
                  f"({busy.stderr.strip()[:120]})")
        if not ok:
            detail += " | " + " | ".join(o[-300:] for o in outputs)
        return ok, detail

    def bad_input_checks(self):
        base = (PROJECT_ROOT / "scenarios" / "workshop.yaml").read_text()
        broken = {
            "malformed YAML": base.replace("modes:\n  root: {}", "modes:\n  root: {"),
            "unknown key": base.replace("    mode: root\n", "    mode: root\n    moode: root\n", 1),
            "missing field": base.replace("    title: the alpine image is present\n", "", 1),
            "unknown mode": base.replace("    mode: root\n", "    mode: rootless\n", 1),
            "shell metacharacters in a container name": base.replace(
                "  containers: [sleeper]", "  containers: ['sleeper; touch /tmp/pwned']"),
            "shell metacharacters in an image": base.replace(
                "alpine: {pull: alpine, offline: alpine}",
                "alpine: {pull: 'alpine; touch /tmp/pwned', offline: alpine}"),
        }
        folder = Path(tempfile.mkdtemp(prefix="nslab-bad-"))
        for name, text in broken.items():
            path = folder / f"{name.replace(' ', '-')}.yaml"
            path.write_text(text)
            yield name, lambda path=path: self._refused(["up", f"scenario={path}"], str(path))
        yield "unknown scenario", lambda: self._refused(["up", "scenario=no-such-lab"], "unknown scenario")
        yield "unknown box", lambda: self._refused(["up", "scenario=userns", "--box", "no-such-box"], "unknown box")
        yield "unknown destroy policy", lambda: self._refused(["up", "scenario=userns", "--destroy", "sometimes"],
                                                             "--destroy sometimes")

    def _refused(self, args: list[str], must_name: str):
        before = sorted(p.name for p in artifacts_dir().glob("*"))
        result = self._invoke(*args, timeout=120)
        after = sorted(p.name for p in artifacts_dir().glob("*"))
        line = result.stderr.strip()
        ok = result.returncode == 2 and line.count("\n") == 0 and must_name in line and before == after
        return ok, f"exit {result.returncode}: {line[:160]}"

    def machines_left(self) -> list[str]:
        host = docker.DockerClient(base_url=self.docker_url)
        left = [c.name for c in host.containers.list(all=True) if self.tag in c.name]
        if not hostvirt.missing_tools() and hostvirt.answers():
            left += [d for d in hostvirt.virsh("list", "--all", "--name", check=False).stdout.split() if self.tag in d]
        return left


def print_summary(summary: Summary, console) -> None:
    data = summary.as_dict()
    console.print(f"faults injected: {data['faults_injected']}, survived: {data['faults_survived']}, "
                  f"could not be injected: {data['faults_not_injected']}")
    console.print(f"artifacts lost: {data['artifacts_lost']}")
    console.print(f"machines left behind: {data['machines_left_behind']}")
    console.print(f"bad inputs tried: {data['bad_inputs_tried']}, rejected cleanly: "
                  f"{data['bad_inputs_rejected_cleanly']}")
