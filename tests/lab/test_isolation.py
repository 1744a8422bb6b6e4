"""The isolation lab on the debian12 container machine: five modes (root, --user, userns-remap,
rootless Docker, rootless Podman) asked the same questions, every answer from the machine."""
import json
import re

import pytest

from .conftest import invoke, judge_offline

pytestmark = pytest.mark.lab

MODES = ["root", "as-user", "userns", "rootless-docker", "rootless-podman"]


def answers(run_path):
    """(question, mode) -> the step's record, found by the step's own id."""
    found = {}
    for record_path in (run_path / "debian12").glob("*/*.json"):
        record = json.loads(record_path.read_text())
        if record.get("question") and "attempt" not in record_path.name:
            found[(record["question"], record["mode"])] = record
    return found


def verdict(record, check):
    found = [v for v in record["verdicts"] if v["check"] == check]
    assert len(found) == 1, f"{record.get('question')}/{record.get('mode')}: {len(found)} verdicts of kind {check}"
    return found[0]


def test_every_claim_in_five_modes_is_judged_and_shown_able_to_fail(isolation_run):
    process, run_path, manifest = isolation_run
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    steps = {s["id"]: s["status"] for s in manifest["machines"]["debian12"]["steps"]}
    assert len(steps) == 41
    # What container machines here cannot do is said so, never passed: --privileged needs every capability.
    limited = sorted(step for step, status in steps.items() if status == "environment-limited")
    assert limited == ["privileged-refused-as-user", "privileged-refused-root"]
    assert set(steps.values()) == {"pass", "environment-limited"}
    tried, shown = map(int, re.search(r"(\d+) checks tried, (\d+) shown able to fail", process.stdout).groups())
    assert tried == shown >= 60


def test_container_root_is_the_engine_users_uid_under_each_rootless_engine(isolation_run, remote):
    _, run_path, _ = isolation_run
    found = answers(run_path)
    users = {name: int(remote.check(f"id -u {name}")) for name in ("nslab-rootless", "nslab-podman")}
    subuid = remote.read_file("/etc/subuid")
    starts = {line.split(":")[0]: int(line.split(":")[1]) for line in subuid.split()}
    hosts = {mode: verdict(found[("container-root-on-host", mode)], "uid")["observed"]["host"] for mode in MODES}
    assert hosts == {"root": 0, "as-user": 1000, "userns": starts["dockremap"],
                     "rootless-docker": users["nslab-rootless"], "rootless-podman": users["nslab-podman"]}
    # Each rootless user's range is its own: read from the machine, none overlapping the others'.
    assert len({starts[u] for u in ("vagrant", "dockremap", "nslab-rootless", "nslab-podman")}) == 4
    # The composite map the kernel holds for the rootless container: root the user, then the user's range.
    uid_map = verdict(found[("container-root-on-host", "rootless-docker")], "uid")["detail"]
    assert f"(0, {users['nslab-rootless']}, 1), (1, {starts['nslab-rootless']}, 65536)" in uid_map


def test_only_the_root_daemon_reads_writes_and_chowns_root_owned_host_files(isolation_run):
    _, run_path, _ = isolation_run
    found = answers(run_path)
    refusals = {"read-root-only-file": "Permission denied", "write-root-owned-dir": "Permission denied",
                "chown-host-file": "Operation not permitted"}
    for question, refusal in refusals.items():
        assert found[(question, "root")]["exit_code"] == 0, question
        for mode in MODES[1:]:
            # Refused by the kernel, in the engine's own words: not a missing image, not a stopped engine.
            record = found[(question, mode)]
            said = verdict(record, "output_contains")["observed"]
            assert record["exit_code"] != 0 and refusal in said, (question, mode, said)
    assert "nslab-secret" in verdict(found[("read-root-only-file", "root")], "output_contains")["observed"]


def test_podman_lets_a_container_unshare_a_user_namespace_where_docker_refuses(isolation_run):
    _, run_path, _ = isolation_run
    found = answers(run_path)
    assert found[("nested-userns", "rootless-podman")]["exit_code"] == 0
    for mode in MODES[:-1]:
        record = found[("nested-userns", mode)]
        said = verdict(record, "output_contains")["observed"]
        assert record["exit_code"] != 0 and "unshare" in said and "Operation not permitted" in said, (mode, said)


def test_leaving_a_rootless_mode_stops_its_engine(isolation_run, remote):
    for user in ("nslab-rootless", "nslab-podman"):
        uid = remote.check(f"id -u {user}").strip()
        left = remote.run(f"pgrep -a -u {uid}")
        assert (left.exit_code, left.stdout) == (1, ""), left.stdout       # pgrep: no process of that user
        assert remote.run(f"test -e /run/user/{uid}").exit_code == 1


def test_compare_lays_out_questions_by_modes_with_references(isolation_run, tmp_path):
    _, run_path, _ = isolation_run
    process = invoke("compare", "--runs", str(run_path), "--out", str(tmp_path))
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr
    [table] = json.loads((tmp_path / "report.json").read_text())["questions"]
    assert table["modes"] == MODES
    questions = {q["id"]: q for q in table["questions"]}
    privileged = questions["privileged-refused"]
    assert privileged["answers"]["userns"]["answer"].startswith("✓ no: privileged mode is incompatible")
    assert privileged["answers"]["root"]["status"] == "environment-limited"
    assert any(ref.startswith("CIS Docker Benchmark") for ref in privileged["refs"])
    root = questions["container-root-on-host"]["answers"]
    assert root["root"]["answer"] == "✓ uid 0 → host uid 0"
    markdown = (tmp_path / "report.md").read_text()
    assert "## isolation: what each mode buys, on debian12" in markdown
    assert "| question | root | as-user | userns | rootless-docker | rootless-podman |" in markdown


def test_judge_rederives_the_isolation_verdicts_offline(isolation_run):
    _, run_path, _ = isolation_run
    result, process = judge_offline(str(run_path))
    assert result == {"code": 0, "loaded": []}, process.stdout[-3000:] + process.stderr[-2000:]
