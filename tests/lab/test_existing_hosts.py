"""The labs on hosts nslab did not build (`--host`): host keys, sudo, running containers, and every
host left exactly as found — checked by the test's own reading of the host, before and after."""
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from nslab.machines.base import free_loopback_port
from nslab.run.layout import RunView
from nslab.run.restore import BUNDLE

from .conftest import INVOKE, PROJECT_ROOT, invoke, recorded_steps
from .existing import ContainerHost, ExistingHosts, wait_for_line

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def hosts(docker_url, tmp_path_factory):
    made = ExistingHosts(tmp_path_factory.mktemp("existing-hosts"))
    yield made
    made.remove_all()


@pytest.fixture(scope="module")
def web(hosts):
    """A debian12 host, its facts as the test read them before any run, and its host key."""
    host = hosts.start("debian12", "web")
    return host, hosts.facts(host), hosts.host_key(host)


def assert_nothing_lost(run: Path) -> None:
    """Every file the run recorded is there as recorded (its digest), and it kept its host's records."""
    integrity = RunView(run).verify()
    assert integrity.ok and not integrity.missing and not integrity.changed, integrity
    manifest = json.loads((run / "manifest.json").read_text())
    (name,) = manifest["machines"]
    assert f"{name}/host-before.json" in manifest["artifacts"]


def latest_manifest(artifacts) -> tuple[Path, dict]:
    run = (artifacts / "latest").resolve()
    return run, json.loads((run / "manifest.json").read_text())


def machine_record(manifest: dict) -> dict:
    (record,) = manifest["machines"].values()
    return record


def test_an_unknown_host_key_is_refused_with_its_fingerprint_and_nothing_changes(hosts, web, artifacts):
    host, before, key = web
    process = hosts.up("userns", host)
    assert process.returncode == 2, process.stdout + process.stderr
    assert f"is not in {hosts.known_hosts} ({key})" in process.stdout
    assert "--accept-new-host-key" in process.stdout
    assert not hosts.known_hosts.exists()
    assert hosts.facts(host) == before


@pytest.fixture(scope="module")
def web_userns(hosts, web, artifacts):
    process = hosts.up("userns", web[0], extra=["--accept-new-host-key"])
    run, manifest = latest_manifest(artifacts)
    return process, run, manifest


def test_userns_on_an_existing_host_passes_and_leaves_it_exactly_as_found(hosts, web, web_userns):
    host, before, key = web
    process, run, manifest = web_userns
    assert process.returncode == 0, process.stdout + process.stderr
    record = machine_record(manifest)
    assert (record["provider"], record["host"], record["restored"]) == ("ssh", host.spec, "verified")
    assert record["ssh"]["host_key"] == key
    assert record["docker_version"].startswith("20.10.24")
    # The test's own reading of the host, not nslab's.
    assert hosts.facts(host) == before
    assert hosts.exec(host, f"test -e {BUNDLE} && echo kept || echo gone").strip() == "gone"
    # What was removed, said as it was done: the users the modes made, the remapped data-roots.
    assert "restore: removed user dockremap" in process.stdout and "restore: removed user bozo" in process.stdout
    assert "restore: removed the remapped data-root /var/lib/docker/165536.165536" in process.stdout
    # The host key was recorded as asked; the run folder is its owner's alone.
    assert f"[127.0.0.1]:{host.port} ssh-ed25519 " in hosts.known_hosts.read_text()
    assert oct(run.stat().st_mode & 0o777) == "0o700"


def test_no_secret_of_the_host_reaches_the_run(hosts, web, web_userns):
    """Its files reach the run as digests only, containers' environments not at all."""
    _, run, manifest = web_userns
    shadow = [line for line in hosts.exec(web[0], "cat /etc/shadow").splitlines() if line]
    written = "".join(path.read_text(errors="replace") for path in run.rglob("*") if path.is_file())
    assert not [line for line in shadow if line in written]
    assert not re.search(r'"Env": \[\s*"', written)      # containers' environments: never a value
    (name,) = manifest["machines"]
    state = json.loads((run / name / "host-before.json").read_text())
    shadow = state["files"]["/etc/shadow"].split()
    assert len(shadow) == 4 and len(shadow[3]) == 64      # mode, owner, group, sha256
    assert "dockremap" not in state["users"]
    after = json.loads((run / name / "host-after.json").read_text())
    assert after == state


def test_the_built_box_and_the_existing_host_agree_in_every_verdict(userns_run, web_userns):
    built = {step: status for (_, step), (status, _) in recorded_steps(userns_run[1]).items()}
    host = {step: status for (_, step), (status, _) in recorded_steps(web_userns[1]).items()}
    assert len(host) == 20 and host == built


