"""Mutation proof: every check that passed is judged again on mutated copies of its evidence,
and must turn to `fail` under each mutation its kind defines (`invoke judge --mutate`).

A check that stays green under a mutation of the very facts it reads proves
nothing: a defect in the check, or a vacuous expectation in the scenario.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import UNREADABLE, Expectations, judge_check, stated_checks
from .checks import KINDS
from .evidence import FactUnavailable, StepEvidence
from .mutation import Draft, Mutation, NotApplicable
from .run import RunJudgement, StepJudgement
from .verdict import Status, Verdict

NOT_APPLICABLE = "not-applicable"


@dataclass
class Trial:
    mutation: str
    #: The verdict's status on the mutated copy, or "not-applicable".
    status: str
    detail: str = ""


@dataclass
class CheckProof:
    check: str
    trials: list[Trial]

    @property
    def applied(self) -> list[Trial]:
        return [t for t in self.trials if t.status != NOT_APPLICABLE]

    @property
    def shown(self) -> bool:
        """Able to fail: some mutation applied, and every one that did turned the verdict to fail."""
        return bool(self.applied) and all(t.status == Status.FAIL for t in self.applied)

    def why_not(self) -> str:
        if not self.trials:
            return "its kind defines no mutation"
        if not self.applied:
            return "no mutation applies to its evidence (" + "; ".join(
                f"{t.mutation}: {t.detail}" for t in self.trials) + ")"
        return "; ".join(("stayed pass" if t.status == Status.PASS else f"turned {t.status}, not fail")
                         + f" when {t.mutation}" for t in self.applied if t.status != Status.FAIL)

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "shown": self.shown,
                "trials": [{"mutation": t.mutation, "status": t.status, "detail": t.detail} for t in self.trials]}


@dataclass
class StepProof:
    step: StepJudgement
    checks: list[CheckProof] = field(default_factory=list)

    @property
    def unshown(self) -> list[CheckProof]:
        return [c for c in self.checks if not c.shown]

    @property
    def status(self) -> str:
        """shown: every passed check able to fail; unproven: one is not; "": nothing passed to prove."""
        if not self.checks:
            return ""
        return "unproven" if self.unshown else "shown"


@dataclass
class RunProof:
    judgement: RunJudgement
    steps: list[StepProof]

    def per_machine(self) -> dict[str, tuple[int, int]]:
        """Machine -> (checks tried, checks shown able to fail)."""
        counts: dict[str, tuple[int, int]] = {}
        for proof in self.steps:
            tried, shown = counts.get(proof.step.machine, (0, 0))
            counts[proof.step.machine] = (tried + len(proof.checks), shown + sum(c.shown for c in proof.checks))
        return counts

    @property
    def unshown(self) -> list[tuple[StepJudgement, CheckProof]]:
        return [(p.step, c) for p in self.steps for c in p.unshown]


def prove_checks(expect: Expectations, evidence: StepEvidence, verdicts: list[Verdict]) -> list[CheckProof]:
    passed = {v.check for v in verdicts if v.status == Status.PASS}
    proofs = []
    for name in stated_checks(expect):
        if name not in passed:
            continue
        spec = getattr(expect, name)
        proofs.append(CheckProof(name, [_trial(name, spec, evidence, m) for m in KINDS[name].mutations(spec)]))
    return proofs


def _trial(name: str, spec: object, evidence: StepEvidence, mutation: Mutation) -> Trial:
    draft = Draft(evidence)         # a copy in memory: the run's files are never written
    try:
        mutation.apply(draft)
    except NotApplicable as exc:
        return Trial(mutation.name, NOT_APPLICABLE, str(exc))
    except (FactUnavailable, *UNREADABLE) as exc:
        return Trial(mutation.name, NOT_APPLICABLE, f"cannot apply: {exc}")
    verdict = judge_check(name, spec, draft)
    return Trial(mutation.name, str(verdict.status), verdict.explain())


def prove_run(judgement: RunJudgement) -> RunProof:
    return RunProof(judgement, [
        StepProof(step, prove_checks(step.expect, step.evidence, step.verdicts)
                  if step.evidence and step.expect is not None else [])
        for step in judgement.steps])
