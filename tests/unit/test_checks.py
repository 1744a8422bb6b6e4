"""Every check kind judged on evidence recorded from real runs (tests/evidence/, made by record.py),
then on copies with the smallest edit of the evidence that check reads: each must turn."""
import json
import shutil
from pathlib import Path

import pytest

from nslab.judge.parse import map_through, parse_id_map, parse_ps, resolve_uid
from nslab.judge.run import judge_run
from nslab.judge.verdict import Status

EVIDENCE = Path(__file__).resolve().parent.parent / "evidence"
RECORDED = sorted(p.name for p in EVIDENCE.iterdir() if (p / "manifest.json").is_file())


@pytest.mark.parametrize("name", RECORDED)
def test_a_recorded_run_is_judged_again_to_exactly_its_live_verdicts(name):
    judgement = judge_run(EVIDENCE / name)
    assert judgement.integrity.ok, judgement.integrity.problems()
    assert judgement.disagreements == []
    assert judgement.status == "passed" and len(judgement.steps) >= 5


def _verdict(run: Path, step_id: str, check: str):
    step = next(s for s in judge_run(run).steps if s.ref.step_id == step_id)
    return next(v for v in step.verdicts if v.check == check)


@pytest.fixture
def userns(tmp_path):
    return Path(shutil.copytree(EVIDENCE / "userns-debian12", tmp_path / "run", symlinks=True))


