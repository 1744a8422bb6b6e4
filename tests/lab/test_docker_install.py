"""`docker: install`: a Debian box built without Docker gets docker.io before the first mode, from a
folder of .deb files this test takes from Debian's packages on the host (the machine stays offline),
and passes the userns lab."""
import json
import subprocess

import pytest

from .conftest import invoke

pytestmark = pytest.mark.lab

ENGINE = ["docker.io", "containerd", "runc", "tini"]


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("debs")
    got = subprocess.run(["apt-get", "download", *ENGINE], cwd=folder, capture_output=True, text=True)
    assert got.returncode == 0, f"apt-get download {' '.join(ENGINE)}: {got.stderr}"
    return folder


def deb_version(folder, package: str) -> str:
    (deb,) = folder.glob(f"{package}_*.deb")
    return subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_box_without_docker_gets_it_installed_and_passes_userns(debs, docker_url, tmp_path):
    process = invoke("up", "scenario=userns", "--box", "debian12-bare", "--docker-packages", str(debs),
                     "--instance", "bare", "--destroy", "always", env={"NSLAB_ARTIFACTS": str(tmp_path)})
    assert process.returncode == 0, process.stdout + process.stderr
    # The box really comes without it: its image has no dockerd.
    image = subprocess.run(["docker", "-H", docker_url, "run", "--rm", "--entrypoint", "sh",
                            "nslab/debian12-bare", "-c", "test -x /usr/sbin/dockerd"], capture_output=True, text=True)
    assert image.returncode == 1 and image.stdout == ""
    manifest = json.loads(((tmp_path / "latest").resolve() / "manifest.json").read_text())
    record = manifest["machines"]["debian12-bare"]
    assert record["docker_install"] == {"installed": True, "source": str(debs.resolve()), "packages": {
        package: deb_version(debs, package) for package in ("docker.io", "containerd", "runc")}}
    assert record["docker_version"] == deb_version(debs, "docker.io").split("-")[0]
    assert [step["status"] for step in record["steps"]] == ["pass"] * 20
    assert f"docker: installed docker.io {deb_version(debs, 'docker.io')}" in process.stdout
