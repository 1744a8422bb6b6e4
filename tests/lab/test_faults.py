"""`invoke faults`: real faults and bad inputs, every one survived, nothing lost or left behind."""
import json
import signal
import subprocess

import pytest

from nslab.paths import PROJECT_ROOT

from .conftest import INVOKE

pytestmark = pytest.mark.lab


@pytest.fixture(scope="session")
def fault_summary(artifacts):
    # Launched as `nohup invoke faults &` launches it: SIGINT ignored, no terminal, no stdin.
    process = subprocess.run([INVOKE, "faults"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=2400,
                             stdin=subprocess.DEVNULL, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    path = max((artifacts / "faults").glob("*.json"))
    return process, json.loads(path.read_text())


def test_every_fault_is_survived_and_nothing_is_lost_or_left(fault_summary):
    process, summary = fault_summary
    report = "\n".join(f"{f['name']}: {f['survived']}: {f['detail']}"
                       for f in summary["faults"] + summary["bad_inputs"])
    assert process.returncode == 0, report + process.stdout[-2000:] + process.stderr[-1000:]
    assert summary["faults_injected"] == 11 and summary["faults_survived"] == 11, report
    assert summary["faults_not_injected"] == 0, report
    assert summary["artifacts_lost"] == 0 and summary["machines_left_behind"] == 0, summary["machines_left"]
    assert summary["bad_inputs_tried"] == 10 and summary["bad_inputs_rejected_cleanly"] == 10, report
    assert "faults injected: 11, survived: 11, could not be injected: 0" in process.stdout


def test_a_refused_mode_names_the_refusal_and_the_daemon_comes_back(fault_summary):
    _, summary = fault_summary
    refused = next(f for f in summary["faults"] if f["name"] == "daemon refuses a mode")
    assert "mode 'bogus' refused" in refused["detail"] and "daemon back: True" in refused["detail"]


def test_ctrl_c_keeps_the_completed_steps(fault_summary):
    _, summary = fault_summary
    interrupted = next(f for f in summary["faults"] if f["name"] == "Ctrl-C during a run")
    assert "exit 130, manifest interrupted" in interrupted["detail"]
    assert "0 artifacts lost" in interrupted["detail"]


def test_invoke_down_leaves_a_running_labs_machine_to_it_and_says_so(fault_summary):
    _, summary = fault_summary
    down = next(f for f in summary["faults"] if f["name"] == "invoke down of the machine a run is using")
    assert down["injected"] and down["survived"], down["detail"]
    assert "down exit 1" in down["detail"] and "is in use by pid" in down["detail"]
    assert "the run went on: exit 0, manifest passed, 0 artifacts lost" in down["detail"]


def test_a_host_daemon_restart_stops_no_other_machine_and_the_cut_run_says_so(fault_summary):
    _, summary = fault_summary
    restart = next(f for f in summary["faults"] if f["name"] == "host Docker daemon restarted mid-run")
    assert restart["injected"] and restart["survived"], restart["detail"]
    assert "stopped by it: []" in restart["detail"]              # the witness and every other machine run on
    assert "0 artifacts lost, its machine left: []" in restart["detail"]
    # The machine's published SSH port is the daemon's: its proxy restarts with it, and the run's connection
    # with it. The run says so in one line and fails; it never hangs or passes on a cut connection.
    assert "the run: exit 1, manifest failed" in restart["detail"]
    assert "; said: connection to 127.0.0.1:" in restart["detail"] and " lost during: " in restart["detail"]


def test_a_full_artifacts_filesystem_stops_the_run_with_one_line_and_loses_nothing_written(fault_summary):
    _, summary = fault_summary
    full = next(f for f in summary["faults"] if f["name"] == "the artifacts' filesystem full mid-run")
    assert full["injected"] and full["survived"], full["detail"]
    assert full["detail"].startswith("exit 1, ") and ", 0 artifacts lost; said: error: cannot write " in full["detail"]
    assert full["detail"].endswith(": No space left on device")


def test_a_vm_whose_qemu_dies_is_named_gone_after_one_timeout_and_destroyed(fault_summary):
    _, summary = fault_summary
    qemu = next(f for f in summary["faults"] if f["name"] == "a VM's qemu killed mid-step")
    assert qemu["injected"] and qemu["survived"], qemu["detail"]
    assert "the run: exit 1, manifest failed, 0 artifacts lost, domain left: False" in qemu["detail"]
    assert "the machine stopped answering" in qemu["detail"]


def test_nslabs_libvirtd_killed_mid_run_is_started_again_to_destroy_the_vm(fault_summary):
    _, summary = fault_summary
    libvirtd = next(f for f in summary["faults"] if f["name"] == "nslab's libvirtd killed mid-run")
    assert libvirtd["injected"] and libvirtd["survived"], libvirtd["detail"]
    assert "the run: exit 0, manifest passed, 0 artifacts lost, domain left: False, libvirt answers again: True" \
        in libvirtd["detail"]
