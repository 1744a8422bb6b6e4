"""`output_matches: REGEX`: a regular expression found in the command's output."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator

from ..evidence import StepEvidence
from ..mutation import Mutation
from ..verdict import Status, Verdict
from .base import CheckKind, last_line
from .output_contains import shown


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return pattern


def judge(pattern: str, evidence: StepEvidence) -> Verdict:
    found = re.search(pattern, evidence.output)
    return Verdict("output_matches", Status.PASS if found else Status.FAIL, pattern,
                   found.group(0) if found else last_line(evidence.output))


def _without_matches(pattern: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        for _ in range(len(text) + 1):      # a removal can join up a new match
            shorter = re.sub(pattern, "", text)
            if shorter == text:
                break
            text = shorter
        return text
    return change


KIND = CheckKind("output_matches", Annotated[str, AfterValidator(_compiles)], judge, shown=shown,
                 mutations=lambda pattern: [
                     Mutation("every match removed from the output",
                              lambda draft: draft.edit_output(_without_matches(pattern)))],
                 example="x")
