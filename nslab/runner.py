"""Runs a scenario's steps on one machine over its one connection, recording everything."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import docker

from .artifacts import RunDir, write_json
from .connection import CommandResult, Remote
from .daemon import ConfigStyle, DaemonMode, ModeState, apply_mode
from .errors import DaemonError, NslabError, RemoteTimeout
from .images import image_refs, provide_images
from .lab import KnownLimit
from .oracle import ERROR, FAIL, LIMITED, PASS, Facts, Verdict, judge
from .scenario import Scenario, Step, render

NOT_RUN = "not-run"
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
    status: str
    seconds: float = 0.0
    verdicts: list[Verdict] = field(default_factory=list)
    detail: str = ""

    def summary(self) -> dict:
        return {"number": self.number, "id": self.step, "mode": self.mode, "status": self.status,
                "seconds": round(self.seconds, 2), "detail": self.detail}


def step_status(verdicts: list[Verdict]) -> str:
    """The worst verdict: error, fail, environment-limited, pass."""
    statuses = {v.status for v in verdicts}
    for status in (ERROR, FAIL, LIMITED):
        if status in statuses:
            return status
    return PASS


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
        self.known_limits = list(known_limits)
        self.allow_live_user = allow_live_user
        self.images = image_refs(scenario, image_source)
        self.log = log
        self.outcomes: list[StepOutcome] = []
        self.record = run.machine(machine)

    def execute(self) -> list[StepOutcome]:
        state: ModeState | None = None
        steps = list(enumerate(self.scenario.steps, start=1))
        for position, (number, step) in enumerate(steps):
            try:
                if state is None or state.mode.name != step.mode:
                    state = self._enter_mode(step.mode)
                outcome = self._run_step(number, step, state)
            except DaemonError as exc:
                self._fail_rest(steps[position:], f"{exc}")
                break
            except NslabError as exc:
                # The connection or the machine itself failed: later steps cannot run.
                self._fail_rest(steps[position:], str(exc))
                break
            self._record(outcome)
        return self.outcomes

    def _enter_mode(self, mode_name: str) -> ModeState:
        mode = DaemonMode.from_spec(mode_name, self.scenario.modes[mode_name])
        folder = f"{self.machine}/{mode_name}"
        # Killed now rather than by the restart: a PID 1 that ignores SIGTERM
        # (the lab's clock loop) would hold the daemon's shutdown for 10 s.
        self._remove_containers()
        try:
            state = apply_mode(self.remote, mode, self.style, log=self._log,
                               allow_live_user=self.allow_live_user)
        except DaemonError as exc:
            self.run.write(f"{folder}/daemon.log", exc.daemon_log or "")
            self.record["modes"].append({"mode": mode_name, "status": ERROR, "error": str(exc)})
            self.run.save_manifest()
            raise
        removed = self._cleanup(mode)
        write_json(self.run.path / folder / "mode.json", {
            **state.facts(), "changed": state.changed, "seconds": round(state.seconds, 2),
            "config_style": self.style.name, "cleanup_removed": removed})
        self.run.write(f"{folder}/docker-info.json", json.dumps(state.info, indent=2, sort_keys=True))
        self.run.write(f"{folder}/daemon-config", state.persisted)
        self.run.write(f"{folder}/subuid", state.subuid)
        self.run.write(f"{folder}/subgid", state.subgid)
        self.record["modes"].append({"mode": mode_name, "status": "applied", "changed": state.changed,
                                     "seconds": round(state.seconds, 2),
                                     "remap_user": mode.remap_user,
                                     "data_root": state.info.get("DockerRootDir")})
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
        if self.scenario.cleanup.remapped_data_roots and mode.remap_user is None:
            # Only while no remapping daemon uses them: this mode's daemon runs in /var/lib/docker.
            roots = self.remote.run(REMOVE_REMAPPED_DATA_ROOTS, sudo=True).stdout.split()
            removed += [f"data-root {root}" for root in roots]
        return removed

    def _run_step(self, number: int, step: Step, state: ModeState) -> StepOutcome:
        prefix = f"{self.machine}/{step.mode}/{number:02d}-{step.id}"
        started = time.monotonic()
        if step.action == "images":
            command_text = f"[images: {', '.join(step.images)} ({self.image_source})]"
            try:
                result = provide_images(self.remote, self.scenario, step.images, self.image_source,
                                        step.timeout)
            except RemoteTimeout as exc:
                result = CommandResult(command_text, -1, "", str(exc), time.monotonic() - started)
        else:
            command = render(step.run, self.images)
            try:
                result = self.remote.run(command, timeout=step.timeout, sudo=step.sudo)
            except RemoteTimeout as exc:
                result = CommandResult(command, -1, "", str(exc), time.monotonic() - started)
            command_text = result.command
        self.run.write(f"{prefix}.cmd", command_text + "\n")
        self.run.write(f"{prefix}.stdout", result.stdout)
        self.run.write(f"{prefix}.stderr", result.stderr)
        facts = Facts(self.remote, state)
        if result.exit_code == -1:
            verdicts = [Verdict("timeout", ERROR, f"done within {step.timeout:.0f}s", None, result.stderr)]
        else:
            verdicts = judge(step.expect, result, facts, self.known_limits)
        outcome = StepOutcome(self.machine, step.mode, number, step.id, step.title, step_status(verdicts),
                              seconds=result.seconds, verdicts=verdicts,
                              detail=next((_explain(v) for v in verdicts if v.status != PASS), ""))
        write_json(self.run.path / f"{prefix}.json", {
            "step": step.id, "title": step.title, "mode": step.mode, "command": command_text,
            "exit_code": result.exit_code, "duration_seconds": round(result.seconds, 3),
            "status": outcome.status, "verdicts": [v.as_dict() for v in verdicts],
            "facts": facts.used,
        })
        return outcome

    def _record(self, outcome: StepOutcome) -> None:
        self.outcomes.append(outcome)
        self.record["steps"].append(outcome.summary())
        self.run.save_manifest()
        self._log(f"{outcome.number:02d} {outcome.step:<28} {outcome.status:<7} "
                  f"{outcome.seconds:5.1f}s  {outcome.detail}".rstrip())

    def _fail_rest(self, steps: list[tuple[int, Step]], reason: str) -> None:
        first = True
        for number, step in steps:
            self._record(StepOutcome(self.machine, step.mode, number, step.id, step.title,
                                     ERROR if first else NOT_RUN, detail=reason if first else ""))
            first = False

    def _log(self, text: str) -> None:
        self.log(f"[{self.machine}] {text}")


def _explain(verdict: Verdict) -> str:
    return f"{verdict.check}: expected {verdict.expected!r}, got {verdict.observed!r}" + (
        f" ({verdict.detail})" if verdict.detail else "")
