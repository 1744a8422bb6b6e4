"""`invoke judge` over real runs: the same verdicts from the artifacts alone, edits named,
and a container with its own user-namespace setting judged by its own facts."""
import json
import shutil

import pytest

from nslab.judge.run import judge_run
from nslab.run.layout import RunView
from nslab.subids import parse_subids, range_of

from .conftest import invoke, judge_offline, recorded_steps, step_path

pytestmark = pytest.mark.lab

@pytest.mark.parametrize("lab", ["userns_run", "workshop_run"])
def test_judge_rederives_every_live_verdict_without_the_ssh_stack(lab, request):
    _, run_path, _ = request.getfixturevalue(lab)
    result, process = judge_offline(str(run_path), "--write")
    assert result["code"] == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert result["loaded"] == [], f"invoke judge loaded {result['loaded']}"
    assert "every verdict agrees with the run's own" in process.stdout
    judged = json.loads((run_path / "judgement.json").read_text())
    live = recorded_steps(run_path)
    assert len(judged["steps"]) == len(live) > 10
    for step in judged["steps"]:
        status, verdicts = live[(step["machine"], step["id"])]
        assert (step["status"], step["verdicts"]) == (status, verdicts), step["id"]


def test_the_issues_edit_is_named_by_judge_and_flagged_by_compare(userns_run, tmp_path):
    copy = shutil.copytree(userns_run[1], tmp_path / userns_run[1].name, symlinks=True)
    ps_host = step_path(copy, "debian12", "registry-userns-ps-host", "stdout")
    edited = str(ps_host.relative_to(copy))
    start = range_of(parse_subids((copy / "debian12" / "userns" / "subuid").read_text()), "dockremap").start
    assert f"\n{start} " in ps_host.read_text()
    ps_host.write_text(ps_host.read_text().replace(f"\n{start} ", "\n424242 "))
    process = invoke("judge", str(copy))      # the bare positional, as a user types it
    assert process.returncode == 2, process.stdout[-3000:]
    assert f"evidence changed {edited}: content changed since the run wrote it" in process.stdout
    assert "registry-userns-ps-host: recorded pass, judged fail" in process.stdout
    compared = invoke("compare", "--runs", str(copy), "--out", str(tmp_path / "reports"))
    column = json.loads((tmp_path / "reports" / "report.json").read_text())["columns"][0]
    assert "EVIDENCE CHANGED" in column["label"]
    assert column["flags"] == [
        f"evidence: {edited}: content changed since the run wrote it",
        "userns/registry-userns-ps-host: re-judged fail, recorded pass"]
    assert f"{edited}: content changed" in compared.stdout


def test_one_changed_byte_in_any_artifact_is_named_alone(userns_run, tmp_path):
    copy = shutil.copytree(userns_run[1], tmp_path / "run", symlinks=True)
    recorded = json.loads((copy / "manifest.json").read_text())["artifacts"]
    assert len(recorded) > 100
    for relative in recorded:
        path = copy / relative
        original = path.read_bytes()
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]) if original else b"x")
        assert RunView(copy).verify().problems() == [f"{relative}: content changed since the run wrote it"]
        if relative != "scenario.yaml":      # a damaged scenario copy stops judging with one line
            assert not judge_run(copy).integrity.ok
        path.write_bytes(original)
    assert judge_run(copy).integrity.ok and judge_run(copy).disagreements == []


def test_a_container_with_its_own_userns_setting_is_judged_by_its_own_facts(userns_run, machine, tmp_path):
    # Artifacts of its own, so the other tests' `latest` stays theirs.
    process = invoke("up", "scenario=tests/scenarios/own-userns.yaml", "--destroy", "never",
                     env={"NSLAB_ARTIFACTS": str(tmp_path)})
    run_path = (tmp_path / "latest").resolve()
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert "5 steps: 5 pass" in process.stdout
    start = range_of(parse_subids((run_path / "debian12" / "userns" / "subuid").read_text()), "dockremap").start

    def verdict(number, step, check):
        record = json.loads((run_path / "debian12" / "userns" / f"{number:02d}-{step}.json").read_text())
        return next(v for v in record["verdicts"] if v["check"] == check)

    opted_out = verdict(3, "hostns", "uid")
    assert opted_out["observed"] == opted_out["expected"] == {"container": "hostns", "inside": 0, "host": 0}
    assert opted_out["cross_checks"] == [{"source": "the container opts out of the daemon's user namespace "
                                                    "(--userns=host)", "expected": 0, "agrees": True}]
    remapped = verdict(2, "remapped", "gid")
    assert remapped["observed"] == {"container": "remapped", "inside": 0,
                                    "host": range_of(parse_subids((run_path / "debian12" / "userns" /
                                                                   "subgid").read_text()), "dockremap").start}
    assert verdict(4, "hostns-ps-host", "ps_row")["observed"]["user"] == "root"
    assert verdict(5, "remapped-ps-host", "ps_row")["observed"]["uid"] == start
    result, _ = judge_offline(str(run_path))
    assert result == {"code": 0, "loaded": []}
