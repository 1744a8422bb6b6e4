"""The nightly workflow is valid and runs the same cells `invoke matrix` runs here."""
import subprocess
import sys
from pathlib import Path

import yaml

from nslab.config.lab import load_lab
from nslab.paths import PROJECT_ROOT, scenarios_dir

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "nightly.yml"


def test_workflow_validates_against_the_github_workflow_schema():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_cells_are_the_local_matrix():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert "schedule" in workflow[True]          # PyYAML reads the key `on` as True
    cells = workflow["jobs"]["cell"]["strategy"]["matrix"]
    lab = load_lab()
    assert sorted(cells["box"]) == sorted(lab.default_boxes)
    assert all(lab.box(name).built_here for name in cells["box"])
    assert sorted(cells["scenario"]) == sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
    compare = workflow["jobs"]["compare"]
    assert compare["needs"] == ["cell", "vm"] and compare["if"] == "always()"
    assert any("invoke compare --runs artifacts" in step.get("run", "") for step in compare["steps"])


def test_workflow_vm_job_runs_every_lab_on_the_libvirt_twin_of_a_local_box():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    vm = workflow["jobs"]["vm"]
    assert sorted(vm["strategy"]["matrix"]["scenario"]) == sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
    command = next(step["run"] for step in vm["steps"] if "invoke up" in step.get("run", ""))
    box = command.split("--box ")[1].split()[0]
    assert "--provider libvirt" in command and load_lab().box(box, "libvirt").built_here
