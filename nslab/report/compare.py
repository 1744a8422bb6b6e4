"""Runs side by side: modes x machines, the facts that matter, and drift against a baseline."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..judge import Expectations
from ..judge.checks import KINDS
from ..judge.checks.base import Shown
from ..judge.normalize import error_line
from ..judge.prove import StepProof, prove_run
from ..judge.run import StepJudgement, judge_run
from ..judge.verdict import VerdictRecord
from ..run.layout import LAYOUT, MANIFEST, RunView, StepRef
from ..run.records import MachineRecord
from ..subids import SubIdRange, parse_subids

RowKey = tuple[str, str, str]          # scenario, mode, step id
# A year of nightly cells; a folder holding more is refused rather than read for minutes.
MAX_RUNS = 2000


@dataclass
class Column:
    """One machine, with the runs of different labs it took part in."""
    key: str
    machine: str
    distro: str
    docker_version: str
    provider: str
    run_ids: list[str] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)
    #: What makes this column's verdicts untrustworthy: edited evidence, a re-judge that disagrees.
    flags: list[str] = field(default_factory=list)

    @property
    def engine(self) -> str:
        return f"{self.distro}, Docker {self.docker_version}"

    @property
    def label(self) -> str:
        flag = " · ⚠ EVIDENCE CHANGED" if any(not f.startswith("older layout") for f in self.flags) else ""
        return f"{self.machine} · {self.distro} · Docker {self.docker_version} · {self.provider}{flag}"

    @property
    def run_id(self) -> str:
        return ", ".join(self.run_ids)

    @property
    def scenario(self) -> str:
        return "+".join(self.scenarios)


@dataclass
class Cell:
    status: str
    facts: dict[str, Any]
    #: The words of each check kind for its facts, and its answer to the step's question, if it has one.
    shown: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    #: Container ids landing on the host (container, inside, host), for the uid maps.
    landings: list[tuple[str, int, int]] = field(default_factory=list)
    title: str = ""
    number: int = 0
    #: Mutation proof: "shown" (every passed check able to fail), "unproven", or "" (nothing to prove).
    proof: str = ""
    #: The checks that stayed green under a mutation, each with why.
    cannot_fail: list[str] = field(default_factory=list)
    #: The question the step asks in several modes (each_mode), and where its claim comes from.
    question: str = ""
    refs: list[str] = field(default_factory=list)
    #: (setting, what a configuration-only audit reads, what the machine does), from the kinds that say.
    claims: list[tuple[str, str, str]] = field(default_factory=list)
    #: The Docker version condition its expectations came from ('' when the lab states none).
    version_condition: str = ""

    def answer(self) -> str:
        """The step's answer to its question, from its facts: the host uid, or yes / no and why."""
        f = self.facts
        if self.answers:
            answer = self.answers[0]
        elif f.get("exit") is None:
            answer = f.get("error") or self.status
        elif f["exit"] == 0:
            answer = "yes"
        else:
            answer = "no: " + _reason(f.get("error") or f"exit {f['exit']}")
        for setting, reads, does in self.claims:
            answer += f" · config reads {setting} {reads}" + (f", ⚠ the machine does {does}" if reads != does else "")
        return f"{MARKS.get(self.status, self.status)} {answer}"

    def text(self) -> str:
        f = self.facts
        parts = [self.status, *self.shown]
        if f.get("exit") not in (0, None):
            parts.append(f"exit {f['exit']}")
        if f.get("stopped"):
            parts.append(f"stopped: {f['stopped']}")
        if f.get("error"):
            parts.append(f["error"])
        if self.proof == "shown":
            parts.append("✓ can fail")
        elif self.proof:
            parts.append("⚠ cannot fail: " + "; ".join(self.cannot_fail))
        return " · ".join(str(p) for p in parts)


# How a verdict reads in a question table, before the answer.
MARKS = {"pass": "✓", "fail": "✗", "error": "⚠ error", "environment-limited": "~ env-limited",
         "not-run": "· not run"}


def _reason(error: str) -> str:
    """The kernel's or the engine's own words at the end of an error line, without what leads to them."""
    words = error.strip().removesuffix(": unknown.").rsplit(": ", 1)[-1].strip()
    return (words if len(words) >= 12 else error.strip())[:100]


@dataclass
class QuestionTable:
    """One machine's answers to a lab's questions, mode by mode (the lab's each_mode blocks)."""
    scenario: str
    column: Column
    modes: list[str] = field(default_factory=list)
    #: Question id -> (its title, its references).
    questions: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    answers: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def cell(self, question: str, mode: str) -> Cell | None:
        return self.answers.get((question, mode))


