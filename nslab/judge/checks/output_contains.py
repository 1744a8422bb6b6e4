"""`output_contains: TEXT`: the command's output (stdout and stderr) holds the text."""
from __future__ import annotations

from ..evidence import StepEvidence
from ..mutation import Mutation, without
from ..normalize import normalize_line
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown, last_line, line_with


def judge(text: str, evidence: StepEvidence) -> Verdict:
    output = evidence.output
    ok = text in output
    return Verdict("output_contains", Status.PASS if ok else Status.FAIL, text,
                   line_with(output, text) if ok else last_line(output))


def shown(verdict: VerdictRecord, spec: str | None = None) -> Shown:
    """The line the text was found in, as it reads whatever the pids, ids and times of the run."""
    observed = verdict.get("observed")
    if not observed:
        return Shown()
    line = normalize_line(str(observed))[:240]
    return Shown({"output": line}, line)


KIND = CheckKind("output_contains", str, judge, shown=shown, mutations=lambda text: [
                     Mutation("the text removed from the output", lambda draft: draft.edit_output(without(text)))],
                 example="x")
