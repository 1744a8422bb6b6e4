"""The nightly workflow is valid and runs the same cells `invoke matrix` runs here."""
import subprocess
import sys
from pathlib import Path

import yaml

from nslab.machines.inventory import load_lab
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
    sentinels = [name for name, box in lab.boxes.items() if box.rebuild_daily]
    assert sentinels == ["debian-sid"]
    assert sorted(cells["box"]) == sorted(lab.default_boxes + sentinels)
    assert all(lab.box(name).built_here for name in cells["box"])
    included = [(cell["box"], cell["scenario"]) for cell in cells.get("include", [])]
    assert included == [("debian12", "isolation")]
    assert sorted(cells["scenario"] + ["isolation"]) == sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
    compare = workflow["jobs"]["compare"]
    assert compare["needs"] == ["cell", "vm"] and compare["if"] == "always()"
    assert any("invoke nightly --from-runs cells --folder nights" in step.get("run", "")
               for step in compare["steps"])


def test_the_compare_job_keeps_the_nights_and_fails_on_a_change_after_saving_them():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["compare"]["steps"]
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    restore, save = uses.index("actions/cache/restore"), uses.index("actions/cache/save")
    night = next(i for i, step in enumerate(steps) if step.get("id") == "night")
    fail = next(i for i, step in enumerate(steps) if step.get("if") == "steps.night.outputs.status != '0'")
    assert restore < night < save < fail
    assert steps[restore]["with"]["restore-keys"] == "nslab-nights-" and steps[save]["if"] == "always()"
    summary = steps[night + 1]["run"]
    assert "cat nights/LATEST" in summary and "GITHUB_STEP_SUMMARY" in summary and "invoke history" in summary


def test_lab_yaml_nightly_cells_are_the_workflows_cells():
    workflow = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    groups = [(sorted(g.boxes), sorted(g.scenarios)) for g in load_lab().nightly.cells]
    assert (sorted(workflow["cell"]["strategy"]["matrix"]["box"]),
            sorted(workflow["cell"]["strategy"]["matrix"]["scenario"])) in groups
    assert (["debian12-vm"], sorted(workflow["vm"]["strategy"]["matrix"]["scenario"])) in groups
    assert (["debian12"], ["isolation"]) in groups          # the workflow's one `include` cell


def test_workflow_vm_job_runs_every_lab_on_the_libvirt_twin_of_a_local_box():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    vm = workflow["jobs"]["vm"]
    assert sorted(vm["strategy"]["matrix"]["scenario"]) == sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
    command = next(step["run"] for step in vm["steps"] if "invoke up" in step.get("run", ""))
    box = command.split("--box ")[1].split()[0]
    assert "--provider libvirt" in command and load_lab().box(box, "libvirt").built_here
