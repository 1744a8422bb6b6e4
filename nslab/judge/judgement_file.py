"""judgement.json: a run judged again (and proved, with `--mutate`), written beside its evidence.
It is derived from that evidence, never evidence itself."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..run.layout import write_json
from .prove import RunProof
from .run import RunJudgement

JUDGEMENT_FILE = "judgement.json"


def judgement_record(judgement: RunJudgement, proof: RunProof | None = None) -> dict[str, Any]:
    """Each step's verdicts as judged now beside the status the run recorded, and its checks' proof."""
    proofs = {p.step.ref: p for p in proof.steps} if proof else {}
    return {"run_id": judgement.view.run_id, "status": judgement.status,
            "integrity": judgement.integrity.problems(),
            "steps": [{"machine": s.machine, "mode": s.mode, "number": s.number,
                       "id": s.ref.step_id, "status": str(s.status),
                       "recorded_status": s.recorded_status,
                       "verdicts": [v.as_dict() for v in s.verdicts],
                       **({"proof": [c.as_dict() for c in proofs[s.ref].checks]}
                          if s.ref in proofs else {})} for s in judgement.steps]}


def write_judgement(judgement: RunJudgement, proof: RunProof | None = None) -> Path:
    target = judgement.view.path / JUDGEMENT_FILE
    write_json(target, judgement_record(judgement, proof))
    return target
