"""`invoke faults`: real faults and bad inputs, every one survived, nothing lost or left behind."""
import json

import pytest

from .conftest import invoke

pytestmark = pytest.mark.lab


@pytest.fixture(scope="session")
def fault_summary(artifacts):
    process = invoke("faults", timeout=2400)
    path = max((artifacts / "faults").glob("*.json"))
    return process, json.loads(path.read_text())


def test_every_fault_is_survived_and_nothing_is_lost_or_left(fault_summary):
    process, summary = fault_summary
    report = "\n".join(f"{f['name']}: {f['survived']}: {f['detail']}" for f in summary["faults"] + summary["bad_inputs"])
    assert process.returncode == 0, report + process.stdout[-2000:] + process.stderr[-1000:]
    assert summary["faults_injected"] == 6 and summary["faults_survived"] == 6, report
    assert summary["artifacts_lost"] == 0 and summary["machines_left_behind"] == 0, summary["machines_left"]
    assert summary["bad_inputs_tried"] == 10 and summary["bad_inputs_rejected_cleanly"] == 10, report
    assert "faults injected: 6, survived: 6" in process.stdout


def test_a_refused_mode_names_the_refusal_and_the_daemon_comes_back(fault_summary):
    _, summary = fault_summary
    refused = next(f for f in summary["faults"] if f["name"] == "daemon refuses a mode")
    assert "mode 'bogus' refused" in refused["detail"] and "daemon back: True" in refused["detail"]


def test_ctrl_c_keeps_the_completed_steps(fault_summary):
    _, summary = fault_summary
    interrupted = next(f for f in summary["faults"] if f["name"] == "Ctrl-C during a run")
    assert "exit 130, manifest interrupted" in interrupted["detail"]
    assert "0 artifacts lost" in interrupted["detail"]
