"""The fault suite: real faults injected into real machines, and bad inputs, with a summary.

Every fault runs on machines of its own instance, so nothing here can disturb
the project's machines, and every machine it starts is destroyed at the end.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
from ..run.layout import MANIFEST, RunView

PREFIX = "faults"
# Room for a run's first steps, far from the whole run (about 1 MB for userns).
FULL_TMPFS_KIB = 300
# Short steps with short timeouts, one mode: a VM fault needs a run in progress, not the whole lab.
VM_FAULT_SCENARIO = "tests/scenarios/short.yaml"


class NotInjected(Exception):
    """The fault could not be put in place (the moment passed, the target was not there): reported as
    such, never as a failure of the lab, nor as a fault survived."""


@dataclass
class FaultResult:
    """What one fault (or bad input) did, field by field: what tests assert and the summary counts."""
    name: str = ""
    kind: str = "fault"
    injected: bool = True
    survived: bool = False
    #: The exit status of the run (or command) the fault hit, and its manifest's status.
    exit_code: int | None = None
    status: str | None = None
    steps_kept: int | None = None
    #: Files its run recorded that are missing or changed, and steps it listed that cannot be read.
    lost: int = 0
    #: Machines (containers, domains) the fault's run left behind.
    left: list[str] = field(default_factory=list)
    #: The line nslab said about it.
    said: str = ""
    #: What only this fault observes (a daemon back, a restart's seconds, a witness still running).
    observed: dict = field(default_factory=dict)
    detail: str = ""


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[..., FaultResult]
    #: Injected into the suite's one shared machine (given as its argument), not into a run of its own.
    on_machine: bool = False
    #: Interrupts a host service every clone shares: held alone, after the other clones' work.
    alone: bool = False
    kind: str = "fault"


#: The faults, in the order they run. A new fault: a FaultSuite method and its @fault line.
FAULTS: list[Fault] = []


def fault(name: str, on_machine: bool = False, alone: bool = False, kind: str = "fault"):
    def register(method):
        FAULTS.append(Fault(name, method, on_machine, alone, kind))
        return method
    return register


@dataclass
class Summary:
    faults: list[FaultResult] = field(default_factory=list)
    bad_inputs: list[FaultResult] = field(default_factory=list)
    machines_left: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        data = self.as_dict()
        return (data["faults_survived"] == data["faults_injected"] and data["faults_not_injected"] == 0
                and data["artifacts_lost"] == 0 and data["machines_left_behind"] == 0
                and data["bad_inputs_rejected_cleanly"] == data["bad_inputs_tried"])

    def as_dict(self) -> dict:
        injected = [f for f in self.faults if f.injected]
        return {
            "faults_injected": len(injected),
            "faults_survived": sum(f.survived for f in injected),
            "faults_not_injected": len(self.faults) - len(injected),
            "artifacts_lost": sum(f.lost for f in self.faults + self.bad_inputs),
            "machines_left_behind": len(self.machines_left),
            "bad_inputs_tried": len(self.bad_inputs),
            "bad_inputs_rejected_cleanly": sum(b.survived for b in self.bad_inputs),
            "faults": [asdict(f) for f in self.faults],
            "bad_inputs": [asdict(b) for b in self.bad_inputs],
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

    def _record(self, results: list[FaultResult], name: str, kind: str, inject: Callable[[], FaultResult]) -> None:
        try:
            result = inject()
        except NotInjected as exc:
            result = FaultResult(injected=False, detail=str(exc))
        except Exception as exc:   # a fault that escapes its check is a fault not survived
            result = FaultResult(detail=f"unexpected {type(exc).__name__}: {exc}")
        result.name, result.kind = name, kind
        results.append(result)
        verdict = "COULD NOT INJECT" if not result.injected else "survived" if result.survived else "NOT SURVIVED"
        self.log(f"{verdict}: {name}: {result.detail}")

    def _results(self, kind: str) -> list[FaultResult]:
        return self.summary.bad_inputs if kind == "bad input" else self.summary.faults

    def _alone(self, inject: Callable[[], FaultResult]) -> FaultResult:
        with HOST_SERVICES.exclusive(self.log):
            return inject()

    @staticmethod
    def _lost_artifacts(view: RunView) -> int:
        """Files the run recorded that are now missing or changed (their digests), and steps the
        manifest lists as judged whose command, outputs or record cannot be read. A step whose
        machine or connection was cut under it never wrote its record: nothing of it was lost."""
        integrity = view.verify()
        lost = len(integrity.missing) + len(integrity.changed)
        recorded = view.manifest.artifacts or {}
        for ref in view.all_steps():
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
        return lost

    def _run_result(self, run_path: Path, exit_code: int | None, **fields) -> FaultResult:
        """What a run hit by a fault kept: its exit, its manifest's status, its steps, what was lost."""
        view = RunView(run_path)
        return FaultResult(exit_code=exit_code, status=view.manifest.status, steps_kept=view.manifest.step_count(),
                           lost=self._lost_artifacts(view), **fields)

    # --- the suite ----------------------------------------------------------
    def run(self) -> Summary:
        shared = [f for f in FAULTS if f.on_machine]
        machine = VagrantMachine(self.box, self.docker_url, instance=self._instance("shared"))
        try:
            machine.up(log=lambda _: None)
            remote = Remote(machine.ssh_endpoint()).open()
            try:
                wait_ready(remote)
                build_offline(remote, ["alpine"])
                for each in shared:
                    self._record(self._results(each.kind), each.name, each.kind,
                                 lambda each=each: each.inject(self, SharedMachine(machine, remote)))
            finally:
                remote.close()
        finally:
            machine.destroy(log=lambda _: None)
        for each in (f for f in FAULTS if not f.on_machine):
            inject = lambda each=each: each.inject(self)
            self._record(self._results(each.kind), each.name, each.kind,
                         (lambda inject=inject: self._alone(inject)) if each.alone else inject)
        for name, check in self.bad_input_checks():
            self._record(self.summary.bad_inputs, name, "bad input", check)
        self.summary.machines_left = self.machines_left()
        return self.summary

    @fault("daemon refuses a mode", on_machine=True)
    def refused_mode(self, shared: SharedMachine) -> FaultResult:
        remote, style = shared.remote, DaemonJsonStyle()
        apply_mode(remote, DaemonMode("standard"), style, log=lambda _: None)
        bad = DaemonMode("bogus", extra_options=(("bogus-option", True),))
        try:
            apply_mode(remote, bad, style, log=lambda _: None)
            return FaultResult(detail="the daemon accepted a bogus option")
        except DaemonError as exc:
            error, daemon_log = str(exc), exc.daemon_log
        observed = {"log_names_the_option": "bogus-option" in (daemon_log or ""),
                    "last_good_config_restored": style.read(remote) == DaemonMode("standard").daemon_options(),
                    "daemon_back": bool(remote.docker.ping())}
        return FaultResult(survived="refused" in error and all(observed.values()), said=error, observed=observed,
                           detail=f"{error[:120]} | {observed}")

    @fault("dockerd killed mid-step", on_machine=True)
    def dockerd_killed(self, shared: SharedMachine) -> FaultResult:
        remote = shared.remote
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
            said = (result.stderr or result.stdout).strip()[-100:]
            return FaultResult(survived=result.exit_code != 0 and seconds < 30, exit_code=result.exit_code,
                               said=said, observed={"step_seconds": round(seconds, 1), "daemon_back": True},
                               detail=f"step ended with status {result.exit_code} after {seconds:.1f}s ({said}); "
                                      f"daemon back")
        finally:
            killer.close()

    @fault("sshd session killed mid-step", on_machine=True)
    def sshd_killed(self, shared: SharedMachine) -> FaultResult:
        endpoint = shared.machine.ssh_endpoint()
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
                return FaultResult(detail="the command outlived its sshd")
            except MachineError as exc:
                seconds = time.monotonic() - started
                fresh = Remote(endpoint).open()
                again = fresh.check("echo ok").strip() == "ok"
                fresh.close()
                return FaultResult(survived=seconds < 30 and again, said=str(exc),
                                   observed={"seconds": round(seconds, 1), "new_connection_works": again},
                                   detail=f"killed {name} ({sshd}); {exc} after {seconds:.1f}s; "
                                          f"a new connection works: {again}")
        finally:
            victim.close()
            killer.close()

    @fault("remap range overlapping /etc/subuid", on_machine=True, kind="bad input")
    def overlapping_range(self, shared: SharedMachine) -> FaultResult:
        remote = shared.remote
        watched = "cat /etc/subuid /etc/subgid /etc/passwd /etc/docker/daemon.json"
        before = remote.check(watched, sudo=True)
        mode = DaemonMode("clash", userns_remap="clash", subid_start=100500, subid_count=100)
        try:
            apply_mode(remote, mode, DaemonJsonStyle(), log=lambda _: None)
            return FaultResult(detail="an overlapping range was accepted")
        except ConfigError as exc:
            unchanged = remote.check(watched, sudo=True) == before
            return FaultResult(survived=unchanged and "\n" not in str(exc), said=str(exc),
                               observed={"machine_unchanged": unchanged},
                               detail=f"{exc}; machine unchanged: {unchanged}")

    @fault("machine that fails to come up")
    def broken_box(self) -> FaultResult:
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
                return FaultResult(detail="a broken box came up")
            except MachineError as exc:
                error = str(exc)
            machine.destroy(log=lambda _: None)
            left = [c.name for c in host.containers.list(all=True) if c.name.startswith(instance.prefix)]
            return FaultResult(survived=not left, left=left, said=error,
                               detail=f"up failed: {error[:100]}...; destroyed, containers left: {left}")
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
            new = [p for p in set(artifacts_dir().glob("2*")) - before if (p / MANIFEST).is_file()]
            if new:
                run_path = new[0]
                if any(len(m.steps) >= steps for m in RunView(run_path).machines.values()):
                    break
            time.sleep(0.3)
        return process, run_path

    @fault("Ctrl-C during a run")
    def interrupted_run(self) -> FaultResult:
        process, run_path = self._start_run(f"{self.tag}-sigint")
        if process.poll() is not None:
            raise NotInjected(f"the run ended (exit {process.returncode}) before Ctrl-C could be sent")
        os.killpg(process.pid, signal.SIGINT)         # what Ctrl-C sends: the whole group
        try:
            process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            return FaultResult(detail="the run did not stop within 120 s of Ctrl-C")
        if run_path is None:
            return FaultResult(exit_code=process.returncode, detail="the run never recorded a step")
        result = self._run_result(run_path, process.returncode)
        result.survived = result.exit_code == 130 and result.status == "interrupted" \
            and (result.steps_kept or 0) >= 3 and result.lost == 0
        result.detail = f"exit {result.exit_code}, manifest {result.status}, {result.steps_kept} steps kept, " \
                        f"{result.lost} artifacts lost"
        return result

    @fault("invoke down of the machine a run is using")
    def down_during_run(self) -> FaultResult:
        instance = f"{self.tag}-down"
        process, run_path = self._start_run(instance, "--destroy", "always")
        if process.poll() is not None or run_path is None:
            process.kill()
            raise NotInjected(f"the run ended (exit {process.returncode}) before `invoke down` could be tried")
        down = self._invoke("down", "--instance", instance, timeout=300)
        try:
            process.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            process.kill()
            return FaultResult(detail="the run did not finish within 600 s of `invoke down`")
        said = next((line.strip() for line in down.stdout.splitlines() if "is in use by" in line), "")
        result = self._run_result(run_path, process.returncode, said=said,
                                  observed={"down_exit": down.returncode, "run_pid": process.pid})
        result.survived = down.returncode == 1 and f"is in use by pid {process.pid}" in said \
            and result.exit_code == 0 and result.status == "passed" and result.lost == 0
        result.detail = f"down exit {down.returncode} ({said or down.stdout.strip()[-200:]}); the run went on: " \
                        f"exit {result.exit_code}, manifest {result.status}, {result.lost} artifacts lost"
        return result

    @fault("host Docker daemon restarted mid-run", alone=True)
    def host_daemon_restarted(self) -> FaultResult:
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
            own = {machine.container for machine in RunView(run_path).machines.values()}
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
                return FaultResult(detail="the run did not end within 600 s of the restart")
            manifest = RunView(run_path).manifest
            said = next((text for text in [m.said("lost during") for m in manifest.machines.values()] if text),
                        manifest.error or "")
            left = sorted(own & {c.name for c in host.containers.list(all=True)})
            result = self._run_result(run_path, process.returncode, left=left, said=said, observed={
                "restart_seconds": round(restart, 1), "others_running": len(running), "stopped_by_it": stopped,
                "traceback": "Traceback" in output})
            # The machine's published port goes through the daemon's proxy, which restarts with it: the run's
            # connection is always cut, and the run must say so and fail, never pass on it or hang.
            result.survived = not stopped and "Traceback" not in output and result.exit_code == 1 and bool(said) \
                and result.lost == 0 and not left
            result.detail = f"restarted in {restart:.1f}s; {len(running)} other containers, stopped by it: " \
                            f"{stopped}; the run: exit {result.exit_code}, manifest {result.status}, {result.lost} " \
                            f"artifacts lost, its machine left: {left}" + (f"; said: {said[:200]}" if said else "")
            return result
        finally:
            witness.remove(force=True)

    @staticmethod
    def _state(host, name: str) -> str:
        try:
            return host.containers.get(name).status
        except docker.errors.NotFound:
            return "gone"          # removed by its own run meanwhile, not stopped by the restart

    @fault("the artifacts' filesystem full mid-run")
    def artifacts_full(self) -> FaultResult:
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
            runs = [p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).is_file()]
            if process.returncode == 0:
                raise NotInjected(f"the whole run fit in {FULL_TMPFS_KIB} KiB")
            output = process.stdout + process.stderr
            if not runs:
                return FaultResult(exit_code=process.returncode, detail=f"no run kept: {output.strip()[-300:]}")
            said = next((line.strip() for line in output.splitlines() if "No space left on device" in line), "")
            result = self._run_result(runs[0], process.returncode, said=said,
                                      observed={"traceback": "Traceback" in output})
            result.survived = result.exit_code == 1 and bool(said) and "Traceback" not in output and result.lost == 0
            result.detail = f"exit {result.exit_code}, {result.steps_kept} steps kept, {result.lost} artifacts " \
                            f"lost; said: {said[:200] if said else output.strip()[-300:]}"
            return result
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
        domain = RunView(run_path).manifest.only_machine().domain
        if domain is None:
            process.kill()
            raise NotInjected(f"the VM's run names no libvirt domain in {run_path}")
        return process, run_path, domain

    def _vm_outcome(self, process, run_path: Path, domain: str) -> FaultResult:
        try:
            output, _ = process.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            process.kill()
            output = "(no end within 600 s)"
        said = next((line.strip() for line in output.splitlines() if "error: " in line), "")
        hostvirt.ensure_libvirtd(log=lambda _: None)
        left = [domain] if domain in hostvirt.virsh("list", "--all", "--name", check=False).stdout.split() else []
        return self._run_result(run_path, process.returncode, left=left, said=said)

    @fault("a VM's qemu killed mid-step")
    def qemu_killed(self) -> FaultResult:
        process, run_path, domain = self._vm_run("qemu")
        found = subprocess.run(["pgrep", "-f", f"guest={domain}"], capture_output=True, text=True).stdout.split()
        if not found:
            process.kill()
            raise NotInjected(f"no qemu process of domain {domain}")
        for pid in found:
            os.kill(int(pid), signal.SIGKILL)
        result = self._vm_outcome(process, run_path, domain)
        result.survived = result.exit_code == 1 and result.status in ("error", "failed") and bool(result.said) \
            and result.lost == 0 and not result.left
        result.detail = f"qemu of {domain} killed; the run: exit {result.exit_code}, manifest {result.status}, " \
                        f"{result.lost} artifacts lost, domain left: {bool(result.left)}; said: {result.said[:200]}"
        return result

    @fault("nslab's libvirtd killed mid-run", alone=True)
    def libvirtd_killed(self) -> FaultResult:
        process, run_path, domain = self._vm_run("virtd", "--destroy", "always")
        pid = read_pid("/run/libvirtd.pid")
        if hostvirt.libvirtd_netns() != hostvirt.NETNS or not alive(pid):
            process.kill()
            raise NotInjected("the libvirtd running is not nslab's own; nslab never kills another")
        os.kill(pid, signal.SIGKILL)
        result = self._vm_outcome(process, run_path, domain)
        result.observed["libvirt_answers_again"] = hostvirt.answers()
        # The VM's qemu lives on without libvirtd and the run's SSH connection with it: the lab finishes;
        # its destroy needs libvirtd back, which nslab starts again.
        result.survived = result.exit_code == 0 and result.status == "passed" and result.lost == 0 \
            and not result.left and result.observed["libvirt_answers_again"]
        result.detail = f"nslab's libvirtd killed mid-run; the run: exit {result.exit_code}, manifest " \
                        f"{result.status}, {result.lost} artifacts lost, domain left: {bool(result.left)}, " \
                        f"libvirt answers again: {result.observed['libvirt_answers_again']}" + \
                        (f"; said: {result.said[:200]}" if result.said else "")
        return result

    @fault("two runs at once")
    def concurrent_runs(self) -> FaultResult:
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
        runs = [RunView(path) for path in sorted(set(artifacts_dir().glob("2*")) - before)]
        containers = {machine.container for view in runs for machine in view.machines.values()}
        exits = [p.returncode for p in processes]
        ok = (exits == [0, 0] and len(runs) == 2 and len(containers) == 2
              and busy.returncode == 2 and "in use by pid" in busy.stderr)
        detail = (f"exits {exits}, runs {[view.run_id for view in runs]}, machines {sorted(containers)}; run on a "
                  f"busy instance: exit {busy.returncode} ({busy.stderr.strip()[:120]})")
        if not ok:
            detail += " | " + " | ".join(o[-300:] for o in outputs)
        return FaultResult(survived=ok, lost=sum(self._lost_artifacts(view) for view in runs),
                           said=busy.stderr.strip(), detail=detail,
                           observed={"exits": exits, "runs": len(runs), "machines": len(containers),
                                     "busy_exit": busy.returncode})

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

    def _refused(self, args: list[str], must_name: str) -> FaultResult:
        before = sorted(p.name for p in artifacts_dir().glob("*"))
        result = self._invoke(*args, timeout=120)
        unchanged = sorted(p.name for p in artifacts_dir().glob("*")) == before
        line = result.stderr.strip()
        ok = result.returncode == 2 and line.count("\n") == 0 and must_name in line and unchanged
        return FaultResult(survived=ok, exit_code=result.returncode, said=line,
                           observed={"artifacts_unchanged": unchanged},
                           detail=f"exit {result.returncode}: {line[:160]}")

    def machines_left(self) -> list[str]:
        host = docker.DockerClient(base_url=self.docker_url)
        left = [c.name for c in host.containers.list(all=True) if self.tag in c.name]
        if not hostvirt.missing_tools() and hostvirt.answers():
            left += [d for d in hostvirt.virsh("list", "--all", "--name", check=False).stdout.split() if self.tag in d]
        return left


@dataclass
class SharedMachine:
    """The suite's one machine the faults that need no run of their own are injected into."""
    machine: VagrantMachine
    remote: Remote


def print_summary(summary: Summary, console) -> None:
    data = summary.as_dict()
    console.print(f"faults injected: {data['faults_injected']}, survived: {data['faults_survived']}, "
                  f"could not be injected: {data['faults_not_injected']}")
    console.print(f"artifacts lost: {data['artifacts_lost']}")
    console.print(f"machines left behind: {data['machines_left_behind']}")
    console.print(f"bad inputs tried: {data['bad_inputs_tried']}, rejected cleanly: "
                  f"{data['bad_inputs_rejected_cleanly']}")