def test_isolation_on_an_existing_host_passes_and_leaves_it_as_found(hosts, web, web_userns, isolation_run,
                                                                        artifacts):
    host, before, _ = web
    process = hosts.up("isolation", host)
    run, manifest = latest_manifest(artifacts)
    assert process.returncode == 0, process.stdout + process.stderr
    assert machine_record(manifest)["restored"] == "verified"
    assert hosts.facts(host) == before
    # The rootless users went with their homes and the lab's folder on the host.
    assert "restore: removed user nslab-rootless" in process.stdout
    assert "restore: removed the lab's /srv/nslab-isolation" in process.stdout
    built = {step: status for (_, step), (status, _) in recorded_steps(isolation_run[1]).items()}
    assert {step: status for (_, step), (status, _) in recorded_steps(run).items()} == built


def test_a_changed_host_key_is_always_refused(hosts, web, web_userns):
    host, before, old_key = web
    hosts.exec(host, "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh")
    new_key = hosts.host_key(host)
    for extra in ([], ["--accept-new-host-key"]):
        process = hosts.up("userns", host, extra=extra)
        assert process.returncode == 2, process.stdout + process.stderr
        assert f"has CHANGED: {hosts.known_hosts} has {old_key}, the host offers {new_key}; refused" in process.stdout
    assert hosts.facts(host) == before


def test_what_a_lab_would_destroy_or_cannot_leave_as_found_refuses_the_host(hosts):
    host = hosts.start("debian13", "refusing")
    for make, said, undo in (
            ("mkdir /var/lib/docker/165536.165536",
             "its data-root holds remapped daemons' stores (/var/lib/docker/165536.165536)",
             "rmdir /var/lib/docker/165536.165536"),
            ("echo '{\"log-level\": \"warn\"}' > /etc/docker/daemon.json",
             "/etc/docker/daemon.json sets log-level; the lab's modes replace it", "rm /etc/docker/daemon.json"),
            ("mkdir /srv/nslab-isolation", "/srv/nslab-isolation exists; the lab makes and removes",
             "rmdir /srv/nslab-isolation"),
            ("systemctl stop docker.socket docker", "its docker service is inactive",
             "systemctl start docker")):
        hosts.exec(host, make)
        before = hosts.facts(host)
        process = hosts.up("isolation", host, extra=["--accept-new-host-key"])
        assert process.returncode == 2, process.stdout + process.stderr
        assert f"error: host {host.spec}: {said}" in process.stdout
        assert hosts.facts(host) == before
        hosts.exec(host, undo)


def test_a_host_without_passwordless_sudo_is_refused_in_one_line(hosts):
    host = hosts.start("debian13", "nosudo")
    hosts.exec(host, "rm /etc/sudoers.d/vagrant")
    before = hosts.facts(host)
    process = hosts.up("userns", host, extra=["--accept-new-host-key"])
    assert process.returncode == 2
    errors = [line for line in process.stdout.splitlines() if line.startswith("error:")]
    assert errors == [f"error: host {host.spec}: passwordless sudo is required, and `sudo -n true` said: "
                      "sudo: a password is required"]
    assert hosts.facts(host) == before


@pytest.fixture(scope="module")
def busy(hosts):
    """A debian11 host running a container of its own."""
    host = hosts.start("debian11", "busy")
    hosts.exec(host, "mkdir -p /root/keeper/bin && cp /usr/bin/busybox /root/keeper/bin/ && "
                     "tar -C /root/keeper -c . | docker import -c 'CMD [\"/bin/busybox\", \"sleep\", \"100000\"]' "
                     "- site/keeper:1 >/dev/null && docker run -d --name keeper site/keeper:1 >/dev/null")
    return host


def test_running_containers_refuse_the_run_unless_allowed_and_run_again_after(hosts, busy):
    before = hosts.facts(busy)
    keeper = hosts.exec(busy, "docker inspect -f '{{.Id}} {{.State.Running}}' keeper").split()
    refused = hosts.up("userns", busy, extra=["--accept-new-host-key"])
    assert refused.returncode == 2
    assert f"host {busy.spec} runs containers (keeper): a mode switch stops them" in refused.stdout
    assert hosts.facts(busy) == before
    allowed = hosts.up("userns", busy, extra=["--allow-disruption"])
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "restore: started container keeper again, as it was running before" in allowed.stdout
    assert hosts.exec(busy, "docker inspect -f '{{.Id}} {{.State.Running}}' keeper").split() == keeper
    assert hosts.facts(busy) == before


