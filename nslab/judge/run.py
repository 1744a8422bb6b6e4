"""A whole run judged again from its directory alone, as `invoke judge` and `compare` do."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config.scenario import Scenario, Step, load_scenario
from ..errors import ConfigError
from ..run.layout import LAYOUT, SCENARIO_COPY, Integrity, RunView, StepRef
from ..run.records import StepRecord
from . import Expectations, judge_step, needed_facts
from .evidence import StepEvidence
from .verdict import JUDGED_OK, Status, Verdict, VerdictRecord, worst


@dataclass
class StepJudgement:
    ref: StepRef
    title: str
    status: Status
    verdicts: list[Verdict]
    #: What the run recorded when it ran, to be compared with what the evidence says now.
    recorded_status: str
    recorded_verdicts: list[VerdictRecord] = field(default_factory=list)
    evidence_read: list[str] = field(default_factory=list)
    judged: bool = True
    #: Why the step's record could not be read (its file is damaged): then it is an error.
    problem: str = ""
    #: What the verdicts were judged from, and what they expected (for `judge --mutate`).
    evidence: StepEvidence | None = field(default=None, repr=False, compare=False)
    expect: Expectations | None = field(default=None, repr=False, compare=False)
    #: Earlier attempts of an `eventually` step whose evidence, judged again, disagrees with the run.
    attempt_problems: list[str] = field(default_factory=list)
    #: The Docker version condition the expectations were taken from ('' when the step states none).
    version_condition: str = ""

    machine = property(lambda self: self.ref.machine)
    mode = property(lambda self: self.ref.mode)
    number = property(lambda self: self.ref.number)
    seconds = property(lambda self: self.ref.seconds)

    @property
    def agrees(self) -> bool:
        return not self.problem and not self.attempt_problems and self.status == self.recorded_status and (
            not self.judged or [v.as_dict() for v in self.verdicts] == self.recorded_verdicts)

    @property
    def detail(self) -> str:
        if self.problem:
            return self.problem
        if not self.judged:
            return self.ref.detail
        return next((v.explain() for v in self.verdicts if v.status != Status.PASS), "")


@dataclass
class RunJudgement:
    view: RunView
    steps: list[StepJudgement]
    integrity: Integrity

    @property
    def disagreements(self) -> list[StepJudgement]:
        return [s for s in self.steps if not s.agrees]

    @property
    def status(self) -> str:
        if self.view.manifest.status in ("interrupted", "error") or not self.steps:
            return self.view.manifest.status
        return "passed" if all(s.status in JUDGED_OK for s in self.steps) else "failed"

    @property
    def exit_code(self) -> int:
        if not self.integrity.ok or self.disagreements:
            return 2
        return 0 if self.status == "passed" else 1


def judge_run(path: Path) -> RunJudgement:
    view = RunView(path)
    if view.layout < LAYOUT:
        raise ConfigError(f"{path}: written by an older nslab (layout {view.layout}) that kept no evidence "
                          f"to judge from; compare still shows its recorded verdicts")
    if view.scenario_text() is None:
        raise ConfigError(f"{path / SCENARIO_COPY}: missing, so the run's expectations are unknown")
    scenario = load_scenario(str(view.path / SCENARIO_COPY))
    integrity = view.verify()
    return RunJudgement(view, [judge_recorded_step(view, scenario, ref) for ref in view.all_steps()], integrity)


def judge_recorded_step(view: RunView, scenario: Scenario, ref: StepRef) -> StepJudgement:
    step = next((s for s in scenario.steps if s.id == ref.step_id), None)
    if step is None:
        raise ConfigError(f"{view.path / SCENARIO_COPY}: has no step '{ref.step_id}', which the manifest lists")
    try:
        record = view.step_record(ref)
        if record is None:      # never ran: an earlier step broke the machine, or the mode was refused
            return StepJudgement(ref, step.title, Status(ref.status), [], ref.status, judged=False)
        evidence = recorded_evidence(view, ref, record)
        limits = view.known_limits(ref.machine)
    except (ConfigError, ValueError) as exc:     # a damaged record or status: integrity names the file
        return StepJudgement(ref, step.title, Status.ERROR, [], ref.status, judged=False, problem=str(exc))
    expect, verdicts = judge_for_version(step, evidence, limits)
    return StepJudgement(ref, step.title, worst(v.status for v in verdicts), verdicts, record.status or "",
                         record.verdicts, list(evidence.read), evidence=evidence, expect=expect,
                         attempt_problems=_earlier_attempts(view, step, ref, record, limits),
                         version_condition=step.condition_for(evidence.mode.get("server_version")))


def judge_for_version(step: Step, evidence: StepEvidence, known_limits: Sequence[Mapping[str, str]]
                       ) -> tuple[Expectations | None, list[Verdict]]:
    """The step's expectations for the Docker version its mode ran, and their verdicts: a version
    the step states nothing for is an error that says so, never a pass."""
    version = evidence.mode.get("server_version")
    expect = step.expect_for(version)
    if expect is None:
        stated = ", ".join(step.version_conditions())
        return None, [Verdict("docker_version", Status.ERROR, stated, version,
                              f"no expectation for Docker {version}: the lab states expectations for {stated}")]
    return expect, judge_step(expect, evidence, known_limits, step.timeout)


def step_facts(step: Step) -> list[str]:
    """The facts to capture for a step, whatever Docker version it meets."""
    return list(dict.fromkeys(fact for expect in step.every_expect() for fact in needed_facts(expect)))


def recorded_evidence(view: RunView, ref: StepRef, record: StepRecord) -> StepEvidence:
    """What a recorded step's expectations read: its outputs, facts and mode, from the run alone."""
    files = ref.files
    return StepEvidence(view.facts_folder(ref), record.exit_code, view.read_text(files.file("stdout")) or "",
                        view.read_text(files.file("stderr")) or "", view.mode_facts(ref.machine, ref.mode),
                        reader=lambda name: view.read_bytes(files.fact(name)))


def _earlier_attempts(view: RunView, step: Step, ref: StepRef, record: StepRecord,
                      limits: Sequence[Mapping[str, str]]) -> list[str]:
    """Each earlier attempt of an `eventually` step judged again: it must not have held already."""
    problems = []
    for attempt in ((record.eventually or {}).get("attempts") or [])[:-1]:
        attempt_ref = replace(ref, step_id=f"{ref.step_id}.attempt-{attempt['attempt']}")
        try:
            attempt_record = view.step_record(attempt_ref)
            if attempt_record is None:
                problems.append(f"{attempt_ref.files.file('json')}: missing")
                continue
            evidence = recorded_evidence(view, attempt_ref, attempt_record)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        _, verdicts = judge_for_version(step, evidence, limits)
        judged = worst(v.status for v in verdicts)
        if judged != attempt.get("status") or judged == Status.PASS:
            problems.append(f"attempt {attempt['attempt']}: recorded {attempt.get('status')}, judged {judged}")
    return problems