@dataclass
class Change:
    row: RowKey
    machine: str
    fact: str
    before: object
    after: object
    #: The machine's distro and Docker on each side, so a change reads as what moved under it.
    before_engine: str = ""
    after_engine: str = ""

    def describe(self) -> str:
        scenario, mode, step = self.row
        where = f"{scenario}/{mode}/{step}" if mode else scenario
        text = f"{self.machine} {where}: {self.fact}: {self.before!r} -> {self.after!r}"
        if self.before_engine == self.after_engine and self.before_engine:
            text += f" (both on {self.before_engine})"
        elif self.before_engine or self.after_engine:
            text += f" ({self.before_engine or '—'} -> {self.after_engine or '—'})"
        return text


@dataclass
class IdPicture:
    """One machine in one mode: its subordinate ranges on one number line, where each judged
    container id lands on it, and each judged process as `ps` shows it inside and on the host."""
    ranges: list[SubIdRange] = field(default_factory=list)
    #: (container, uid inside, uid on the machine), as the uid checks observed them.
    landings: list[tuple[str, int, int]] = field(default_factory=list)
    #: (container, uid inside) -> side (inside, host) -> (user as ps shows it, uid).
    processes: dict[tuple[str, int], dict[str, tuple[str, int]]] = field(default_factory=dict)

    def overlaps(self) -> list[tuple[SubIdRange, SubIdRange]]:
        return [(a, b) for i, a in enumerate(self.ranges) for b in self.ranges[i + 1:] if a.overlaps(b)]

    @property
    def top(self) -> int:
        """The number line's end: past every range and every landing."""
        ends = [r.end for r in self.ranges] + [host for _, _, host in self.landings] + [1]
        return int(max(ends) * 1.08) + 1


@dataclass
class ClaimRow:
    """One daemon setting: per machine, where a configuration-only reading and the behaviour
    proven agree, and each place they do not."""
    setting: str
    #: column key -> (mode, step title, config reads, machine does) of every step that read it
    readings: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)

    def said(self, column_key: str) -> str:
        readings = self.readings.get(column_key, [])
        if not readings:
            return ""
        apart = [f"⚠ {mode} ({title}): config reads {reads}, machine does {does}"
                 for mode, title, reads, does in readings if reads != does]
        agree = len(readings) - len(apart)
        return "; ".join(apart + ([f"agree in {agree} of {len(readings)}"] if apart else [f"✓ agree ({agree})"]))


@dataclass
class Comparison:
    columns: list[Column] = field(default_factory=list)
    rows: list[RowKey] = field(default_factory=list)
    cells: dict[tuple[RowKey, str], Cell] = field(default_factory=dict)
    runs: list[Path] = field(default_factory=list)
    #: (column key, mode) -> the picture of that machine's ids in that mode.
    id_pictures: dict[tuple[str, str], IdPicture] = field(default_factory=dict)

    def cell(self, row: RowKey, column: Column) -> Cell | None:
        return self.cells.get((row, column.key))

    def title(self, row: RowKey) -> str:
        return next((c.title for (r, _), c in self.cells.items() if r == row and c.title), row[2])

    def differs(self, row: RowKey) -> bool:
        """Machines disagree on this row (a finding in itself)."""
        seen = [c.facts for c in (self.cell(row, col) for col in self.columns) if c is not None]
        return any(facts != seen[0] for facts in seen[1:])

    def uid_maps(self) -> dict[str, dict[str, list[tuple[str, int, int]]]]:
        """Per column and mode: (container, container uid, host uid) as observed."""
        maps: dict[str, dict[str, list[tuple[str, int, int]]]] = {}
        for (row, key), cell in self.cells.items():
            for entry in cell.landings:
                entries = maps.setdefault(key, {}).setdefault(row[1], [])
                if entry not in entries:
                    entries.append(entry)
        return maps

    def claim_rows(self) -> list[ClaimRow]:
        """Each setting a lab reads as a configuration audit would, beside what the machine does."""
        rows: dict[str, ClaimRow] = {}
        for (row, key), cell in self.cells.items():
            for setting, reads, does in cell.claims:
                claim = rows.setdefault(setting, ClaimRow(setting))
                claim.readings.setdefault(key, []).append((row[1], cell.title or row[2], reads, does))
        return list(rows.values())

    def version_rows(self) -> list[RowKey]:
        """Steps whose expectations the lab states per Docker version: a box × fact table of their own."""
        return [row for row in self.rows
                if any((cell := self.cell(row, column)) and cell.version_condition for column in self.columns)]

    def question_tables(self) -> list[QuestionTable]:
        """Per lab and machine, questions × modes: what each mode buys, side by side."""
        tables: dict[tuple[str, str], QuestionTable] = {}
        for row in self.rows:
            for column in self.columns:
                cell = self.cell(row, column)
                if cell is None or not cell.question:
                    continue
                table = tables.setdefault((row[0], column.key), QuestionTable(row[0], column))
                if row[1] not in table.modes:
                    table.modes.append(row[1])
                if not table.questions.get(cell.question, ("", []))[0]:
                    # The first step that ran says what the question is (one that never ran has no record).
                    table.questions[cell.question] = (cell.title, cell.refs)
                table.answers[(cell.question, row[1])] = cell
        return list(tables.values())

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for cell in self.cells.values():
            counts[cell.status] = counts.get(cell.status, 0) + 1
        return counts


