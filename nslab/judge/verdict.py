"""Verdicts and the one set of step statuses."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, NotRequired, TypedDict


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    # Failed for a reason of the host the machine runs on (a known limit of its provider).
    LIMITED = "environment-limited"
    # Never ran: an earlier step broke the machine or its connection.
    NOT_RUN = "not-run"


# Worst first: a step takes the worst status among its verdicts.
SEVERITY = (Status.ERROR, Status.FAIL, Status.LIMITED, Status.PASS)
# Not failures of the lab (environment-limited is not a pass either, but the lab held).
JUDGED_OK = {Status.PASS, Status.LIMITED}
#: A verdict as a run records it (JSON): what `Verdict.as_dict` writes, read back as it was written.
VerdictRecord = dict[str, Any]


class CrossCheck(TypedDict):
    """Another source that predicts the expected value: agrees None when it could not be made."""
    source: str
    expected: int | None
    agrees: bool | None
    detail: NotRequired[str]


@dataclass
class Verdict:
    check: str
    status: Status
    expected: object
    observed: object
    detail: str = ""
    # Other sources that predict the expected value, and whether they agree with it.
    cross_checks: list[CrossCheck] = field(default_factory=list)

    def as_dict(self) -> VerdictRecord:
        data = asdict(self)
        data["status"] = str(self.status)
        if not self.cross_checks:
            data.pop("cross_checks")
        return data

    def explain(self) -> str:
        return f"{self.check}: expected {self.expected!r}, got {self.observed!r}" + (
            f" ({self.detail})" if self.detail else "")


def worst(statuses: Iterable[Status]) -> Status:
    present = set(statuses)
    return next((s for s in SEVERITY if s in present), Status.PASS)
