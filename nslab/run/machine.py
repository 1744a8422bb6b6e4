"""Runs a scenario's steps on one machine over its one connection: run, capture, judge, record."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import docker

from ..config.lab import KnownLimit
from ..config.scenario import Scenario, Step, render
from ..daemon.engines import ENGINES
from ..daemon.modes import DaemonMode, ModeState, apply_mode
from ..daemon.rootless import enter_rootless, leave_rootless
from ..daemon.styles import ConfigStyle
from ..errors import ArtifactsError, DaemonError, MachineError, NslabError, RemoteTimeout
from ..judge import TIMED_OUT
from ..judge.evidence import StepEvidence
from ..judge.run import judge_for_version, step_facts
from ..judge.verdict import Status, Verdict, worst
from ..machines.connection import CommandResult, Remote
from . import redact
from .capture import Capture
from .images import image_refs, provide_images
from .layout import KNOWN_LIMITS, RunDir, StepFiles
from .material import copy_files
from .records import ModeEntry, StepEntry, StepRecord
from .stopping import take_marker, watched

# After a step timed out: how long the machine has to answer a `true` before it counts as gone.
PROBE_TIMEOUT = 10.0
# The data-roots remapped daemons leave (/var/lib/docker/<uid>.<gid>), listed as removed.
REMOVE_REMAPPED_DATA_ROOTS = ("find /var/lib/docker -mindepth 1 -maxdepth 1 -type d "
                              "-regex '.*/[0-9]+\\.[0-9]+' -print -exec rm -rf {} +")


@dataclass
class StepOutcome:
    machine: str
    mode: str
    number: int
    step: str
    title: str
    status: Status
    seconds: float = 0.0
    verdicts: list[Verdict] = field(default_factory=list)
    detail: str = ""
    #: The question the step asks in several modes, kept in the manifest for steps that never ran too.
    question: str | None = None

    def entry(self) -> StepEntry:
        """As the manifest lists it."""
        return StepEntry(self.step, self.mode, str(self.status), self.number, round(self.seconds, 2), self.detail,
                         self.question or None)


class MachineRun:
    """One scenario on one machine."""

    def __init__(self, scenario: Scenario, run: RunDir, machine: str, remote: Remote,
                 style: ConfigStyle, image_source: str, known_limits: list[KnownLimit] = (),
                 log=print, allow_live_user: bool = False):
        self.scenario = scenario
        self.run = run
        self.machine = machine
        self.remote = remote
        self.style = style
        self.image_source = image_source
        self.known_limits = [limit.model_dump() for limit in known_limits]
        self.allow_live_user = allow_live_user
        self.images = image_refs(scenario, image_source)
        self.log = log
        self.outcomes: list[StepOutcome] = []
        self.record = run.machine(machine)
        # Judging a re-read run needs the limits it was judged with, kept with a digest.
        self.run.write_json(StepFiles.machine_file(machine, KNOWN_LIMITS), self.known_limits)
        self.mode_facts: dict = {}
        #: The mode the machine is in: its engine answers {mode.engine} and the docker SDK.
        self.state: ModeState | None = None
        #: {files.NAME} on the machine, once copied there.
        self.file_paths: dict[str, str] = {}

    def execute(self) -> list[StepOutcome]:
        try:
            return self._execute()
        finally:
            self._leave_rootless()

    def _execute(self) -> list[StepOutcome]:
        steps = list(enumerate(self.scenario.steps, start=1))
        for position, (number, step) in enumerate(steps):
            try:
                if position == 0 and self.scenario.files:
                    self.file_paths = copy_files(self.remote, self.scenario)
                if self.state is None or self.state.mode.name != step.mode:
                    self._enter_mode(step.mode)
                outcome = self._run_step(number, step)
            except ArtifactsError:
                raise           # nothing more can be recorded: the run stops here
            except NslabError as exc:
                # The daemon refused its mode, or the connection or the machine failed: later steps cannot run.
                self._log(f"error: {exc}")
                self._fail_rest(steps[position:], str(exc))
                break
            self._record(outcome)
            if any(v.check == "timeout" for v in outcome.verdicts) and not self._answers():
                # A machine that died without closing the connection (a VM's qemu killed) stalls
                # every command until its timeout: one is enough to say so.
                reason = (f"the machine stopped answering: step {step.id} timed out and a "
                          f"{PROBE_TIMEOUT:.0f} s probe got no answer")
                self.record.error = reason
                self._log(f"error: {reason}")
                self._fail_rest(steps[position + 1:], reason, failed_here=False)
                break
        return self.outcomes

    def _answers(self) -> bool:
        """Whether the machine runs a `true` within PROBE_TIMEOUT. In a thread: on a connection
        whose peer vanished, even opening a channel waits for TCP to give up."""
        answered: list[bool] = []

        def probe() -> None:
            try:
                answered.append(self.remote.run("true", timeout=PROBE_TIMEOUT).ok)
            except (RemoteTimeout, MachineError):
                answered.append(False)

        thread = threading.Thread(target=probe, name="nslab-probe", daemon=True)
        thread.start()
        thread.join(PROBE_TIMEOUT)
        return bool(answered and answered[0])

    @property
    def engine_cli(self) -> str:
        """The command line of the current mode's engine, as its user ({mode.engine})."""
        if self.state is None:
            return "docker"
        return ENGINES[self.state.mode.engine].cli(self.state.engine_user)

    def _leave_rootless(self) -> None:
        """A rootless engine stops when its mode ends: nothing of it outlives the mode."""
        state, self.state = self.state, None
        if state is not None and state.engine_user is not None:
            try:
                leave_rootless(self.remote, state)
            except (MachineError, RemoteTimeout) as exc:
                self._log(f"could not stop engine {state.mode.engine}: {exc}")

    def _enter_mode(self, mode_name: str) -> ModeState:
        mode = DaemonMode.from_spec(mode_name, self.scenario.modes[mode_name])
        def mode_file(name):
            return StepFiles.mode_file(self.machine, mode_name, name)
        # Killed now rather than by the restart: a PID 1 that ignores SIGTERM
        # (the lab's clock loop) would hold the daemon's shutdown for 10 s.
        self._remove_containers()
        self._leave_rootless()
        try:
            if mode.rootless:
                state = enter_rootless(self.remote, mode, log=self._log)
            else:
                state = apply_mode(self.remote, mode, self.style, log=self._log,
                                   allow_live_user=self.allow_live_user)
        except DaemonError as exc:
            self.run.write(mode_file("daemon.log"), exc.daemon_log or "")
            self.record.modes.append(ModeEntry(mode_name, str(Status.ERROR), error=str(exc)))
            self.run.save_manifest()
            raise
        self.state = state
        removed = self._cleanup(mode)
        self.mode_facts = {**state.facts(), "changed": state.changed, "seconds": round(state.seconds, 2),
                           "config_style": self.style.name, "cleanup_removed": removed}
        self.run.write_json(mode_file("mode.json"), self.mode_facts)
        self.run.write(mode_file("docker-info.json"), json.dumps(redact.daemon_info(state.info), indent=2,
                                                                 sort_keys=True))
        self.run.write(mode_file("daemon-config"), state.persisted)
        self.run.write(mode_file("subuid"), state.subuid)
        self.run.write(mode_file("subgid"), state.subgid)
        self.record.modes.append(ModeEntry(mode_name, "applied", state.changed, round(state.seconds, 2),
                                           mode.engine, mode.remap_user, state.info.get("DockerRootDir")))
        self.run.save_manifest()
        return state

    def _remove_containers(self) -> list[str]:
        removed = []
        for name in self.scenario.cleanup.containers:
            try:
                self.remote.docker.remove_container(name, force=True)
                removed.append(f"container {name}")
            except docker.errors.NotFound:
                pass
        return removed

    def _cleanup(self, mode: DaemonMode) -> list[str]:
        removed = self._remove_containers()
        if self.scenario.cleanup.remapped_data_roots and mode.remap_user is None and not mode.rootless:
            # Only while no remapping daemon uses them: this mode's daemon runs in /var/lib/docker.
            roots = self.remote.run(REMOVE_REMAPPED_DATA_ROOTS, sudo=True).stdout.split()
            removed += [f"data-root {root}" for root in roots]
        return removed

    def _execute_command(self, step: Step) -> tuple[str, CommandResult, dict | None]:
        """Runs the step: the command as recorded (never nslab's watch around it), its result,
        and how `stop_when` ended it, if it did."""
        started = time.monotonic()
        if step.action == "images":
            text = f"[images: {', '.join(step.images)} ({self.image_source})]"
            run = lambda: provide_images(self.remote, self.scenario, step.images, self.image_source, step.timeout,
                                         self.state.mode.engine, self.state.engine_user)
        else:
            text = render(step.run, self.images, self.file_paths,
                          {"engine": self.engine_cli, "options": self.state.mode.container_options})
            command = watched(text, step.stop_when) if step.stop_when else text
            run = lambda: self.remote.run(command, timeout=step.timeout, sudo=step.sudo)
        try:
            result = run()
        except RemoteTimeout as exc:
            return text, CommandResult(text, TIMED_OUT, "", str(exc), time.monotonic() - started), None
        if step.stop_when:
            result.stderr, stopped = take_marker(result.stderr, step.stop_when)
            return text, result, stopped
        return (text if step.action else result.command), result, None

    def _run_step(self, number: int, step: Step) -> StepOutcome:
        files = StepFiles(self.machine, step.mode, number, step.id)
        started, attempts = time.monotonic(), []
        while True:
            attempt = self._attempt(step, files)
            verdicts, result = attempt["verdicts"], attempt["result"]
            status = worst(v.status for v in verdicts)
            if not step.eventually or status == Status.PASS \
                    or time.monotonic() - started + step.eventually.every > step.eventually.within:
                break
            # Not yet: this attempt's files move aside, every one of them kept as evidence.
            kept = StepFiles(self.machine, step.mode, number, f"{step.id}.attempt-{len(attempts) + 1}")
            self.run.move_step(files, kept)
            self.run.write_json(kept.file("json"), attempt["record"].as_json())
            attempts.append({"attempt": len(attempts) + 1, "status": str(status), "files": kept.stem,
                             "seconds": round(result.seconds, 3)})
            time.sleep(step.eventually.every)
        outcome = StepOutcome(self.machine, step.mode, number, step.id, step.title, status,
                              seconds=time.monotonic() - started if attempts else result.seconds,
                              verdicts=verdicts,
                              detail=next((v.explain() for v in verdicts if v.status != Status.PASS), ""),
                              question=step.question)
        record = attempt["record"]
        if step.eventually:
            record.eventually = {"within": step.eventually.within, "attempts": attempts + [
                {"attempt": len(attempts) + 1, "status": str(status), "files": files.stem,
                 "seconds": round(result.seconds, 3)}]}
        self.run.write_json(files.file("json"), record.as_json())
        return outcome

    def _attempt(self, step: Step, files: StepFiles) -> dict:
        """The command once, its facts, its verdicts: the step's files written, its record returned."""
        facts = step_facts(step)
        capture = Capture(self.remote, self.run, files, self.engine_cli)
        capturing = time.monotonic()
        capture.all(facts, before=True)
        facts_seconds = time.monotonic() - capturing
        command_text, result, stopped = self._execute_command(step)
        self.run.write(files.file("cmd"), command_text + "\n")
        self.run.write(files.file("stdout"), result.stdout)
        self.run.write(files.file("stderr"), result.stderr)
        capturing = time.monotonic()
        if result.exit_code != TIMED_OUT:
            capture.all(facts)
        facts_seconds += time.monotonic() - capturing
        # The same function `invoke judge` calls, on the files just written.
        evidence = StepEvidence(self.run.path / files.file("facts"), result.exit_code, result.stdout,
                                result.stderr, self.mode_facts)
        _, verdicts = judge_for_version(step, evidence, self.known_limits)
        record = StepRecord(result.exit_code, step.id, step.title, step.mode, command_text, step.question,
                            list(step.refs), round(result.seconds, 3), str(worst(v.status for v in verdicts)),
                            [v.as_dict() for v in verdicts], list(evidence.read), stopped, round(facts_seconds, 3))
        return {"result": result, "verdicts": verdicts, "record": record}

    def _record(self, outcome: StepOutcome) -> None:
        self.outcomes.append(outcome)
        self.record.steps.append(outcome.entry())
        self.run.save_manifest()
        self._log(f"{outcome.number:02d} {outcome.step:<28} {outcome.status:<7} "
                  f"{outcome.seconds:5.1f}s  {outcome.detail}".rstrip())

    def _fail_rest(self, steps: list[tuple[int, Step]], reason: str, failed_here: bool = True) -> None:
        """The steps left, recorded: the first as the error (unless it failed before them), the rest not run."""
        for position, (number, step) in enumerate(steps):
            first = position == 0
            self._record(StepOutcome(self.machine, step.mode, number, step.id, step.title,
                                     Status.ERROR if first and failed_here else Status.NOT_RUN,
                                     detail=reason if first else "", question=step.question))

    def _log(self, text: str) -> None:
        self.log(f"[{self.machine}] {text}")
