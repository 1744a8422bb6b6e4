"""The seeds' machines from Vagrant Cloud (Ubuntu 16.04, boot2docker, Ubuntu 24.04): the same labs,
with real pulls, wherever their provider and box are present; skipped here naming what is missing."""
import json

import pytest

from nslab.machines.inventory import load_lab, unavailable_reason

from .conftest import invoke

pytestmark = pytest.mark.lab

PUBLIC = [name for name, box in load_lab().boxes.items() if not box.built_here]


@pytest.mark.parametrize("name", PUBLIC)
def test_userns_lab_on_a_public_box(name, tmp_path):
    box = load_lab().box(name)
    reason = unavailable_reason(box)
    if reason:
        pytest.skip(f"{name} ({box.vagrant_box}, {box.provider}): {reason}")
    process = invoke("up", "scenario=userns", "--box", name, "--destroy", "always",
                     env={"NSLAB_ARTIFACTS": str(tmp_path)}, timeout=3600)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    manifest = json.loads(((tmp_path / "latest") / "manifest.json").read_text())
    machine = manifest["machines"][name]
    assert machine["lab_images"] == "pull" and {s["status"] for s in machine["steps"]} == {"pass"}
