"""The fault suite's registry and how its summary counts typed results (the faults themselves run in
tests/lab/test_faults.py)."""
from nslab.harness.faults import FAULTS, FaultResult, Summary


def test_every_fault_is_registered_once_in_the_order_it_runs():
    names = [f.name for f in FAULTS]
    assert len(names) == len(set(names)) == 12
    # The four injected into the shared machine come first: it is destroyed before the runs of their own.
    assert [f.on_machine for f in FAULTS] == [True] * 4 + [False] * 8
    assert [f.name for f in FAULTS if f.alone] == ["host Docker daemon restarted mid-run",
                                                  "nslab's libvirtd killed mid-run"]
    assert [f.name for f in FAULTS if f.kind == "bad input"] == ["remap range overlapping /etc/subuid"]


def test_the_summary_counts_field_by_field_and_is_clean_only_when_all_is():
    survived = FaultResult("a", survived=True, exit_code=130, status="interrupted", lost=0)
    skipped = FaultResult("b", injected=False, detail="no VM here: virsh not found")
    summary = Summary(faults=[survived, skipped], bad_inputs=[FaultResult("c", "bad input", survived=True)])
    data = summary.as_dict()
    assert (data["faults_injected"], data["faults_survived"], data["faults_not_injected"]) == (1, 1, 1)
    assert data["faults"][0]["exit_code"] == 130 and data["faults"][1]["detail"] == "no VM here: virsh not found"
    assert not summary.clean                   # a fault that could not be injected proves nothing
    summary.faults.pop()
    assert summary.clean
    survived.lost = 1
    assert summary.as_dict()["artifacts_lost"] == 1 and not summary.clean
