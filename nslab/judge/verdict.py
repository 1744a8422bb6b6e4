"""Verdicts and the one set of step statuses."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


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


@dataclass
class Verdict:
    check: str
    status: Status
    expected: object
    observed: object
    detail: str = ""
    # Other sources that predict the expected value, and whether they agree with it.
    cross_checks: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["status"] = str(self.status)
        if not self.cross_checks:
            data.pop("cross_checks")
        return data

    def explain(self) -> str:
        return f"{self.check}: expected {self.expected!r}, got {self.observed!r}" + (
            f" ({self.detail})" if self.detail else "")


def worst(statuses) -> Status:
    present = set(statuses)
    return next((s for s in SEVERITY if s in present), Status.PASS)