def _interruptible_up(hosts, host, *extra):
    """`invoke up` with Ctrl-C at its default disposition (a background job's children ignore it)."""
    return subprocess.Popen([INVOKE, "up", "scenario=userns", *hosts.args(host), "--accept-new-host-key", *extra],
                            cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_ctrl_c_in_the_middle_of_a_mode_restores_the_host_before_exiting(hosts, busy, artifacts):
    before = hosts.facts(busy)
    process = _interruptible_up(hosts, busy, "--allow-disruption")
    wait_for_line(process, "daemon: switching to mode 'userns'")
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 130, output
    assert "restored and verified" in output
    run, manifest = latest_manifest(artifacts)
    assert machine_record(manifest)["restored"] == "verified" and manifest["status"] == "interrupted"
    assert_nothing_lost(run)
    assert hosts.facts(busy) == before


def test_ssh_cut_during_a_mode_switch_is_restored_by_invoke_restore(hosts, busy, artifacts):
    before = hosts.facts(busy)
    process = _interruptible_up(hosts, busy, "--allow-disruption")
    wait_for_line(process, "daemon: switching to mode 'userns'")
    # The host stops answering SSH (listener and sessions gone): the connection is cut, for good.
    hosts.exec(busy, "systemctl stop ssh.socket ssh 2>/dev/null; pkill -KILL -f '[s]shd: vagrant'; true")
    output = process.communicate(timeout=300)[0]
    hosts.exec(busy, "systemctl start ssh")
    assert process.returncode == 2, output
    run, manifest = latest_manifest(artifacts)
    assert machine_record(manifest)["restored"].startswith("not done: connection to 127.0.0.1")
    assert_nothing_lost(run)
    assert f"`invoke restore --host {busy.spec} --identity {hosts.key}` restores it" in output
    assert hosts.exec(busy, f"test -e {BUNDLE}/state.json && echo kept").strip() == "kept"
    assert hosts.facts(busy) != before
    restored = invoke("restore", *hosts.args(busy))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"{busy.spec}: restored and verified as the run found it; bundle removed" in restored.stdout
    assert hosts.facts(busy) == before
    again = invoke("restore", *hosts.args(busy))
    assert f"{busy.spec}: no restore bundle on the host: nothing to restore" in again.stdout


def test_a_run_killed_outright_is_restored_by_the_next_up_first(hosts, busy):
    before = hosts.facts(busy)
    process = _interruptible_up(hosts, busy, "--allow-disruption")
    wait_for_line(process, "daemon: mode 'userns' ready")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    assert hosts.facts(busy) != before
    process = hosts.up("userns", busy, extra=["--allow-disruption"])
    assert process.returncode == 0, process.stdout + process.stderr
    assert "(it ended before restoring): restoring it" in process.stdout
    assert hosts.facts(busy) == before


def test_a_fleet_runs_in_one_matrix_side_by_side_and_an_unreachable_host_is_a_cell_that_says_why(
        hosts, tmp_path):
    fleet = [hosts.start(box, f"fleet-{box}") for box in ("debian11", "debian12", "debian13")]
    before = [hosts.facts(host) for host in fleet]
    gone = ContainerHost("gone", free_loopback_port())
    # Two labs: each host's two cells take turns on it.
    process = invoke("matrix", "--scenarios", "userns,ownership", "--jobs", "3", *hosts.args(*fleet, gone),
                     "--accept-new-host-key", "--continue-on-failure", env={"NSLAB_ARTIFACTS": str(tmp_path)})
    assert process.returncode == 1, process.stdout + process.stderr
    (folder,) = (tmp_path / "matrix").iterdir()
    summary = json.loads((folder / "matrix.json").read_text())["cells"]
    cells = {cell["box"]: cell for cell in summary if cell["scenario"] == "userns"}
    names = [f"host-127.0.0.1-{host.port}" for host in fleet]
    assert [cells[name]["state"] for name in names] == ["passed"] * 3
    assert [c["state"] for c in summary if c["scenario"] == "ownership" and c["box"] in names] == ["passed"] * 3
    # One host's runs never overlap: each began after the other ended.
    for name in names:
        spans = sorted(_span(Path(c["run"])) for c in summary if c["box"] == name)
        assert spans[0][1] <= spans[1][0], f"{name}: {spans}"
    dead = cells[f"host-127.0.0.1-{gone.port}"]
    assert dead["state"] == "error"
    assert f"host {gone.spec} does not answer on port {gone.port}" in (tmp_path / "matrix" / folder.name /
                                                                       f"host-127.0.0.1-{gone.port}-userns.log").read_text()
    versions = [machine_record(json.loads((Path(cells[name]["run"]) / "manifest.json").read_text()))["docker_version"]
                for name in names]
    assert [v.split("+")[0] for v in versions] == ["20.10.5", "20.10.24", "26.1.5"]
    # One comparison of all hosts: each one's column in the report.
    report = (folder / "report.md").read_text()
    assert all(name in report for name in names)
    assert [hosts.facts(host) for host in fleet] == before


def _span(run: Path) -> tuple[str, str]:
    manifest = json.loads((run / "manifest.json").read_text())
    return manifest["started"], manifest["finished"]
