"""`exit: 0 | N | nonzero`: the command's exit status (a step with no expectation must exit 0)."""
from __future__ import annotations

from typing import Literal

from ..evidence import StepEvidence
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict
from .base import CheckKind, Shown, last_line


def judge(wanted: int | Literal["nonzero"] | None, evidence: StepEvidence) -> Verdict:
    wanted = 0 if wanted is None else wanted
    code = evidence.exit_code
    ok = code != 0 if wanted == "nonzero" else code == wanted
    return Verdict("exit", Status.PASS if ok else Status.FAIL, wanted, code,
                   "" if ok else last_line(evidence.output))


def _flip(draft: Draft) -> None:
    draft.exit_code = 1 if draft.exit_code == 0 else 0


KIND = CheckKind("exit", int | Literal["nonzero"], judge,
                 shown=lambda verdict, spec=None: Shown({"exit": verdict.get("observed")}),
                 mutations=lambda wanted: [
                     Mutation("the exit status flipped (0 to 1, a failure to 0)", _flip)],
                 example=0)
