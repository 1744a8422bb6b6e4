"""`output_contains: TEXT`: the command's output (stdout and stderr) holds the text."""
from __future__ import annotations

from ..mutation import Mutation, without
from ..verdict import Status, Verdict
from .base import CheckKind, last_line, line_with


def judge(text: str, evidence) -> Verdict:
    output = evidence.output
    ok = text in output
    return Verdict("output_contains", Status.PASS if ok else Status.FAIL, text,
                   line_with(output, text) if ok else last_line(output))


KIND = CheckKind("output_contains", str, judge, mutations=lambda text: [
                     Mutation("the text removed from the output", lambda draft: draft.edit_output(without(text)))],
                 summary="the step's stdout and stderr contain the text")
