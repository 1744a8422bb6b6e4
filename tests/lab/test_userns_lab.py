"""The userns lab run for real, judged, and its artifacts checked against each other."""
import json
import re

import pytest

from nslab.commands import up
from nslab.judge.parse import parse_ps
from nslab.subids import parse_subids, range_of

from .conftest import invoke, step_path

pytestmark = pytest.mark.lab

STEPS = ["images", "registry-as-root", "registry-root-ps-inside", "registry-root-ps-host",
         "registry-as-1000", "registry-1000-ps-inside", "registry-1000-ps-host", "push-as-1000",
         "registry-1000-logs", "userns-starts-empty", "userns-data-root", "userns-images",
         "registry-userns", "registry-userns-ps-inside", "registry-userns-ps-host", "push-userns",
         "bozo-images", "clock", "clock-ps-host", "clock-logs"]


def step_file(run_path, step_id, suffix):
    return step_path(run_path, "debian12", step_id, suffix)


def step_json(run_path, step_id):
    return json.loads(step_file(run_path, step_id, "json").read_text())


def fact(run_path, step_id, name):
    """One captured fact of a step: a file in its .facts folder."""
    return (step_file(run_path, step_id, "facts") / name).read_text()


def container_pid(run_path, step_id, container):
    return json.loads(fact(run_path, step_id, f"container-{container}.inspect.json"))["State"]["Pid"]


def status_uid(text):
    return int(next(line for line in text.splitlines() if line.startswith("Uid:")).split()[1])


def test_invoke_up_ends_with_the_verdict_table_and_exit_zero(userns_run):
    process, run_path, manifest = userns_run
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert "20 steps: 20 pass" in process.stdout
    assert "DIY user-namespace lab" in process.stdout          # the table's title
    assert f"run {run_path.name}: passed" in process.stdout


def test_manifest_names_machine_distro_docker_and_every_step(userns_run, remote):
    _, run_path, manifest = userns_run
    machine = manifest["machines"]["debian12"]
    assert manifest["status"] == "passed" and manifest["finished"]
    assert machine["os"] == "Debian GNU/Linux 12 (bookworm)"
    assert machine["docker_version"] == remote.docker.version()["Version"]
    assert [m["mode"] for m in machine["modes"]] == ["root", "userns", "bozo"]
    assert [s["id"] for s in machine["steps"]] == STEPS
    assert {s["status"] for s in machine["steps"]} == {"pass"}


def test_every_step_left_command_output_exit_code_duration_and_facts(userns_run):
    _, run_path, manifest = userns_run
    steps = manifest["machines"]["debian12"]["steps"]
    assert [s["id"] for s in steps] == STEPS
    for step in steps:
        prefix = run_path / "debian12" / step["mode"] / f"{step['number']:02d}-{step['id']}"
        for suffix in ("cmd", "stdout", "stderr", "json"):
            assert prefix.with_name(prefix.name + "." + suffix).exists(), f"{prefix}.{suffix}"
        record = json.loads(prefix.with_name(prefix.name + ".json").read_text())
        assert isinstance(record["exit_code"], int) and record["duration_seconds"] >= 0
        assert record["mode"] == step["mode"]
        assert record["verdicts"] and all(v["status"] == "pass" for v in record["verdicts"])
        # Every fact a verdict read is a file of the step, and is in the manifest with its digest.
        # A check of the machine's facts read some (only exit status and output need none).
        reads_facts = {v["check"] for v in record["verdicts"]} - {"exit", "output_contains", "output_matches"}
        assert bool(record["evidence_read"]) == bool(reads_facts), step["id"]
        for name in record["evidence_read"]:
            relative = f"debian12/{step['mode']}/{step['number']:02d}-{step['id']}.facts/{name}"
            assert manifest["artifacts"][relative].startswith("sha256:"), relative


def test_root_daemon_runs_the_registry_as_root_inside_and_outside(userns_run):
    _, run_path, _ = userns_run
    pid = container_pid(run_path, "registry-root-ps-host", "registry")
    rows = parse_ps(step_file(run_path, "registry-root-ps-host", "stdout").read_text())
    row = next(r for r in rows if r["pid"] == pid)
    assert row["user"] == "root" and "docker-registry" in row["command"]
    inside = parse_ps(step_file(run_path, "registry-root-ps-inside", "stdout").read_text())
    assert inside[0]["pid"] == 1 and inside[0]["user"] == "root"


def test_the_lab_registry_is_published_on_loopback_only(userns_run):
    _, run_path, _ = userns_run
    for step_id in ("registry-as-root", "registry-as-1000", "registry-userns"):
        ports = json.loads(fact(run_path, step_id, "container-registry.inspect.json"))["NetworkSettings"]["Ports"]
        published = [f"{b['HostIp']}:{b['HostPort']}->{port}" for port, binds in ports.items() for b in binds or []]
        assert published and all(p.startswith("127.0.0.1:5000->") for p in published), published


def test_uid_1000_registry_cannot_store_the_push_and_says_why(userns_run):
    _, run_path, _ = userns_run
    row_user = next(v for v in step_json(run_path, "registry-1000-ps-host")["verdicts"]
                    if v["check"] == "ps_row")["observed"]["user"]
    assert row_user == "vagrant"                      # uid 1000 on the machine is the vagrant user
    push = step_json(run_path, "push-as-1000")
    # Stopped once the registry refused the write, rather than after Docker's retries.
    assert push["exit_code"] == 143 and push["duration_seconds"] < 30
    assert push["stopped"]["reason"] == "the log of container 'registry' contains 'permission denied'"
    assert "@@nslab" not in step_file(run_path, "push-as-1000", "stderr").read_text()
    assert "docker push 127.0.0.1:5000/hello-world" in step_file(run_path, "push-as-1000", "cmd").read_text()
    logs = "".join(step_file(run_path, "registry-1000-logs", part).read_text() for part in ("stdout", "stderr"))
    assert "filesystem: mkdir /var/lib/registry/docker: permission denied" in logs


