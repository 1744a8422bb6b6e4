"""Hostile run directories given to the offline commands, as a user types them: each gets a line naming
the file and what is wrong, exit 2, nothing written, no hang, and no link followed out of the run."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nslab.paths import INVOKE

PROJECT = Path(__file__).resolve().parents[2]
RECORDED = PROJECT / "tests" / "evidence" / "userns-debian12"
STEP = "debian12/userns/15-registry-userns-ps-host"


def truncated(run: Path) -> str:
    (run / "manifest.json").write_bytes((run / "manifest.json").read_bytes()[:200])
    return f"{run}/manifest.json: not valid JSON"


def hand_edited(run: Path) -> str:
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["machines"]["debian12"]["steps"][3] = {"id": 5}
    (run / "manifest.json").write_text(json.dumps(manifest))
    return f"{run}/manifest.json: machine debian12: step 4: has no 'mode', 'status'"


def step_file_missing(run: Path) -> str:
    (run / f"{STEP}.json").unlink()
    return f"{STEP}.json: missing"


def older_layout(run: Path) -> str:
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["layout"] = 1
    (run / "manifest.json").write_text(json.dumps(manifest))
    return "older"


def not_a_run(run: Path) -> str:
    shutil.rmtree(run)
    run.mkdir()
    (run / "notes.txt").write_text("not a run\n")
    return f"'{run}' is not a run (no manifest.json"


def file_linking_out(run: Path) -> str:
    (run / f"{STEP}.stdout").unlink()
    (run / f"{STEP}.stdout").symlink_to("/etc/passwd")
    return f"{STEP}.stdout: a link leaving the run (to /etc/passwd), not followed"


def folder_linking_out(run: Path) -> str:
    shutil.rmtree(run / "debian12/bozo")
    (run / "debian12/bozo").symlink_to("/etc")
    return "debian12/bozo/17-bozo-images.json: a link leaving the run (to /etc/17-bozo-images.json), not followed"


CASES = [truncated, hand_edited, step_file_missing, older_layout, not_a_run, file_linking_out, folder_linking_out]


def snapshot(folder: Path) -> dict:
    return {str(p): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*")}


def offline(*args, tmp_path):
    env = {**os.environ, "NSLAB_ARTIFACTS": str(tmp_path / "artifacts")}
    return subprocess.run([INVOKE, *args], cwd=PROJECT, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env=env)


@pytest.mark.parametrize("command", ["judge", "compare"])
@pytest.mark.parametrize("damage", CASES, ids=[c.__name__ for c in CASES])
def test_a_hostile_run_directory_gets_its_line_exit_2_and_nothing_written(tmp_path, damage, command):
    run = Path(shutil.copytree(RECORDED, tmp_path / "run", symlinks=True))
    wanted = damage(run)
    before = snapshot(tmp_path)
    process = offline(command, "--runs" if command == "compare" else "--run", str(run), tmp_path=tmp_path)
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-2000:]
    assert wanted in process.stdout + process.stderr
    assert "Traceback" not in process.stdout + process.stderr
    assert snapshot(tmp_path) == before


def test_a_folder_of_ten_thousand_runs_is_refused_in_one_line(tmp_path):
    folder = tmp_path / "runs"
    for number in range(10_000):
        (folder / f"{number:05d}").mkdir(parents=True)
        (folder / f"{number:05d}" / "manifest.json").write_text(
            f'{{"run_id": "r{number}", "scenario": "userns", "machines": {{}}}}')
    before = snapshot(tmp_path)
    judged = offline("judge", "--run", str(folder), tmp_path=tmp_path)
    assert judged.returncode == 2 and f"'{folder}' holds 10000 runs: name one of them" in judged.stderr
    compared = offline("compare", "--runs", str(folder), tmp_path=tmp_path)
    assert compared.returncode == 2
    assert f"{folder}: holds 10000 runs; compare takes at most 2000 at once" in compared.stderr
    assert len(compared.stderr.strip().splitlines()) == 1
    assert snapshot(tmp_path) == before