def resolve_runs(specs: list[str], artifacts: Path) -> list[Path]:
    """Run ids, run directories, folders of runs, or 'latest', to run directories holding a manifest."""
    paths: list[Path] = []
    for spec in specs or ["latest"]:
        candidate = Path(spec)
        if not (candidate / MANIFEST).exists() and not candidate.is_dir():
            candidate = artifacts / spec
        if (candidate / MANIFEST).exists():
            found = [candidate]
        elif candidate.is_dir():   # a folder of runs, e.g. a CI job's downloaded artifacts
            found = sorted(p.parent for p in candidate.glob(f"*/{MANIFEST}") if not p.parent.is_symlink())
        else:
            found = []
        if not found:
            raise ConfigError(f"'{spec}' is not a run (no {MANIFEST} there or under {artifacts})")
        paths += [p.resolve() for p in found if p.resolve() not in paths]
    return paths


def build(run_paths: list[Path]) -> Comparison:
    """Every run judged again from its own evidence; its files checked against their digests."""
    comparison = Comparison(runs=list(run_paths))
    for run_path in run_paths:
        view = RunView(run_path)
        judgement, proof, unjudged = None, None, "older layout: recorded verdicts, not re-judged"
        if view.layout >= LAYOUT:
            try:
                judgement = judge_run(run_path)
                proof = prove_run(judgement)
            except ConfigError as exc:
                unjudged = f"cannot be judged again: {exc}"
        for machine, record in view.machines.items():
            column = _column_for(comparison, view, machine, record)
            if judgement is None:
                column.flags.append(unjudged)
            else:
                column.flags += [f"evidence: {p}" for p in judgement.integrity.problems()
                                 if p.startswith(f"{machine}/") or "/" not in p.split(":")[0]]
                column.flags += [f"{s.ref.mode}/{s.ref.step_id}: {problem}"
                                 for s in judgement.disagreements if s.ref.machine == machine
                                 for problem in s.attempt_problems
                                 or [f"re-judged {s.status}, recorded {s.recorded_status}"]]
            proofs = {p.step.ref: p for p in proof.steps if p.step.ref.machine == machine} if proof else {}
            for ref in view.steps(machine):
                row = (view.scenario_name, ref.mode, ref.step_id)
                if row not in comparison.rows:
                    comparison.rows.append(row)
                step_proof = proofs.get(ref)
                comparison.cells[(row, column.key)] = _cell(view, ref, step_proof.step if step_proof else None,
                                                            step_proof)
            if judgement is not None:
                _draw_ids(comparison, view, column, [s for s in judgement.steps if s.ref.machine == machine])
    return comparison


def _draw_ids(comparison: Comparison, view: RunView, column: Column, steps: list[StepJudgement]) -> None:
    """What the id pictures show, from the judged verdicts and each mode's /etc/subuid."""
    for step in steps:
        picture = comparison.id_pictures.get((column.key, step.mode))
        if picture is None:
            picture = comparison.id_pictures[(column.key, step.mode)] = IdPicture()
            try:
                picture.ranges = parse_subids(view.read_text(f"{step.machine}/{step.mode}/subuid") or "")
            except ConfigError:
                pass           # a damaged range file is flagged by the digests; the picture goes without
        for shown in _shown([v.as_dict() for v in step.verdicts], step.expect):
            if shown.landing is not None and shown.landing not in picture.landings:
                picture.landings.append(shown.landing)
            if shown.process is not None:
                who, side, seen = shown.process
                picture.processes.setdefault(who, {})[side] = seen


def _shown(verdicts: list[VerdictRecord], expect: Expectations | None) -> list[Shown]:
    """What each verdict's check kind shows of it (report/ asks the kind; it names none)."""
    return [shown for _, shown in _shown_of(verdicts, expect)]


def _shown_of(verdicts: list[VerdictRecord], expect: Expectations | None) -> list[tuple[VerdictRecord, Shown]]:
    return [(v, KINDS[v["check"]].shown(v, getattr(expect, v["check"], None) if expect is not None else None))
            for v in verdicts if v["check"] in KINDS]


