"""The machine, its connection and its box, checked on the real thing."""
import socket

import docker
import pytest

from nslab.errors import RemoteTimeout
from nslab.machines.base import DEFAULT_INSTANCE
from nslab.machines.boxes import RECIPE_LABEL, build_box, image_ref
from nslab.machines.inventory import load_lab

pytestmark = pytest.mark.lab


def test_machine_is_reached_through_a_loopback_port(endpoint, docker_url):
    assert endpoint.host == "127.0.0.1" and endpoint.user == "vagrant"
    host = docker.DockerClient(base_url=docker_url)
    container = host.containers.get(f"{DEFAULT_INSTANCE.prefix}-debian12")
    published = container.attrs["NetworkSettings"]["Ports"]["22/tcp"]
    assert {(p["HostIp"], int(p["HostPort"])) for p in published} == {("127.0.0.1", endpoint.port)}


def test_connection_sets_nodelay_and_carries_docker_api_on_the_same_ssh_session(remote):
    sock = remote.connection.transport.sock
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    version = remote.check("docker version --format '{{.Server.Version}}'").strip()
    assert remote.docker.info()["ServerVersion"] == version
    # One TCP connection to sshd carries both the shell commands and the API calls.
    established = remote.check("ss -Htn state established '( sport = :22 )'").strip().splitlines()
    assert len(established) == 1, established


def test_a_command_that_overruns_its_timeout_is_stopped_and_the_connection_survives(remote):
    with pytest.raises(RemoteTimeout, match="timed out after 1s: sleep 30"):
        remote.run("sleep 30", timeout=1)
    assert remote.check("echo still here").strip() == "still here"


def test_a_failing_command_reports_status_and_output(remote):
    result = remote.run("ls /nonexistent")
    assert result.exit_code == 2 and "No such file" in result.stderr


def test_box_image_is_cached_by_recipe(docker_url):
    box = load_lab().box("debian12")
    outcome = build_box(box, docker_url, log=lambda _: None)
    assert outcome["built"] is False
    label = docker.DockerClient(base_url=docker_url).images.get(image_ref(box)).labels[RECIPE_LABEL]
    assert label == outcome["recipe"]


def test_sshd_host_keys_are_made_per_machine(remote, docker_url):
    fingerprint = remote.check("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").split()[1]
    image = docker.DockerClient(base_url=docker_url).containers.run(
        image_ref(load_lab().box("debian12")), "ls /etc/ssh", remove=True).decode()
    assert "ssh_host_ed25519_key" not in image and fingerprint.startswith("SHA256:")
