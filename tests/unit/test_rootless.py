"""A recorded isolation run (debian12 container machine, five modes) judged again offline: the
rootless cross-check, an edited rootless mode named, and the questions × modes table."""
import json
import re
import shutil
from pathlib import Path

from nslab.judge.checks.ids import UID, IdExpect
from nslab.judge.evidence import StepEvidence
from nslab.judge.run import judge_run
from nslab.judge.verdict import Status
from nslab.report.compare import build

RUN = Path(__file__).resolve().parent.parent / "evidence" / "isolation-debian12"
MODES = ["root", "as-user", "userns", "rootless-docker", "rootless-podman"]


def step(judgement, step_id):
    return next(s for s in judgement.steps if s.ref.step_id == step_id)


def uid_verdict(judged):
    return next(v for v in judged.verdicts if v.check == "uid")


def test_under_a_rootless_engine_container_root_is_its_users_own_uid_by_both_sources():
    judgement = judge_run(RUN)
    mode = json.loads((RUN / "debian12" / "rootless-docker" / "mode.json").read_text())
    verdict = uid_verdict(step(judgement, "container-root-on-host-rootless-docker"))
    assert verdict.status == Status.PASS
    assert verdict.observed["host"] == mode["rootless_uid"] != 0
    [cross] = verdict.cross_checks
    assert cross["source"].startswith(f"the engine runs rootless as {mode['rootless_user']}")
    assert (cross["expected"], cross["agrees"]) == (mode["rootless_uid"], True)


def test_a_rootless_mode_edited_to_claim_another_user_fails_the_cross_check_and_is_named(tmp_path):
    run = tmp_path / RUN.name
    shutil.copytree(RUN, run, symlinks=True)
    mode_file = run / "debian12" / "rootless-podman" / "mode.json"
    mode = json.loads(mode_file.read_text())
    mode_file.write_text(json.dumps({**mode, "rootless_uid": mode["rootless_uid"] + 1}))
    judgement = judge_run(run)
    verdict = uid_verdict(step(judgement, "container-root-on-host-rootless-podman"))
    assert verdict.status == Status.FAIL
    assert "cross-check disagrees: the engine runs rootless as nslab-podman" in verdict.detail
    assert any("debian12/rootless-podman/mode.json" in problem for problem in judgement.integrity.problems())
    # The other rootless mode keeps its own facts, and its verdict.
    assert uid_verdict(step(judgement, "container-root-on-host-rootless-docker")).status == Status.PASS


def test_the_questions_table_has_one_answer_per_question_and_mode():
    [table] = build([RUN]).question_tables()
    assert table.scenario == "isolation" and table.modes == MODES
    assert list(table.questions) == ["images", "container-root-on-host", "read-root-only-file",
                                     "write-root-owned-dir", "chown-host-file", "nested-userns",
                                     "mount-filesystem", "privileged-refused"]
    nested = {mode: table.cell("nested-userns", mode).answer() for mode in MODES}
    assert nested["rootless-podman"] == "✓ yes"
    assert all(nested[mode] == "✓ no: Operation not permitted" for mode in MODES[:4])
    privileged = table.cell("privileged-refused", "root")
    assert privileged.status == "environment-limited" and privileged.answer().startswith("~ env-limited no:")
    title, refs = table.questions["privileged-refused"]
    assert title == "it starts a --privileged container"
    assert any(ref.startswith("CIS Docker Benchmark") and "privileged containers" in ref for ref in refs)


def test_a_non_root_container_id_under_a_rootless_engine_is_cross_checked_in_its_users_range(tmp_path):
    """The recorded rootless container's facts, as if its process ran as container uid 1000: the
    kernel's map puts it at the user's range start + 999, and so must /etc/subuid."""
    facts = Path(shutil.copytree(next((RUN / "debian12" / "rootless-docker").glob("*-container-root-on-host-*.facts")),
                                 tmp_path / "facts"))
    mode = json.loads((RUN / "debian12" / "rootless-docker" / "mode.json").read_text())
    start = int(mode["rootless_uid_range"].split(":")[1])
    for name, uid in (("container-probe.inside-status", 1000), ("container-probe.host-status", start + 999)):
        path = facts / name
        path.write_text(re.sub(r"^Uid:.*$", f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}", path.read_text(), flags=re.M))
    verdict = UID.judge(IdExpect(container="probe", inside=1000), StepEvidence(facts, 0, "", "", mode))
    assert verdict.status == Status.PASS, verdict.explain()
    assert verdict.observed["host"] == start + 999 and verdict.cross_checks[0]["expected"] == start + 999
    # The user's range moved by one: the cross-check names the disagreement.
    (facts / "host.subuid").write_text((facts / "host.subuid").read_text().replace(
        f"nslab-rootless:{start}:", f"nslab-rootless:{start + 1}:"))
    verdict = UID.judge(IdExpect(container="probe", inside=1000), StepEvidence(facts, 0, "", "", mode))
    assert verdict.status == Status.FAIL and "cross-check disagrees" in verdict.detail
