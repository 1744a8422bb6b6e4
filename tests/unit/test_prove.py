"""Mutation proof on evidence recorded from real runs: every passed check turns to fail under each
mutation its kind defines; a vacuous expectation is named; the run's files are never written."""
import hashlib
from pathlib import Path

import pytest

from nslab.config.scenario import Expect
from nslab.judge import judge_step
from nslab.judge.checks import KINDS
from nslab.judge.evidence import StepEvidence
from nslab.judge.prove import prove_checks, prove_run
from nslab.judge.run import judge_run
from nslab.judge.verdict import Status

EVIDENCE = Path(__file__).resolve().parent.parent / "evidence"
RECORDED = sorted(p.name for p in EVIDENCE.iterdir() if (p / "manifest.json").is_file())




def test_every_check_kind_defines_at_least_one_mutation():
    for name, kind in KINDS.items():
        assert kind.example is not None, f"check kind {name} gives no example of its expectation"
        assert kind.mutations(getattr(Expect.model_validate({name: kind.example}), name)), name


@pytest.mark.parametrize("name", RECORDED)
def test_every_passed_check_of_a_recorded_run_is_shown_able_to_fail(name):
    proof = prove_run(judge_run(EVIDENCE / name))
    assert proof.unshown == []
    [(tried, shown)] = proof.per_machine().values()
    assert tried == shown and tried >= 7
    for step in proof.steps:
        for check in step.checks:
            # Each mutation that applied turned the verdict to fail, not to an error.
            assert {t.status for t in check.applied} == {"fail"}, (step.step.ref.step_id, check.as_dict())


def test_the_userns_lab_proves_each_kind_it_uses_by_name():
    proof = prove_run(judge_run(EVIDENCE / "userns-debian12"))
    by_step = {p.step.ref.step_id: p for p in proof.steps}
    uid = next(c for c in by_step["registry-userns"].checks if c.check == "uid")
    assert [t.mutation for t in uid.trials] == [
        "the observed host uid moved off the mapping", "the container's uid_map entry shifted",
        "the container-side uid changed",
        "the cross-check's source moved (--userns=host, /etc/subuid or the mode)"]
    assert {t.status for t in uid.trials} == {"fail"}
    kinds = {c.check for p in proof.steps for c in p.checks}
    assert {"exit", "uid", "gid", "ps_row", "data_root", "daemon_empty", "output_contains"} <= kinds


def test_proving_never_writes_the_run():
    run = EVIDENCE / "userns-debian12"
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}
    prove_run(judge_run(run))
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("expect, why", [
    ({"output_matches": ".*"}, "stayed pass when every match removed from the output"),
    ({"output_matches": "x*"}, "no mutation applies"),
    ({"output_contains": ""}, "no mutation applies"),
])
def test_a_vacuous_expectation_is_named_unable_to_fail(tmp_path, expect, why):
    evidence = StepEvidence(tmp_path, 0, "registry listening on 127.0.0.1:5000\n", "", {})
    expectation = Expect.model_validate(expect)
    verdicts = judge_step(expectation, evidence, [])
    assert [v.status for v in verdicts] == [Status.PASS]
    [proof] = prove_checks(expectation, evidence, verdicts)
    assert not proof.shown and why in proof.why_not()


def test_a_real_expectation_on_the_same_output_is_shown_able_to_fail(tmp_path):
    evidence = StepEvidence(tmp_path, 0, "registry listening on 127.0.0.1:5000\n", "", {})
    expectation = Expect.model_validate({"output_matches": r"listening on [0-9.]+:5000", "exit": 0})
    proofs = prove_checks(expectation, evidence, judge_step(expectation, evidence, []))
    assert [(p.check, p.shown) for p in proofs] == [("exit", True), ("output_matches", True)]


def test_a_check_that_failed_is_not_proved(tmp_path):
    evidence = StepEvidence(tmp_path, 1, "", "boom\n", {})
    expectation = Expect.model_validate({"exit": 0})
    assert prove_checks(expectation, evidence, judge_step(expectation, evidence, [])) == []


def test_the_docs_list_every_check_kind_with_its_mutations():
    page = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text()
    table = page[page.index("## Expectations (check kinds)"):page.index("A broken file is refused")]
    rows = {line.split("`")[1].split(":")[0]: line for line in table.splitlines() if line.startswith("| `")}
    assert set(rows) == set(KINDS)
    for name, kind in KINDS.items():
        if name == "caps":      # its mutations name the capability the scenario gives
            continue
        spec = getattr(Expect.model_validate({name: kind.example}), name)
        for mutation in kind.mutations(spec):
            assert mutation.name in rows[name], f"docs/scenarios.md's row for {name} lacks '{mutation.name}'"
