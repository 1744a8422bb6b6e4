"""Evidence to verdicts: a pure function of the files a run captured.

The live run and `invoke judge` call the same `judge_step`; nothing here opens
a connection or imports the machine layers.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from .checks import KINDS
from .checks.base import line_with
from .evidence import FactUnavailable, StepEvidence
from .verdict import Status, Verdict

TIMED_OUT = -1          # the exit code a run records for a command killed at its timeout


class Expectations(Protocol):
    """A step's `expect:` (nslab.config.scenario.Expect): one attribute per check kind, None when unstated."""

    def checks(self) -> list[str]:
        """The check kinds the step states, in registry order."""
        ...


def stated_checks(expect: Expectations) -> list[str]:
    """The expectations a step states, in registry order; a step that states none must exit 0."""
    return expect.checks() or ["exit"]


def needed_facts(expect: Expectations) -> list[str]:
    """The facts the run must capture for these expectations, each once."""
    facts: list[str] = []
    for name in stated_checks(expect):
        for fact in KINDS[name].facts(getattr(expect, name)):
            if fact not in facts:
                facts.append(fact)
    return facts


def judge_step(expect: Expectations, evidence: StepEvidence, known_limits: Sequence[Mapping[str, str]],
               timeout: float | None = None) -> list[Verdict]:
    """known_limits: the machine's provider's, each a signature (a line of its error) and the reason."""
    if evidence.exit_code == TIMED_OUT:
        return [Verdict("timeout", Status.ERROR, f"done within {timeout or 0:.0f}s", None, evidence.stderr)]
    verdicts = [judge_check(name, getattr(expect, name), evidence) for name in stated_checks(expect)]
    limit = next((known for known in known_limits if known["signature"] in evidence.output), None)
    if limit is not None:
        line = line_with(evidence.output, limit["signature"])
        for verdict in verdicts:
            if verdict.status != Status.PASS:
                # Not a pass, and not the lab's failure either: say which limit, with the error.
                verdict.status = Status.LIMITED
                verdict.detail = f"{limit['reason']}: {line}"
    return verdicts


def judge_check(name: str, spec: object, evidence: StepEvidence) -> Verdict:
    """One check on one step's evidence; evidence it cannot read makes an error, never a pass."""
    try:
        return KINDS[name].judge(spec, evidence)
    except FactUnavailable as exc:
        return Verdict(name, Status.ERROR, _describe(spec), None, str(exc))
    except UNREADABLE as exc:
        # Evidence that is not what a machine writes (damaged, or edited by hand).
        return Verdict(name, Status.ERROR, _describe(spec), None, f"unreadable evidence: {type(exc).__name__}: {exc}")


# What reading damaged evidence raises.
UNREADABLE = (ValueError, KeyError, IndexError, AttributeError, TypeError)


def _describe(value: object) -> object:
    return value.model_dump() if hasattr(value, "model_dump") else value
