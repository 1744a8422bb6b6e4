"""Daemon modes applied for real: idempotent, verified, restorable, refusing bad ranges."""
import pytest

from nslab.daemon.modes import DaemonMode, apply_mode
from nslab.daemon.styles.daemon_json import DaemonJsonStyle
from nslab.errors import ConfigError, DaemonError

from .conftest import invoke

pytestmark = pytest.mark.lab

STANDARD = DaemonMode("standard")
USERNS = DaemonMode("userns", userns_remap="default")
quiet = dict(log=lambda _: None)


def test_applying_a_mode_twice_changes_nothing_the_second_time(remote):
    style = DaemonJsonStyle()
    apply_mode(remote, USERNS, style, **quiet)
    pid = remote.check("systemctl show -p MainPID --value docker", sudo=True).strip()
    again = apply_mode(remote, USERNS, style, **quiet)
    assert again.changed is False
    assert remote.check("systemctl show -p MainPID --value docker", sudo=True).strip() == pid
    assert "userns-remap=default" in invoke("status").stdout


def test_status_names_a_running_machine_whose_daemon_does_not_answer_and_goes_on(remote):
    # As a matrix cell is while its run restarts the daemon: the row says so, never a traceback.
    remote.check("systemctl stop docker.socket docker", sudo=True)
    try:
        process = invoke("status")
    finally:
        remote.check("systemctl start docker", sudo=True)
    assert process.returncode == 0, process.stderr
    row = next(line for line in process.stdout.splitlines()
               if line.startswith("│ debian12 ") and "│ default " in line)
    assert "│ running " in row and "unreadable: its daemon did not answer (ConnectionError)" in row
    assert "Traceback" not in process.stderr


def test_standard_restores_the_root_daemon(remote):
    style = DaemonJsonStyle()
    remapped = apply_mode(remote, USERNS, style, **quiet)
    assert remapped.info["DockerRootDir"] == remapped.expected_data_root != "/var/lib/docker"
    restored = apply_mode(remote, STANDARD, style, **quiet)
    assert restored.info["DockerRootDir"] == "/var/lib/docker"
    assert not any("userns" in o for o in remote.docker.info()["SecurityOptions"])
    assert style.read(remote) == {"insecure-registries": ["127.0.0.1:5000"]}
    assert "standard (root)" in invoke("status").stdout


def test_a_remap_range_overlapping_the_machines_is_refused_and_nothing_changes(remote):
    style = DaemonJsonStyle()
    apply_mode(remote, STANDARD, style, **quiet)
    before = remote.check("cat /etc/subuid /etc/passwd /etc/docker/daemon.json", sudo=True)
    clash = DaemonMode("clash", userns_remap="clashuser", subid_start=150000, subid_count=1000)
    with pytest.raises(ConfigError, match=r"range clashuser:150000:1000 overlaps vagrant:100000:65536 in /etc/subuid"):
        apply_mode(remote, clash, style, **quiet)
    assert remote.check("cat /etc/subuid /etc/passwd /etc/docker/daemon.json", sudo=True) == before


def test_remapping_to_a_live_user_is_refused(remote):
    with pytest.raises(ConfigError, match="user 'vagrant' already exists .* terrible idea"):
        apply_mode(remote, DaemonMode("live", userns_remap="vagrant"), DaemonJsonStyle(), **quiet)


def test_a_key_set_in_two_places_is_refused_before_any_restart(remote):
    style = DaemonJsonStyle()
    apply_mode(remote, STANDARD, style, **quiet)
    pid = remote.check("systemctl show -p MainPID --value docker", sudo=True).strip()
    # Debian's docker.service passes $DOCKER_OPTS from /etc/default/docker to dockerd.
    original = remote.read_file("/etc/default/docker") or ""
    remote.write_file("/etc/default/docker", original + 'DOCKER_OPTS="--userns-remap=default"\n')
    try:
        with pytest.raises(DaemonError, match=r"refused before restart: 'userns-remap' is set both in "
                                              r"DOCKER_OPTS in /etc/default/docker and in /etc/docker/daemon.json"):
            apply_mode(remote, USERNS, style, **quiet)
        assert remote.check("systemctl show -p MainPID --value docker", sudo=True).strip() == pid
        assert style.read(remote) == {"insecure-registries": ["127.0.0.1:5000"]}
    finally:
        remote.write_file("/etc/default/docker", original)
