"""Drift is named for every check kind: each kind says which facts a comparison diffs (its `shown`),
and `report/` asks it instead of naming kinds. Runs recorded on real machines (tests/evidence/) are
copied as another machine would have written them (`another_machine.py`) and compared with the
original; the change must be named in the kind's own facts, in every report format and in the
nightly."""
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markupsafe import escape

from nslab.judge.checks import KINDS
from nslab.judge.mutation import Draft, NotApplicable
from nslab.judge.run import judge_run
from nslab.report import nights
from nslab.report.compare import build, drift
from nslab.report.formats import write_reports

from .another_machine import as_another_machine

EVIDENCE = Path(__file__).resolve().parent.parent / "evidence"
RUNS = sorted(p.name for p in EVIDENCE.iterdir() if (p / "manifest.json").is_file())


def a_passed_check(kind: str):
    """The first recorded step where a check of this kind passed and one of its mutations applies."""
    for run in RUNS:
        for step in judge_run(EVIDENCE / run).steps:
            for verdict in step.verdicts:
                if verdict.check != kind or verdict.status != "pass":
                    continue
                for mutation in KINDS[kind].mutations(getattr(step.expect, kind)):
                    try:
                        mutation.apply(_scratch(step))
                    except NotApplicable:
                        continue
                    return run, step.machine, step.ref.step_id, mutation, verdict.as_dict()
    raise AssertionError(f"no recorded step passes a {kind} check that a mutation can change")


def _scratch(step) -> Draft:
    return Draft(step.evidence)


def named_in_every_format(changes, comparison, folder: Path) -> None:
    write_reports(comparison, changes, folder)
    report = json.loads((folder / "report.json").read_text())["drift"]
    for change in changes:
        assert {"step": change.row[2], "fact": change.fact} in [{"step": d["step"], "fact": d["fact"]} for d in report]
        assert change.describe().replace("|", "\\|") in (folder / "report.md").read_text()
        assert str(escape(change.describe())) in (folder / "report.html").read_text()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_value_of_every_kind_that_changes_is_named_as_drift_by_that_kinds_facts(kind, tmp_path):
    run, machine, step_id, mutation, verdict = a_passed_check(kind)
    baseline = tmp_path / "baseline" / run
    as_another_machine(EVIDENCE / run, baseline, machine, step_id, mutation.apply)
    current = build([EVIDENCE / run])
    changes = drift(current, build([baseline]))
    facts = set(KINDS[kind].shown(verdict).facts)
    assert facts, f"{kind} shows no fact a comparison could diff"
    named = {c.fact for c in changes if (c.machine, c.row[2]) == (machine, step_id)}
    assert named & facts, f"{kind}: '{mutation.name}' on {run} {step_id} named only {sorted(named)}"
    named_in_every_format(changes, current, tmp_path / "reports")


def remap_range_moved(by: int):
    """Every id of dockremap's range (165536 + 65536) moved by `by` in the step's facts, consistently:
    the process's maps and status, the host's subuid/subgid, the owner of files on the host."""
    def change(draft) -> None:
        for name in _fact_names(draft):
            text = draft.raw(name)
            moved = re.sub(r"\b(1[6-9]\d{4}|2[0-2]\d{4}|23[01]\d{3})\b",
                           lambda m: str(int(m.group(0)) + by) if 165536 <= int(m.group(0)) < 231072
                           else m.group(0), text)
            if moved != text:
                draft.edit(name, lambda _, moved=moved: moved)
    return change


def _fact_names(draft) -> list[str]:
    return sorted(p.name for p in Path(draft.folder).iterdir() if p.is_file() and not p.name.endswith(".json"))


def capability_added(name_bit: int):
    """The container's effective set holds one more capability (a bit in CapEff)."""
    def change(draft) -> None:
        for name in _fact_names(draft):
            if name.endswith(".host-status"):
                draft.edit(name, lambda text: re.sub(
                    r"^CapEff:\s*([0-9a-f]+)$", lambda m: f"CapEff:\t{int(m.group(1), 16) | 1 << name_bit:016x}",
                    text, count=1, flags=re.M))
    return change


CONSISTENT = {
    # A machine whose dockremap range starts 100000 higher: the file's owner on the host moves with it.
    "owner": ("ownership-debian12", "writer-1000-userns", remap_range_moved(100000), {
        "owner_host /share/by-1000": ("266536:266536", "166536:166536")}),
    # A machine whose container root also holds CAP_SYS_PTRACE (bit 19), which has/lacks do not name.
    "caps": ("capabilities-debian12", "rootful-root", capability_added(19), {}),
}


@pytest.mark.parametrize("kind", sorted(CONSISTENT))
def test_a_change_that_stays_green_is_drift_too_in_every_format_and_in_the_nightly(kind, tmp_path):
    run, step_id, change, expected = CONSISTENT[kind]
    baseline = tmp_path / "baseline" / run
    record = as_another_machine(EVIDENCE / run, baseline, "debian12", step_id, change)
    assert record["status"] == "pass"                   # the verdict stays green on the other machine
    assert judge_run(baseline).disagreements == [] and judge_run(baseline).integrity.ok
    current = build([EVIDENCE / run])
    changes = [c for c in drift(current, build([baseline])) if c.row[2] == step_id]
    assert changes and {c.fact for c in changes} <= set(KINDS[kind].shown(
        next(v for v in record["verdicts"] if v["check"] == kind)).facts)
    for fact, (before, after) in expected.items():
        assert [(c.before, c.after) for c in changes if c.fact == fact] == [(before, after)]
    if kind == "caps":
        (added,) = changes
        assert set(added.before) - set(added.after) == {"CAP_SYS_PTRACE"}
    named_in_every_format(changes, current, tmp_path / "reports")
    # The nightly: the other machine's night, then this one's; its changes name the same facts.
    first = _night(tmp_path / "nights", baseline, "2026-11-21T02:17:00")
    second = _night(tmp_path / "nights", EVIDENCE / run, "2026-11-22T02:17:00")
    assert first.name == "2026-11-21"
    assert {(c["step"], c["fact"]) for c in second.record["changes"]} >= {(step_id, c.fact) for c in changes}


def _night(folder: Path, run: Path, when: str):
    """A night kept from one run, as `invoke nightly --from-runs` keeps it."""
    earlier = nights.kept_nights(folder)
    path = nights.new_night_folder(folder, datetime.fromisoformat(when))
    shutil.copytree(run, path / "runs" / run.name)
    return nights.record_night(path, [], earlier[-1] if earlier else None,
                               now=datetime.fromisoformat(when).replace(tzinfo=UTC))
