import json
import re
from pathlib import Path

import pytest

from nslab.errors import ConfigError
from nslab.run.layout import RunDir, RunView, write_atomic
from nslab.run.records import Manifest, StepEntry, StepRecord


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "a" / "b.txt"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["b.txt"]


def test_run_dir_keeps_a_manifest_and_points_latest_at_it(tmp_path):
    run = RunDir.create(tmp_path, "userns", destroy_policy="never")
    assert re.fullmatch(r"\d{8}T\d{6}Z-userns-[0-9a-f]{6}", run.run_id)
    assert (tmp_path / "latest").resolve() == run.path
    run.machine("debian12").steps.append(StepEntry("images", "root", "pass", number=1))
    run.save_manifest()
    view = RunView(run.path)
    assert [(s.step_id, s.status) for s in view.steps("debian12")] == [("images", "pass")]
    assert view.manifest.status == "running"
    run.finish("passed")
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["status"] == "passed" and manifest["finished"]


EVIDENCE = Path(__file__).resolve().parents[1] / "evidence"


@pytest.mark.parametrize("run", sorted(p.name for p in EVIDENCE.iterdir() if (p / "manifest.json").is_file()))
def test_a_recorded_run_reads_into_typed_records_and_writes_back_the_same(run):
    text = (EVIDENCE / run / "manifest.json").read_text()
    manifest = Manifest.parse(text, run)
    assert manifest.as_json() == json.loads(text)
    machine = manifest.only_machine()
    assert machine.docker_version and machine.steps and all(isinstance(s.seconds, float | int) for s in machine.steps)
    for path in sorted((EVIDENCE / run).rglob("*.json")):
        if re.fullmatch(r"\d{2,}-.*\.json", path.name):
            written, original = StepRecord.parse(path.read_text(), str(path)).as_json(), json.loads(path.read_text())
            # Records of older runs lack keys added since (question, refs): written back with their defaults.
            assert {key: written[key] for key in original} == original


def test_a_field_of_the_wrong_type_is_named_with_where_it_is():
    text = json.dumps({"run_id": "r", "scenario": "userns", "machines": {"debian12": {"steps": [
        {"id": "ps", "mode": "root", "status": "pass", "seconds": "slow"}]}}})
    with pytest.raises(ConfigError) as caught:
        Manifest.parse(text, "run/manifest.json")
    assert str(caught.value) == "run/manifest.json: machine debian12: step 1: 'seconds' is \"slow\", not int or float"


def test_two_runs_of_one_scenario_get_distinct_directories(tmp_path):
    first, second = RunDir.create(tmp_path, "userns"), RunDir.create(tmp_path, "userns")
    assert first.path != second.path and first.path.exists() and second.path.exists()


def _written_run(tmp_path):
    run = RunDir.create(tmp_path, "userns", scenario_text="name: userns\n")
    run.machine("debian12")
    run.write("debian12/root/01-ps.stdout", "UID PID CMD\n165536 1217 registry\n")
    (run.path / "debian12" / "vagrant-up-debian12.log").write_text("==> debian12: Machine booted\n")
    run.finish("passed")
    return run


def test_every_file_the_run_wrote_has_its_digest_and_verifies(tmp_path):
    run = _written_run(tmp_path)
    recorded = json.loads((run.path / "manifest.json").read_text())["artifacts"]
    assert set(recorded) == {"scenario.yaml", "debian12/root/01-ps.stdout", "debian12/vagrant-up-debian12.log"}
    assert all(value.startswith("sha256:") and len(value) == 71 for value in recorded.values())
    assert RunView(run.path).verify().problems() == []


def test_one_changed_byte_a_missing_file_and_a_stray_file_are_each_named(tmp_path):
    run = _written_run(tmp_path)
    stdout = run.path / "debian12/root/01-ps.stdout"
    stdout.write_text(stdout.read_text().replace("165536", "424242"))
    (run.path / "scenario.yaml").unlink()
    (run.path / "debian12/root/02-extra.stdout").write_text("added later\n")
    assert RunView(run.path).verify().problems() == [
        "debian12/root/01-ps.stdout: content changed since the run wrote it",
        "scenario.yaml: missing",
        "debian12/root/02-extra.stdout: not in the manifest (added since, or written after its last save)",
    ]


def test_a_recorded_file_replaced_by_a_link_out_of_the_run_is_named_and_never_read(tmp_path):
    run = _written_run(tmp_path)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("UID PID CMD\n165536 1217 registry\n")
    target = run.path / "debian12/root/01-ps.stdout"
    target.unlink()
    target.symlink_to(outside)
    assert RunView(run.path).verify().outside == [("debian12/root/01-ps.stdout", str(outside))]
    with pytest.raises(ConfigError, match="leaves the run directory"):
        RunView(run.path).read_text("debian12/root/01-ps.stdout")


@pytest.mark.parametrize("content, message", [
    ('{"run_id": "x", "scen', "not valid JSON"),
    ('{"status": "passed"}', "not a run's manifest"),
])
def test_a_broken_manifest_is_one_clear_error(tmp_path, content, message):
    (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(ConfigError, match=message):
        RunView(tmp_path)


def test_a_list_a_record_always_has_read_as_null_is_named_not_a_traceback():
    text = json.dumps({"run_id": "r", "scenario": "userns", "machines": {"debian12": {"modes": None}}})
    with pytest.raises(ConfigError) as caught:
        Manifest.parse(text, "run/manifest.json")
    assert str(caught.value) == "run/manifest.json: machine debian12: 'modes' is null, not list"
