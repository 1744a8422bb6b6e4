"""`output_matches: REGEX`: a regular expression found in the command's output."""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from ..verdict import Status, Verdict
from .base import CheckKind, last_line


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return pattern


def judge(pattern: str, evidence) -> Verdict:
    found = re.search(pattern, evidence.output)
    return Verdict("output_matches", Status.PASS if found else Status.FAIL, pattern,
                   found.group(0) if found else last_line(evidence.output))


KIND = CheckKind("output_matches", Annotated[str, AfterValidator(_compiles)], judge,
                 summary="a regular expression is found in the step's stdout and stderr")