def test_userns_registry_runs_as_dockremaps_first_subuid_read_from_the_artifact(userns_run):
    _, run_path, _ = userns_run
    subuid = (run_path / "debian12" / "userns" / "subuid").read_text()
    start = range_of(parse_subids(subuid), "dockremap").start
    # vagrant takes the first range, so dockremap's is never assumed: it is read.
    assert range_of(parse_subids(subuid), "vagrant").start < start
    pid = container_pid(run_path, "registry-userns", "registry")
    assert status_uid(fact(run_path, "registry-userns", "container-registry.host-status")) == start
    assert fact(run_path, "registry-userns", "container-registry.uid_map").split() == ["0", str(start), "65536"]
    rows = parse_ps(step_file(run_path, "registry-userns-ps-host", "stdout").read_text())
    row = next(r for r in rows if r["pid"] == pid)
    assert row["user"] == str(start)
    inside = parse_ps(step_file(run_path, "registry-userns-ps-inside", "stdout").read_text())
    assert inside[0]["user"] == "root"
    assert step_json(run_path, "push-userns")["exit_code"] == 0
    assert "digest: sha256:" in step_file(run_path, "push-userns", "stdout").read_text()


def test_userns_data_root_is_named_after_the_ranges(userns_run):
    _, run_path, _ = userns_run
    folder = run_path / "debian12" / "userns"
    uid = range_of(parse_subids((folder / "subuid").read_text()), "dockremap").start
    gid = range_of(parse_subids((folder / "subgid").read_text()), "dockremap").start
    assert f"/var/lib/docker/{uid}.{gid}" in step_file(run_path, "userns-data-root", "stdout").read_text()
    info = json.loads((folder / "docker-info.json").read_text())
    assert info["DockerRootDir"] == f"/var/lib/docker/{uid}.{gid}"
    assert any("name=userns" in option for option in info["SecurityOptions"])


def test_clock_runs_as_bozo_on_the_host(userns_run):
    _, run_path, _ = userns_run
    folder = run_path / "debian12" / "bozo"
    assert "bozo:5000:10000" in (folder / "subuid").read_text().splitlines()
    pid = container_pid(run_path, "clock", "clock")
    assert status_uid(fact(run_path, "clock", "container-clock.host-status")) == 5000
    row = next(r for r in parse_ps(step_file(run_path, "clock-ps-host", "stdout").read_text()) if r["pid"] == pid)
    assert row["user"] == "bozo"
    # The clock ticks: its log holds at least two different times, not merely one time.
    times = re.findall(r"\d\d:\d\d:\d\d", step_file(run_path, "clock-logs", "stdout").read_text())
    assert len(set(times)) >= 2, times


def test_artifacts_name_the_key_but_never_contain_it(userns_run):
    _, run_path, manifest = userns_run
    key_file = manifest["machines"]["debian12"]["ssh"]["key_file"]
    key_lines = [line for line in open(key_file).read().splitlines() if line and not line.startswith("-----")]
    assert key_lines
    for path in run_path.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not any(line in text for line in key_lines), path


def test_a_wrong_expectation_fails_and_shows_what_the_machine_said(userns_run, machine, tmp_path):
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text("""\
name: wrong
title: expectations that the machine contradicts
images:
  registry: {pull: "registry:2", offline: registry}
modes:
  root: {}
cleanup:
  containers: [registry]
steps:
  - id: registry-as-1000
    title: a -u 1000 registry claimed to be root
    mode: root
    run: docker run -d --name registry -u 1000 {images.registry}
    expect:
      uid: {container: registry, inside: 0}
  - id: false-success
    title: a failing command claimed to succeed
    mode: root
    run: ls /nonexistent
    expect:
      exit: 0
""")
    assert up.execute(str(scenario), destroy="never") == 1
    manifest = json.loads(((userns_run[1].parent / "latest") / "manifest.json").read_text())
    assert manifest["scenario"] == "wrong" and manifest["status"] == "failed"
    latest = (userns_run[1].parent / "latest").resolve()
    first, second = (json.loads(step_path(latest, "debian12", step_id, "json").read_text())
                     for step_id in ("registry-as-1000", "false-success"))
    uid = next(v for v in first["verdicts"] if v["check"] == "uid")
    assert uid["status"] == "fail"
    assert uid["observed"] == {"container": "registry", "inside": 1000, "host": 1000}
    assert uid["expected"] == {"container": "registry", "inside": 0, "host": 0}
    exit_verdict = next(v for v in second["verdicts"] if v["check"] == "exit")
    assert exit_verdict["observed"] == 2 and second["status"] == "fail"


def test_a_broken_scenario_is_refused_in_one_line_before_anything_runs(userns_run, tmp_path):
    artifacts = userns_run[1].parent
    before = sorted(p.name for p in artifacts.iterdir())
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\ntitle: t\nimages: {}\nmodes: {root: {}}\nsteps:\n"
                      "  - id: a\n    title: a\n    mode: root\n    run: id\n    expect: {exit: maybe}\n")
    process = invoke("up", f"scenario={broken}")
    assert process.returncode == 2
    assert process.stderr.count("\n") == 1 and process.stderr.startswith(f"nslab: {broken}:10: steps[0].expect.exit")
    assert sorted(p.name for p in artifacts.iterdir()) == before
