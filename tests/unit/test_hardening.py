"""The hardening lab's offline parts: Docker version conditions, the verdict for a version a lab states
nothing for, and the configuration reading beside the behaviour, on a recorded real run (Docker 26)."""
import json
from pathlib import Path

import pytest

from nslab.config.scenario import load_scenario
from nslab.config.versions import VersionRange, overlap, parse_version
from nslab.errors import ConfigError
from nslab.judge import judge_check
from nslab.judge.checks import KINDS
from nslab.judge.checks.config_reading import READINGS
from nslab.judge.mutation import Draft
from nslab.judge.run import judge_recorded_step, recorded_evidence
from nslab.report import compare
from nslab.report.formats import markdown
from nslab.run.layout import RunView

RUN = Path(__file__).resolve().parent.parent / "evidence" / "hardening-debian13"


@pytest.mark.parametrize("reported, parsed", [("26.1.5+dfsg1", (26, 1, 5)), ("20.10.24+dfsg1", (20, 10, 24)),
                                              ("28.5", (28, 5, 0)), ("v23", (23, 0, 0)), ("dev", None)])
def test_a_version_is_read_by_its_leading_numbers(reported, parsed):
    assert parse_version(reported) == parsed


def test_conditions_hold_by_each_bound_and_two_that_meet_are_found():
    middle = VersionRange.parse(">=20.10.9,<23")
    assert [middle.holds(v) for v in [(20, 10, 8), (20, 10, 9), (22, 9, 9), (23, 0, 0)]] == [False, True, True, False]
    assert overlap([VersionRange.parse("<23"), VersionRange.parse(">=23")]) is None
    one, other, where = overlap([VersionRange.parse("<=23"), VersionRange.parse(">=23")])
    assert (one.text, other.text, where) == ("<=23", ">=23", (23, 0, 0))


def _scenario_with(tmp_path, old: str, new: str) -> Path:
    text = (RUN / "scenario.yaml").read_text()
    assert old in text
    path = tmp_path / "hardening.yaml"
    path.write_text(text.replace(old, new))
    return path


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


