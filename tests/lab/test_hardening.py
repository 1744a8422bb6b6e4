"""The hardening lab for real (`invoke matrix --scenarios hardening --prove`): each daemon setting proven by
what the machine does, beside what a configuration-only audit reads, on Docker before 23 and after."""
import json
from pathlib import Path

import pytest

from nslab.run.layout import RunView

from .conftest import HARDENING_BOXES

pytestmark = pytest.mark.lab


@pytest.fixture(scope="session")
def hardening(matrix_lane):
    """The matrix of the hardening lab, run in the matrix lane (conftest.py)."""
    return matrix_lane.result("hardening")


def observed(summary, box: str, step_id: str, check: str):
    """What a check observed on a box: the recorded verdict of that kind in that step, found by id."""
    cell = next(c for c in summary["cells"] if c["box"] == box)
    view = RunView(Path(cell["run"]))
    ref = next(r for r in view.steps(box) if r.step_id == step_id)
    record = view.step_record(ref)
    return next(v for v in record.verdicts if v["check"] == check), view.machines[box]


def test_every_cell_passes_and_every_passed_check_is_shown_able_to_fail(hardening):
    process, folder, summary = hardening
    assert process.returncode == 0, process.stdout[-4000:] + process.stderr[-2000:]
    assert sorted(c["box"] for c in summary["cells"]) == sorted(HARDENING_BOXES)
    assert {c["state"] for c in summary["cells"]} == {"passed"}
    for box in HARDENING_BOXES:
        # 45 steps; their 102 checks each turned to fail by a mutation of its evidence.
        assert f"hardening on {box}: 102 checks tried, 102 shown able to fail" in process.stdout


def test_each_setting_changes_its_own_behaviour_as_the_machine_shows_it(hardening):
    _, _, summary = hardening
    for box in HARDENING_BOXES:
        setuid, _ = observed(summary, box, "setuid-as-user-control", "proc_status")
        assert setuid["observed"] == {"Uid": "1000 0 0 0", "NoNewPrivs": "0"}       # the setuid bit made it root
        held, _ = observed(summary, box, "setuid-as-user-no-new-privileges", "proc_status")
        assert held["observed"] == {"Uid": "1000 1000 1000 1000", "NoNewPrivs": "1"}
        proxies, _ = observed(summary, box, "published-port-control", "processes")
        assert proxies["observed"]["count"] >= 1
        none, _ = observed(summary, box, "published-port-no-userland-proxy", "processes")
        assert none["observed"] == {"count": 0}
        kept, _ = observed(summary, box, "daemon-restart-live-restore", "same_process")
        assert kept["observed"]["kept"] is True and kept["observed"]["pid_after"] == kept["observed"]["pid_before"]
        stopped, _ = observed(summary, box, "daemon-restart-control", "same_process")
        assert stopped["observed"]["kept"] is False and stopped["observed"]["pid_after"] is None
        limits, _ = observed(summary, box, "open-files-limit-default-ulimits", "limits")
        assert limits["observed"] == {"nofile": [1024, 2048]}
        blocked, _ = observed(summary, box, "icc-default-bridge-icc-off", "exit")
        assert blocked["observed"] not in (0, None)
        seccomp, _ = observed(summary, box, "seccomp-default", "proc_status")
        assert seccomp["observed"] == {"Seccomp": "2"}


def test_the_seccomp_reading_a_config_audit_makes_is_wrong_from_docker_23_and_the_report_says_so(hardening):
    _, folder, summary = hardening
    report = json.loads((folder / "report.json").read_text())
    seccomp = next(c for c in report["claims"] if c["setting"] == "seccomp")
    by_version = {}
    for column in (c for c in report["columns"] if c["machine"] in HARDENING_BOXES):
        [reading] = seccomp["readings"][column["key"]]
        by_version[column["machine"]] = (column["docker_version"].split(".")[0], reading["config_reads"],
                                         reading["machine_does"])
    assert by_version == {"debian11": ("20", "on", "on"), "debian13": ("26", "off", "on"),
                          "debian-sid": ("28", "off", "on")}
    versioned = next(r for r in report["by_docker_version"] if r["step"] == "seccomp-default")
    assert {cell["condition"] for cell in versioned["cells"].values()} == {"<23", ">=23"}
    # A default Docker changed in 20.10.13: the kernel's "1 0" before, every group allowed since.
    ping = {box: observed(summary, box, "ping-group-range", "sysctl")[0]["observed"] for box in HARDENING_BOXES}
    assert ping == {"debian11": {"net.ipv4.ping_group_range": "1 0"},
                    "debian13": {"net.ipv4.ping_group_range": "0 2147483647"},
                    "debian-sid": {"net.ipv4.ping_group_range": "0 2147483647"}}
    verdict, machine = observed(summary, "debian13", "seccomp-default", "config_reading")
    assert "name=seccomp,profile=builtin" in verdict["detail"] and machine.docker_version.startswith("26.")
    markdown = (folder / "report.md").read_text()
    assert "## What a configuration-only audit reads, and what the machine does" in markdown
    assert "config reads off, machine does on" in markdown


def test_a_key_written_but_not_taken_reads_on_while_the_process_gets_root(hardening):
    _, _, summary = hardening
    for box in HARDENING_BOXES:
        reading, _ = observed(summary, box, "nnp-in-file-only", "config_reading")
        assert reading["observed"] == {"reads": "on"}
        process, _ = observed(summary, box, "nnp-in-file-only", "proc_status")
        assert process["observed"] == {"Uid": "1000 0 0 0", "NoNewPrivs": "0"}
        restarted, _ = observed(summary, box, "daemon-restart-live-restore", "restarted")
        assert restarted["observed"]["restarted"] is True and restarted["observed"]["after"]
