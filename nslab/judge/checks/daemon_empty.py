"""`daemon_empty: true`: the daemon lists no container and no image."""
from __future__ import annotations

import json
from collections.abc import Callable

from ..evidence import StepEvidence
from ..mutation import Draft, Mutation
from ..verdict import Status, Verdict, VerdictRecord
from .base import CheckKind, Shown


def judge(enabled: bool, evidence: StepEvidence) -> Verdict:
    contents = evidence.daemon_contents()
    ok = not contents["containers"] and not contents["images"]
    return Verdict("daemon_empty", Status.PASS if ok else Status.FAIL, {"containers": [], "images": []},
                   contents)


def _left(what: str, name: str) -> Callable[[Draft], None]:
    def change(text: str) -> str:
        contents = json.loads(text)
        contents[what] = [*contents.get(what, []), name]
        return json.dumps(contents)
    return lambda draft: draft.edit("daemon-contents.json", change)


def shown(verdict: VerdictRecord, spec: bool | None = None) -> Shown:
    observed = verdict.get("observed")
    if not isinstance(observed, dict):
        return Shown()
    return Shown({"daemon_contents": {kind: len(names) for kind, names in observed.items()}})


KIND = CheckKind("daemon_empty", bool, judge, lambda spec: ["daemon-contents"], shown=shown, mutations=lambda spec: [
                     Mutation("a container left in the daemon", _left("containers", "nslab-mutant")),
                     Mutation("an image left in the daemon", _left("images", "nslab/mutant:latest"))],
                 example=True)
