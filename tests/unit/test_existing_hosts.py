"""Existing hosts, the pure parts: `--host` specs, ssh boxes in lab.yaml, and what "not as found"
says, judged on a host's state recorded by a real run (tests/evidence/existing-host)."""
import copy
from pathlib import Path

import pytest

from nslab.config.lab import existing_hosts
from nslab.errors import ConfigError
from nslab.machines.inventory import load_lab, unavailable_reason
from nslab.run.restore import HostState, differences, watched_files

from .test_lab import _lab_with

RECORDED = Path(__file__).parent.parent / "evidence" / "existing-host" / "host-before.json"


def recorded() -> HostState:
    return HostState.from_json(RECORDED.read_text())


def test_host_specs_become_ssh_boxes_named_by_address():
    boxes = existing_hosts("admin@127.0.0.1:2201,ops@127.0.0.2", "/keys/id")
    assert [(b.name, b.provider, b.user, b.host, b.port) for b in boxes] == [
        ("host-127.0.0.1-2201", "ssh", "admin", "127.0.0.1", 2201),
        ("host-127.0.0.2-22", "ssh", "ops", "127.0.0.2", 22)]
    assert boxes[0].identity_file == "/keys/id"


@pytest.mark.parametrize("spec, said", [
    ("127.0.0.1:2201", "--host '127.0.0.1:2201': expected USER@HOST[:PORT], e.g. admin@127.0.0.1:2201"),
    ("a@127.0.0.1:70000", "--host 'a@127.0.0.1:70000': expected USER@HOST[:PORT]"),
    ("a@127.0.0.1:22,a@127.0.0.1", "a host is named twice"),
])
def test_a_bad_host_spec_is_one_line_naming_it(spec, said):
    with pytest.raises(ConfigError) as raised:
        existing_hosts(spec, "/keys/id")
    assert str(raised.value).startswith(said) or str(raised.value).endswith(said)


def test_a_host_without_an_identity_is_refused():
    with pytest.raises(ConfigError, match=r"^--host needs --identity FILE"):
        existing_hosts("a@127.0.0.1", None)


def test_an_ssh_box_in_lab_yaml_must_say_where_and_as_whom(tmp_path):
    path = _lab_with(tmp_path, "boxes:\n", "boxes:\n  web1:\n    distro: our web server\n    provider: ssh\n"
                                          "    host: 127.0.0.1\n")
    with pytest.raises(ConfigError, match=r"lab.yaml.*boxes.web1.*needs user, identity_file"):
        load_lab(path)
    path = _lab_with(tmp_path, "boxes:\n", "boxes:\n  web1:\n    distro: our web server\n    provider: ssh\n"
                                          "    host: 127.0.0.1\n    port: 2201\n    user: ops\n"
                                          "    identity_file: /nonexistent/key\n")
    box = load_lab(path).box("web1")
    assert (box.host, box.port, box.user) == ("127.0.0.1", 2201, "ops")
    assert unavailable_reason(box) == "its identity file /nonexistent/key does not exist"


def test_every_config_styles_file_and_the_account_files_are_watched():
    watched = watched_files()
    for path in ("/etc/docker/daemon.json", "/etc/default/docker", "/var/lib/boot2docker/profile",
                 "/etc/systemd/system/docker.service.d/nslab-mode.conf", "/etc/subuid", "/etc/subgid-",
                 "/etc/passwd", "/etc/shadow-"):
        assert path in watched


def test_a_state_equal_to_itself_has_no_difference():
    assert differences(recorded(), HostState.from_json(recorded().to_json())) == []


def test_each_kind_of_change_is_named_in_one_line():
    before = recorded()
    after = copy.deepcopy(before)
    after.files["/etc/subuid"] = after.files["/etc/subuid"][:-1] + "0"
    after.files["/etc/docker/daemon.json"] = "644 0 0 " + "ab" * 32
    after.users.append("dockremap")
    after.data_root_entries.append("165536.165536")
    after.security_options = ["name=seccomp,profile=builtin", "name=userns"]
    after.containers["c0ffee"] = {"name": "registry", "image": "nslab/registry:offline", "state": "exited"}
    after.volumes.append("nslab-owned")
    after.lab_paths["/srv/nslab-isolation"] = True
    before.lab_paths["/srv/nslab-isolation"] = False
    found = differences(before, after)
    digest = before.files["/etc/subuid"].split()[3][:12]
    assert found == [
        "file /etc/docker/daemon.json: was absent, is 644 0:0 sha256 abababababab",
        f"file /etc/subuid: was 644 0:0 sha256 {digest}, "
        f"is 644 0:0 sha256 {after.files['/etc/subuid'].split()[3][:12]}",
        "user dockremap added",
        "data-root entry 165536.165536 added",
        "volume nslab-owned added",
        "the lab's path /srv/nslab-isolation is still there",
        f"docker info security options: were {before.security_options}, are "
        "['name=seccomp,profile=builtin', 'name=userns']",
        "container registry added",
    ]


def test_no_environment_reaches_a_run():
    from nslab.run import redact
    info = {"HttpProxy": "http://user:secret@proxy:3128", "NoProxy": "", "ServerVersion": "26.1.5"}
    assert redact.daemon_info(info) == {"HttpProxy": "not captured", "NoProxy": "", "ServerVersion": "26.1.5"}
    inspect = {"Id": "c0ffee", "Config": {"Env": ["TOKEN=abc", "PATH=/bin"], "User": "1000"}}
    assert redact.container_inspect(inspect) == {"Id": "c0ffee", "Config": {"Env": "not captured", "User": "1000"}}
    assert inspect["Config"]["Env"] == ["TOKEN=abc", "PATH=/bin"]        # the SDK's own answer untouched
