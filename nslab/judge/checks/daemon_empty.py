"""`daemon_empty: true`: the daemon lists no container and no image."""
from __future__ import annotations

from ..evidence import StepEvidence
from ..verdict import Status, Verdict
from .base import CheckKind


def judge(enabled: bool, evidence: StepEvidence) -> Verdict:
    contents = evidence.daemon_contents()
    ok = not contents["containers"] and not contents["images"]
    return Verdict("daemon_empty", Status.PASS if ok else Status.FAIL, {"containers": [], "images": []},
                   contents)


KIND = CheckKind("daemon_empty", bool, judge, lambda spec: ["daemon-contents"],
                 summary="the containers and images the daemon lists (docker SDK); expected: none")