def facts_dir(run: Path, mode: str, step_id: str) -> Path:
    return next((run / "debian12" / mode).glob(f"*-{step_id}.facts"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def dockremap_start(run: Path) -> int:
    return next(int(line.split(":")[1]) for line in (run / "debian12/userns/subuid").read_text().splitlines()
                if line.startswith("dockremap:"))


def test_uid_passes_on_the_real_run_and_fails_when_the_host_uid_moves(userns):
    start = dockremap_start(userns)
    verdict = _verdict(userns, "registry-userns", "uid")
    assert verdict.status == Status.PASS and verdict.expected["host"] == start
    status = facts_dir(userns, "userns", "registry-userns") / "container-registry.host-status"
    edit(status, f"Uid:\t{start}", f"Uid:\t{start + 1}")
    assert _verdict(userns, "registry-userns", "uid").status == Status.FAIL


def test_uid_fails_when_the_containers_own_uid_map_shifts_and_names_the_disagreeing_mode(userns):
    start = dockremap_start(userns)
    uid_map = facts_dir(userns, "userns", "registry-userns") / "container-registry.uid_map"
    edit(uid_map, str(start), str(start + 7))
    verdict = _verdict(userns, "registry-userns", "uid")
    assert verdict.status == Status.FAIL and verdict.expected["host"] == start + 7
    assert verdict.cross_checks[0]["agrees"] is False and verdict.cross_checks[0]["expected"] == start
    assert "cross-check disagrees: the daemon remaps to dockremap" in verdict.detail


def test_gid_follows_the_gid_map(userns):
    assert _verdict(userns, "registry-userns", "gid").status == Status.PASS
    gid_map = facts_dir(userns, "userns", "registry-userns") / "container-registry.gid_map"
    edit(gid_map, "0 ", "1 ")
    assert _verdict(userns, "registry-userns", "gid").status == Status.FAIL


def test_ps_row_on_the_host_fails_when_the_row_names_another_user(userns):
    start = dockremap_start(userns)
    assert _verdict(userns, "registry-userns-ps-host", "ps_row").observed["uid"] == start
    stdout = next((userns / "debian12/userns").glob("*-registry-userns-ps-host.stdout"))
    edit(stdout, f"\n{start} ", "\n424242 ")
    verdict = _verdict(userns, "registry-userns-ps-host", "ps_row")
    assert verdict.status == Status.FAIL and verdict.observed["uid"] == 424242


def test_ps_row_inside_resolves_names_through_the_containers_own_passwd(userns):
    assert _verdict(userns, "registry-root-ps-inside", "ps_row").status == Status.PASS
    passwd = facts_dir(userns, "root", "registry-root-ps-inside") / "container-registry.inside-passwd"
    passwd.write_text("root:x:77:0:root:/root:/bin/sh\n")
    assert _verdict(userns, "registry-root-ps-inside", "ps_row").observed["uid"] == 77


def test_data_root_fails_when_its_directory_is_absent(userns):
    assert _verdict(userns, "userns-data-root", "data_root").status == Status.PASS
    dirs = facts_dir(userns, "userns", "userns-data-root") / "docker-dirs"
    dirs.write_text("".join(line + "\n" for line in dirs.read_text().splitlines()
                            if not line.endswith(f"/{dockremap_start(userns)}.{dockremap_start(userns)}")))
    verdict = _verdict(userns, "userns-data-root", "data_root")
    assert verdict.status == Status.FAIL and "does not exist" in verdict.detail


def test_daemon_empty_fails_with_a_container_left(userns):
    contents = facts_dir(userns, "userns", "userns-starts-empty") / "daemon-contents.json"
    contents.write_text(json.dumps({"containers": ["registry"], "images": []}))
    assert _verdict(userns, "userns-starts-empty", "daemon_empty").status == Status.FAIL


def test_exit_output_contains_and_output_matches_turn_on_their_evidence(userns):
    record = next((userns / "debian12/root").glob("*-push-as-1000.json"))
    data = json.loads(record.read_text())
    data["exit_code"] = 0
    record.write_text(json.dumps(data))
    assert _verdict(userns, "push-as-1000", "exit").status == Status.FAIL
    logs = next((userns / "debian12/root").glob("*-registry-1000-logs.stdout"))
    logs.write_text(logs.read_text().replace("permission denied", "permission granted"))
    logs.with_suffix(".stderr").write_text(logs.with_suffix(".stderr").read_text().replace("permission denied", "-"))
    assert _verdict(userns, "registry-1000-logs", "output_contains").status == Status.FAIL
    clock = next((userns / "debian12/bozo").glob("*-clock-logs.stdout"))
    clock.write_text("no time here\n")
    assert _verdict(userns, "clock-logs", "output_matches").status == Status.FAIL


def test_a_container_not_running_or_a_fact_not_captured_is_an_error_not_a_pass(userns):
    inspect = facts_dir(userns, "bozo", "clock") / "container-clock.inspect.json"
    data = json.loads(inspect.read_text())
    data["State"]["Running"] = False
    inspect.write_text(json.dumps(data))
    verdict = _verdict(userns, "clock", "uid")
    assert verdict.status == Status.ERROR and verdict.detail == "container 'clock' is not running"
    (facts_dir(userns, "bozo", "clock-ps-host") / "host.passwd").unlink()
    verdict = _verdict(userns, "clock-ps-host", "ps_row")
    assert verdict.status == Status.ERROR and "host.passwd was not captured" in verdict.detail


@pytest.mark.skipif(not (EVIDENCE / "workshop-debian12").exists(), reason="no recorded workshop run")
def test_process_reads_every_dockerd_from_ps_and_proc(tmp_path):
    run = Path(shutil.copytree(EVIDENCE / "workshop-debian12", tmp_path / "run", symlinks=True))
    assert _verdict(run, "daemon-runs-as-root", "process").observed == {"ps": [0], "proc": [0]}
    status = next(facts_dir(run, "root", "daemon-runs-as-root").glob("program-dockerd.*.status"))
    edit(status, "Uid:\t0", "Uid:\t1000")
    assert _verdict(run, "daemon-runs-as-root", "process").status == Status.FAIL


@pytest.mark.skipif(not (EVIDENCE / "own-userns-debian12").exists(), reason="no recorded own-userns run")
def test_a_container_that_opts_out_is_expected_at_its_own_identity_map():
    run = EVIDENCE / "own-userns-debian12"
    hostns = _verdict(run, "hostns", "uid")
    assert hostns.status == Status.PASS and hostns.expected["host"] == 0
    assert hostns.cross_checks[0]["agrees"] is True
    assert _verdict(run, "remapped", "uid").expected["host"] == dockremap_start(run)


def test_parses_procps_and_busybox_rows():
    procps = ("UID          PID    PPID  C STIME TTY          TIME CMD\n"
              "vagrant      429     408  0 06:54 ?        00:00:00 /usr/bin/docker-registry serve /etc/x.yml\n")
    assert [(r["pid"], r["user"], r["command"]) for r in parse_ps(procps)] == [
        (429, "vagrant", "/usr/bin/docker-registry serve /etc/x.yml")]
    busybox = "PID   USER     COMMAND\n    1 1000     /usr/bin/docker-registry serve\n"
    assert [(r["pid"], r["user"]) for r in parse_ps(busybox)] == [(1, "1000")]
    assert parse_ps("total 0\ndrwx------ 1 root root 0 /var/lib/docker/165536.165536\n") == []
    assert resolve_uid("vagrant", {"vagrant": 1000}) == 1000 and resolve_uid("dockremap", {}) is None


def test_id_maps_map_each_line_and_nothing_outside_them():
    entries = parse_id_map("         0     165536      65536\n")
    assert map_through(entries, 0) == 165536 and map_through(entries, 65535) == 231071
    assert map_through(entries, 65536) is None
    assert map_through(parse_id_map("0 1000 1\n1 100000 65536\n"), 1) == 100000


def test_a_daemon_that_did_not_remap_fails_the_cross_check_even_though_its_map_is_consistent(userns):
    start = dockremap_start(userns)
    folder = facts_dir(userns, "userns", "registry-userns")
    (folder / "container-registry.uid_map").write_text("         0          0 4294967295\n")
    edit(folder / "container-registry.host-status", f"Uid:\t{start}\t{start}\t{start}\t{start}", "Uid:\t0\t0\t0\t0")
    verdict = _verdict(userns, "registry-userns", "uid")
    assert verdict.observed["host"] == verdict.expected["host"] == 0
    assert verdict.status == Status.FAIL
    assert f"cross-check disagrees: the daemon remaps to dockremap (its ranges in /etc/subuid) gives {start}" \
        in verdict.detail


@pytest.mark.parametrize("file, content", [
    ("container-registry.host-status", "Uid:\tx\n"),
    ("container-registry.inspect.json", "[]"),
    ("container-registry.uid_map", "nonsense\n"),
])
def test_damaged_evidence_is_an_error_verdict_never_a_crash_or_a_pass(userns, file, content):
    (facts_dir(userns, "userns", "registry-userns") / file).write_text(content)
    verdict = _verdict(userns, "registry-userns", "uid")
    assert verdict.status == Status.ERROR and verdict.detail


def test_a_step_taken_out_of_the_manifest_is_named(userns):
    manifest = json.loads((userns / "manifest.json").read_text())
    steps = manifest["machines"]["debian12"]["steps"]
    manifest["machines"]["debian12"]["steps"] = [s for s in steps if s["id"] != "push-as-1000"]
    (userns / "manifest.json").write_text(json.dumps(manifest))
    judgement = judge_run(userns)
    assert judgement.integrity.unlisted == ["debian12/root/08-push-as-1000.json"]
    assert judgement.exit_code == 2


def test_known_limits_are_evidence_with_a_digest(userns):
    (userns / "debian12" / "known-limits.json").write_text(
        '[{"signature": "", "reason": "everything is the host\'s fault"}]\n')
    judgement = judge_run(userns)
    assert judgement.integrity.changed == ["debian12/known-limits.json"] and judgement.exit_code == 2


def _step(run: str | Path, step_id: str):
    """A step of a recorded run (its name under tests/evidence/) or of a run directory."""
    return next(s for s in judge_run(EVIDENCE / run).steps if s.ref.step_id == step_id)


def test_owner_expects_the_writers_own_mapping_in_a_bind_mount_and_a_volume():
    start = dockremap_start(EVIDENCE / "ownership-debian12")
    bind = next(v for v in _step("ownership-debian12", "bind-userns").verdicts if v.check == "owner")
    assert bind.status == Status.PASS
    assert bind.observed == {"path": "/share/by-root", "inside": [0, 0], "host": [start, start]}
    assert "/srv/nslab-share/by-root" in bind.detail
    volume = next(v for v in _step("ownership-debian12", "volume-userns").verdicts if v.check == "owner")
    assert volume.observed["host"] == [start, start] and f"/var/lib/docker/{start}.{start}/volumes/" in volume.detail
    as_root = next(v for v in _step("ownership-debian12", "writer-1000-root").verdicts if v.check == "owner")
    assert as_root.observed["host"] == [1000, 1000]
    as_remapped = next(v for v in _step("ownership-debian12", "writer-1000-userns").verdicts if v.check == "owner")
    assert as_remapped.observed["host"] == [start + 1000, start + 1000]


def test_caps_are_the_same_set_in_both_modes_and_name_the_namespace_they_hold_in():
    root = next(v for v in _step("capabilities-debian12", "rootful-root").verdicts if v.check == "caps")
    remapped = next(v for v in _step("capabilities-debian12", "rootful-userns").verdicts if v.check == "caps")
    assert root.status == remapped.status == Status.PASS
    assert root.observed == remapped.observed == {
        "has": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_MKNOD", "CAP_SETUID"],
        "lacks": ["CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SYS_MODULE"]}
    assert "the machine's own user namespace" in root.detail
    start = dockremap_start(EVIDENCE / "capabilities-debian12")
    assert f"user namespace mapping [(0, {start}, 65536)]" in remapped.detail
    user = next(v for v in _step("capabilities-debian12", "as-user-root").verdicts if v.check == "caps")
    assert user.status == Status.PASS and user.detail.endswith(": none")


def test_caps_decodes_dockers_default_set():
    from nslab.judge.checks.caps import decode
    assert decode(0xa80425fb) == ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
                                  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",
                                  "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"]


def test_an_eventually_step_keeps_every_attempt_and_each_earlier_one_is_judged_again(userns):
    step = _step(userns, "clock-logs")
    attempts = json.loads((userns / "debian12/bozo/20-clock-logs.json").read_text())["eventually"]["attempts"]
    assert len(attempts) >= 2 and [a["status"] for a in attempts[:-1]] == ["fail"] * (len(attempts) - 1)
    assert attempts[-1]["status"] == "pass" and step.agrees and step.attempt_problems == []
    # An earlier reading edited to show two ticks: it would have held, so the run would have stopped there.
    first = userns / "debian12/bozo/20-clock-logs.attempt-1.stdout"
    first.write_text("Mon Nov 23 09:57:30 UTC 2026\nMon Nov 23 09:57:31 UTC 2026\n")
    judgement = judge_run(userns)
    assert "debian12/bozo/20-clock-logs.attempt-1.stdout: content changed since the run wrote it" \
        in judgement.integrity.problems()
    edited = next(s for s in judgement.steps if s.ref.step_id == "clock-logs")
    assert edited.attempt_problems == ["attempt 1: recorded fail, judged pass"] and not edited.agrees