@pytest.mark.parametrize("old, new, said", [
    ('">=23":', '"23+":', "'23+' is not a Docker version condition"),
    ('">=23":', '">=22":', "'<23' and '>=22' both hold for Docker 22.0.0"),
    ('">=23": {config_reading: {setting: seccomp, reads: "off"',
     '">=23": {config_reading: {setting: seccomp, reads: "maybe"', "Input should be 'on' or 'off'"),
])
def test_a_bad_condition_is_refused_at_load_with_file_and_line(tmp_path, old, new, said):
    path = _scenario_with(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_scenario(str(path))
    line = _line_of(path, new.split(":")[0])
    assert str(caught.value).startswith(f"{path}:{line}: ") and said in str(caught.value)


def test_a_version_no_condition_covers_gets_no_expectation_never_a_pass(tmp_path):
    scenario = load_scenario(str(_scenario_with(tmp_path, '">=23":', '">=27":')))
    view = RunView(RUN)
    ref = next(r for r in view.steps("debian13") if r.step_id == "seccomp-default")
    judged = judge_recorded_step(view, scenario, ref)
    [verdict] = judged.verdicts
    assert (verdict.check, str(verdict.status)) == ("docker_version", "error")
    assert verdict.detail == "no expectation for Docker 26.1.5+dfsg1: the lab states expectations for <23, >=27"


def test_the_recorded_run_judges_by_its_versions_condition():
    view = RunView(RUN)
    scenario = load_scenario(str(RUN / "scenario.yaml"))
    ref = next(r for r in view.steps("debian13") if r.step_id == "seccomp-default")
    judged = judge_recorded_step(view, scenario, ref)
    reading = next(v for v in judged.verdicts if v.check == "config_reading")
    assert judged.version_condition == ">=23" and str(judged.status) == "pass"
    assert reading.observed == {"reads": "off"} and reading.expected == {"reads": "off", "does": "on"}
    assert "profile=builtin" in reading.detail


@pytest.mark.parametrize("setting, cmdline, reads", [
    ("userland-proxy", "/usr/sbin/dockerd -H fd:// --userland-proxy=false", True),
    ("userland-proxy", "/usr/sbin/dockerd --userland-proxy=0", True),          # Go reads 0 as false
    ("userland-proxy", "/usr/sbin/dockerd --userland-proxy=false --userland-proxy=true", False),   # the last wins
    ("no-new-privileges", "/usr/sbin/dockerd --no-new-privileges", True),
    ("no-new-privileges", "/usr/sbin/dockerd --no-new-privileges=FALSE", False),
    ("default-ulimits", "/usr/sbin/dockerd --default-ulimit nofile=1024:2048", True),
    ("default-ulimits", "/usr/sbin/dockerd --insecure-registry=127.0.0.1:5000", False),
])
def test_a_command_line_is_read_as_dockerd_reads_its_flags(setting, cmdline, reads):
    on, said = READINGS[setting].read({"file": None, "cmdline": cmdline})
    assert on is reads, said


def test_a_claim_counts_the_behaviour_only_where_the_steps_other_checks_passed():
    reading = {"check": "config_reading", "status": "pass", "expected": {"reads": "on", "does": "on"},
               "observed": {"reads": "on"}, "detail": "icc: default bridge com.docker.network.bridge.enable_icc: false"}
    probe = {"check": "exit", "status": "pass", "expected": "nonzero", "observed": 1, "detail": ""}
    pairs = [(reading, KINDS["config_reading"].shown(reading)), (probe, KINDS["exit"].shown(probe))]
    assert compare._claims(pairs, [reading, probe]) == [("icc", "on", "on")]
    probe["status"] = "fail"              # the probe got through: icc off in the file did nothing
    assert compare._claims(pairs, [reading, probe]) == [("icc", "on", "unproven")]


def test_the_report_sets_the_configuration_reading_beside_the_behaviour_and_marks_where_they_disagree():
    comparison = compare.build([RUN])
    [column] = comparison.columns
    claims = {claim.setting: claim.readings[column.key] for claim in comparison.claim_rows()}
    assert set(claims) == {"seccomp", "no-new-privileges", "icc", "default-ulimits", "userland-proxy", "live-restore"}
    assert [(mode, reads, does) for mode, _, reads, does in claims["seccomp"]] == [("control", "off", "on")]
    apart = [(mode, reads, does) for mode, _, reads, does in claims["no-new-privileges"] if reads != does]
    assert apart == [("control", "on", "off")]          # the key written, the daemon not restarted
    assert all(reads == does for mode, _, reads, does in claims["icc"]) and len(claims["icc"]) == 6
    page = markdown.render(comparison, [])
    assert "| seccomp | ⚠ control (a container's process runs under the default seccomp profile (Seccomp: 2)): " \
           "config reads off, machine does on; agree in 0 of 1 |" in page
    assert "(>=23) pass · Seccomp 2 · config: off ≠ machine: on" in page


def test_a_container_not_running_before_the_command_is_an_error_of_same_process_never_a_pass():
    view = RunView(RUN)
    ref = next(r for r in view.steps("debian13") if r.step_id == "daemon-restart-live-restore")
    draft = Draft(recorded_evidence(view, ref, view.step_record(ref)))
    scenario = load_scenario(str(RUN / "scenario.yaml"))
    spec = next(s for s in scenario.steps if s.id == ref.step_id).expect.same_process
    assert str(judge_check("same_process", spec, draft).status) == "pass"

    def stopped(text: str) -> str:
        inspect = json.loads(text)
        inspect["State"].update(Running=False, Pid=0)
        return json.dumps(inspect)
    draft.edit("before.container-pub.inspect.json", stopped)
    verdict = judge_check("same_process", spec, draft)
    assert (str(verdict.status), verdict.detail) == (
        "error", "container 'pub' is not running before the step's command")