def _claims(pairs: list[tuple[VerdictRecord, Shown]], verdicts: list[VerdictRecord]) -> list[tuple[str, str, str]]:
    """Each configuration reading with the behaviour beside it: what the step's other checks prove,
    counted only when every one of them passed ("unproven" otherwise)."""
    claimed = [verdict for verdict, shown in pairs if shown.claim is not None]
    behaviour = [v for v in verdicts if not any(v is c for c in claimed)]
    proven = bool(behaviour) and all(v.get("status") == "pass" for v in behaviour)
    return [(setting, reads, does if proven else "unproven")
            for _, shown in pairs if shown.claim is not None for setting, reads, does in [shown.claim]]


def _column_for(comparison: Comparison, view: RunView, machine: str, record: MachineRecord) -> Column:
    """Runs of different labs on the same machine share a column; a repeated lab gets a new one."""
    identity = (machine, record.os or record.distro or "?", record.docker_version or "?", record.provider or "?")
    for column in comparison.columns:
        if (column.machine, column.distro, column.docker_version, column.provider) == identity \
                and view.scenario_name not in column.scenarios:
            break
    else:
        column = Column(f"{machine}#{len(comparison.columns) + 1}", *identity)
        comparison.columns.append(column)
    column.run_ids.append(view.run_id)
    column.scenarios.append(view.scenario_name)
    return column


def _cell(view: RunView, ref: StepRef, judged: StepJudgement | None, proof: StepProof | None = None) -> Cell:
    if judged is not None and judged.problem:
        return Cell(str(judged.status), {"status": str(judged.status), "error": judged.problem}, number=ref.number)
    try:
        record = view.step_record(ref)
    except ConfigError as exc:
        return Cell("error", {"status": "error", "error": str(exc)}, number=ref.number)
    if record is None:       # never ran (not-run, or the machine broke first)
        return Cell(ref.status, {"status": ref.status}, number=ref.number, question=ref.question)
    verdicts = [v.as_dict() for v in judged.verdicts] if judged else record.verdicts
    status = str(judged.status) if judged else record.status or ""
    facts: dict[str, Any] = {"status": status, "exit": record.exit_code}
    pairs = _shown_of(verdicts, judged.expect if judged else None)
    shown = [each for _, each in pairs]
    for each in shown:
        facts.update(each.facts)
    if record.stopped:
        facts["stopped"] = record.stopped["reason"]
    if record.exit_code not in (0, None):
        output = (view.read_text(ref.files.file("stderr")) or "") + (view.read_text(ref.files.file("stdout")) or "")
        facts["error"] = error_line(output)
    return Cell(status, facts, shown=[s.text for s in shown if s.text],
                answers=[s.answer for s in shown if s.answer],
                landings=[s.landing for s in shown if s.landing is not None],
                title=record.title, number=ref.number,
                proof=proof.status if proof else "",
                cannot_fail=[f"{c.check} ({c.why_not()})" for c in proof.unshown] if proof else [],
                question=record.question or "", refs=list(record.refs),
                claims=_claims(pairs, verdicts),
                version_condition=judged.version_condition if judged else "")


def drift(current: Comparison, baseline: Comparison) -> list[Change]:
    """Every fact that changed, per row and machine (runs are matched by scenario and machine)."""
    def by_machine(comparison: Comparison) -> tuple[dict[tuple[RowKey, str], Cell], dict[tuple[str, str], str]]:
        """Cells by (row, machine); each machine's engine by (scenario, machine)."""
        cells: dict[tuple[RowKey, str], Cell] = {}
        engines: dict[tuple[str, str], str] = {}
        for column in comparison.columns:
            for row in comparison.rows:
                cell = comparison.cell(row, column)
                if cell is not None:
                    cells[(row, column.machine)] = cell
                    engines[(row[0], column.machine)] = column.engine
        return cells, engines

    (now, now_engines), (before, before_engines) = by_machine(current), by_machine(baseline)
    scenarios = {row[0] for row in current.rows}
    changes = []
    for key in list(before) + [k for k in now if k not in before]:
        row, machine = key
        if row[0] not in scenarios:
            continue                  # the baseline covers more labs than this comparison
        old, new = before.get(key), now.get(key)
        engines = before_engines.get((row[0], machine), ""), now_engines.get((row[0], machine), "")
        if old is None or new is None:
            changes.append(Change(row, machine, "step", "present" if old else "absent",
                                  "present" if new else "absent", *engines))
            continue
        for fact in sorted(set(old.facts) | set(new.facts)):
            if old.facts.get(fact) != new.facts.get(fact):
                changes.append(Change(row, machine, fact, old.facts.get(fact), new.facts.get(fact), *engines))
    return changes
