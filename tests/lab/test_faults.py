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


def _result(summary: dict, name: str) -> dict:
    return next(f for f in summary["faults"] + summary["bad_inputs"] if f["name"] == name)


def test_a_refused_mode_names_the_refusal_and_the_daemon_comes_back(fault_summary):
    refused = _result(fault_summary[1], "daemon refuses a mode")
    assert "mode 'bogus' refused" in refused["said"]
    assert refused["observed"] == {"log_names_the_option": True, "last_good_config_restored": True,
                                   "daemon_back": True}


def test_a_killed_dockerd_ends_the_step_and_a_killed_sshd_the_command(fault_summary):
    dockerd = _result(fault_summary[1], "dockerd killed mid-step")
    assert dockerd["exit_code"] not in (0, None) and dockerd["observed"]["step_seconds"] < 30
    sshd = _result(fault_summary[1], "sshd session killed mid-step")
    assert sshd["observed"]["new_connection_works"] is True and sshd["observed"]["seconds"] < 30


def test_ctrl_c_keeps_the_completed_steps(fault_summary):
    interrupted = _result(fault_summary[1], "Ctrl-C during a run")
    assert (interrupted["exit_code"], interrupted["status"], interrupted["lost"]) == (130, "interrupted", 0)
    assert interrupted["steps_kept"] >= 3


def test_invoke_down_leaves_a_running_labs_machine_to_it_and_says_so(fault_summary):
    down = _result(fault_summary[1], "invoke down of the machine a run is using")
    assert down["injected"] and down["survived"], down["detail"]
    assert down["observed"]["down_exit"] == 1 and f"is in use by pid {down['observed']['run_pid']}" in down["said"]
    # The run went on as if nothing had been asked.
    assert (down["exit_code"], down["status"], down["lost"]) == (0, "passed", 0)


def test_a_host_daemon_restart_stops_no_other_machine_and_the_cut_run_says_so(fault_summary):
    restart = _result(fault_summary[1], "host Docker daemon restarted mid-run")
    assert restart["injected"] and restart["survived"], restart["detail"]
    assert restart["observed"]["stopped_by_it"] == []           # the witness and every other machine run on
    assert restart["observed"]["others_running"] >= 1
    assert (restart["lost"], restart["left"]) == (0, [])
    # The machine's published SSH port is the daemon's: its proxy restarts with it, and the run's connection
    # with it. The run says so in one line and fails; it never hangs or passes on a cut connection.
    assert (restart["exit_code"], restart["status"], restart["observed"]["traceback"]) == (1, "failed", False)
    assert restart["said"].startswith("connection to 127.0.0.1:") and " lost during: " in restart["said"]


def test_a_full_artifacts_filesystem_stops_the_run_with_one_line_and_loses_nothing_written(fault_summary):
    full = _result(fault_summary[1], "the artifacts' filesystem full mid-run")
    assert full["injected"] and full["survived"], full["detail"]
    assert (full["exit_code"], full["lost"], full["observed"]["traceback"]) == (1, 0, False)
    assert full["said"].startswith("error: cannot write ") and full["said"].endswith(": No space left on device")


def test_a_vm_whose_qemu_dies_is_named_gone_after_one_timeout_and_destroyed(fault_summary):
    qemu = _result(fault_summary[1], "a VM's qemu killed mid-step")
    assert qemu["injected"] and qemu["survived"], qemu["detail"]
    assert (qemu["exit_code"], qemu["status"], qemu["lost"], qemu["left"]) == (1, "failed", 0, [])
    assert "the machine stopped answering" in qemu["said"]


def test_nslabs_libvirtd_killed_mid_run_is_started_again_to_destroy_the_vm(fault_summary):
    libvirtd = _result(fault_summary[1], "nslab's libvirtd killed mid-run")
    assert libvirtd["injected"] and libvirtd["survived"], libvirtd["detail"]
    assert (libvirtd["exit_code"], libvirtd["status"], libvirtd["lost"], libvirtd["left"]) == (0, "passed", 0, [])
    assert libvirtd["observed"]["libvirt_answers_again"] is True


def test_every_bad_input_is_one_line_exit_2_and_changes_nothing(fault_summary):
    bad = fault_summary[1]["bad_inputs"]
    assert len(bad) == 10
    for each in bad:
        assert each["said"] and "\n" not in each["said"], each
        if each["name"] == "remap range overlapping /etc/subuid":
            assert each["observed"] == {"machine_unchanged": True}
        else:
            assert (each["exit_code"], each["observed"]) == (2, {"artifacts_unchanged": True}), each
