"""Issue 14 on a real machine: every passed check shown able to fail (`--prove`, `judge --mutate`),
a vacuous check named, the two labs beyond the seeds, and a scenario that brings its own material."""
import json
import re

import pytest

from nslab.subids import parse_subids, range_of

from .conftest import invoke, judge_offline, step_path

pytestmark = pytest.mark.lab

PROOF_LINE = re.compile(r"^(\S+) on (\S+): (\d+) checks tried, (\d+) shown able to fail$", re.M)


def proof_counts(output: str) -> dict[tuple[str, str], tuple[int, int]]:
    return {(lab, machine): (int(tried), int(shown)) for lab, machine, tried, shown in PROOF_LINE.findall(output)}


def run_lab(scenario: str, tmp_path, *flags):
    """A lab on the machine the userns lab left up, in artifacts of its own (others' `latest` stays)."""
    process = invoke("up", f"scenario={scenario}", "--destroy", "never", *flags,
                     env={"NSLAB_ARTIFACTS": str(tmp_path)})
    return process, (tmp_path / "latest").resolve()


def verdict(run_path, step_id, check):
    """A step's verdict of one check kind, the step found by its id in the run's manifest."""
    record = json.loads(step_path(run_path, "debian12", step_id, "json").read_text())
    found = [v for v in record["verdicts"] if v["check"] == check]
    assert len(found) == 1, f"{step_id}: {len(found)} verdicts of kind {check}"
    return found[0]


@pytest.mark.parametrize("lab", ["userns_run", "workshop_run"])
def test_judge_mutate_shows_every_passed_check_of_the_seed_labs_able_to_fail(lab, request):
    _, run_path, _ = request.getfixturevalue(lab)
    result, process = judge_offline(str(run_path), "--mutate")
    assert result == {"code": 0, "loaded": []}, process.stdout[-3000:] + process.stderr[-2000:]
    [(tried, shown)] = proof_counts(process.stdout).values()
    assert tried == shown >= 20
    assert "cannot fail" not in process.stdout


def test_a_vacuous_check_is_named_unable_to_fail_and_up_prove_exits_1(userns_run, machine, tmp_path):
    process, run_path = run_lab("tests/scenarios/vacuous.yaml", tmp_path, "--prove")
    assert "1 steps: 1 pass" in process.stdout           # the lab itself passed
    assert process.returncode == 1, process.stdout[-3000:] + process.stderr[-2000:]
    assert proof_counts(process.stdout) == {("vacuous", "debian12"): (2, 1)}
    assert ("cannot fail debian12 root/01-echo: output_matches: stayed pass when every match removed from "
            "the output") in process.stdout
    [step] = json.loads((run_path / "judgement.json").read_text())["steps"]
    proof = step["proof"]
    assert {p["check"]: p["shown"] for p in proof} == {"exit": True, "output_matches": False}
    # Offline, the same verdict on the same evidence.
    result, judged = judge_offline(str(run_path), "--mutate")
    assert result["code"] == 1 and "cannot fail debian12 root/01-echo: output_matches" in judged.stdout


@pytest.mark.parametrize("scenario, steps", [("ownership", 12), ("capabilities", 11)])
def test_the_labs_beyond_the_seeds_pass_with_every_check_shown_able_to_fail(userns_run, machine, tmp_path,
                                                                            scenario, steps):
    process, run_path = run_lab(scenario, tmp_path, "--prove")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert f"{steps} steps: {steps} pass" in process.stdout
    [(tried, shown)] = proof_counts(process.stdout).values()
    assert tried == shown >= 15
    start = range_of(parse_subids((run_path / "debian12" / "userns" / "subuid").read_text()), "dockremap").start
    if scenario == "ownership":
        bind = verdict(run_path, "bind-userns", "owner")
        assert bind["observed"] == {"path": "/share/by-root", "inside": [0, 0], "host": [start, start]}
        assert verdict(run_path, "bind-root", "owner")["observed"]["host"] == [0, 0]
        assert verdict(run_path, "writer-1000-userns", "owner")["observed"]["host"] == \
            [start + 1000, start + 1000]
    else:
        root = verdict(run_path, "rootful-root", "caps")
        remapped = verdict(run_path, "rootful-userns", "caps")
        assert root["observed"] == remapped["observed"] and "CAP_SYS_ADMIN" in root["observed"]["lacks"]
        assert f"mapping [(0, {start}, 65536)]" in remapped["detail"]
        assert "Permission denied" in step_path(run_path, "debian12", "write-host-userns", "stderr").read_text()


def test_a_scenario_with_files_and_a_built_image_runs_offline(userns_run, machine, tmp_path):
    process, run_path = run_lab("tests/scenarios/own-material.yaml", tmp_path, "--prove")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert "4 steps: 4 pass" in process.stdout
    start = range_of(parse_subids((run_path / "debian12" / "userns" / "subuid").read_text()), "dockremap").start
    assert verdict(run_path, "marked", "uid")["observed"]["host"] == start + 1000
    owner = verdict(run_path, "marked-file-owner", "owner")
    assert owner["observed"]["host"] == [start + 1000, start + 1000]
    assert "/root/etc/motto.txt" in owner["detail"]          # in the container's own filesystem
    # The material travelled with the run, beside its scenario copy, and judging reads it back.
    assert (run_path / "material/notes/hello.txt").read_text() == "hello from the scenario's own files\n"
    assert "FROM ${BASE}" in (run_path / "material/marked-image/Dockerfile").read_text()
    result, _ = judge_offline(str(run_path), "--mutate")
    assert result == {"code": 0, "loaded": []}
