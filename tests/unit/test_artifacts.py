import json
import re

from nslab.artifacts import RunDir, load_manifest, write_atomic


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
    run.machine("debian12")["steps"].append({"id": "images", "status": "pass"})
    run.save_manifest()
    assert load_manifest(run.path)["machines"]["debian12"]["steps"][0]["status"] == "pass"
    assert load_manifest(run.path)["status"] == "running"
    run.finish("passed")
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["status"] == "passed" and manifest["finished"]


def test_two_runs_of_one_scenario_get_distinct_directories(tmp_path):
    first, second = RunDir.create(tmp_path, "userns"), RunDir.create(tmp_path, "userns")
    assert first.path != second.path and first.path.exists() and second.path.exists()
