"""Clones side by side on one host: two more clones run the userns lab at the same moment as each
other, beside this clone's kept machine; the host daemon and its built boxes are shared on purpose;
`invoke down --host-daemon` in one clone leaves the others' machines running and says why."""
import os
import shutil
import subprocess
from pathlib import Path

import docker
import pytest

from nslab.machines.base import DEFAULT_INSTANCE
from nslab.machines.hostshare import CLONE_LABEL
from nslab.paths import PROJECT_ROOT, state_dir

from .conftest import INVOKE

pytestmark = pytest.mark.lab


def make_clone(folder: Path) -> Path:
    """The tracked files of this working tree in a folder of its own: a clone, as a second checkout
    would be (its own state, Vagrant state and names), with this tree's changes in it."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True,
                           text=True).stdout.split("\0")
    for name in filter(None, files):
        source = PROJECT_ROOT / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    return folder


def in_clone(clone: Path, *args) -> dict:
    env = {**os.environ, "PYTHONPATH": str(clone), "NSLAB_ARTIFACTS": str(clone / "artifacts")}
    env.pop("NSLAB_STATE", None)
    return dict(args=[INVOKE, *args], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, text=True)


@pytest.fixture(scope="module")
def clones(tmp_path_factory, machine):
    """Two clones' `invoke up scenario=userns`, started at the same moment, while this clone keeps its machine."""
    made = [make_clone(tmp_path_factory.mktemp(f"clone-{n}")) for n in ("a", "b")]
    processes = [subprocess.Popen(**in_clone(clone, "up", "scenario=userns")) for clone in made]
    outputs = [process.communicate(timeout=900)[0] for process in processes]
    yield made, processes, outputs
    for clone in made:
        subprocess.run(**in_clone(clone, "down"), timeout=300)


def clone_containers(docker_url) -> dict[str, str]:
    client = docker.DockerClient(base_url=docker_url)
    try:
        return {c.name: c.labels.get(CLONE_LABEL) for c in client.containers.list()
                if c.labels.get(CLONE_LABEL)}
    finally:
        client.close()


def test_two_clones_run_the_lab_at_the_same_moment_and_both_pass(clones):
    _, processes, outputs = clones
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
        assert "20 steps: 20 pass" in output
        # The box this clone built is the host's: the others find it cached and build nothing.
        assert "box debian12: cached (nslab/debian12:latest" in output and "box debian12: building" not in output


def test_each_clones_machine_is_its_own_and_says_whose_it_is(clones, docker_url):
    made, _, _ = clones
    running = clone_containers(docker_url)
    mine = f"{DEFAULT_INSTANCE.prefix}-debian12"
    assert running[mine] == str(state_dir())
    theirs = {name: clone for name, clone in running.items() if clone in {str(c / ".nslab") for c in made}}
    assert sorted(theirs.values()) == sorted(str(c / ".nslab") for c in made)
    assert len({mine, *theirs}) == 3                       # three names, none shared


def test_down_host_daemon_in_one_clone_leaves_the_others_machines_running_and_names_them(clones, docker_url):
    made, _, _ = clones
    mine = f"{DEFAULT_INSTANCE.prefix}-debian12"               # this clone's kept machine
    [theirs] = [name for name, clone in clone_containers(docker_url).items() if clone == str(made[1] / ".nslab")]
    down = subprocess.run(**in_clone(made[0], "down", "--host-daemon"), timeout=300)
    running = clone_containers(docker_url)
    assert str(made[0] / ".nslab") not in running.values()         # its own machine is gone ...
    assert running[mine] == str(state_dir()) and running[theirs] == str(made[1] / ".nslab")   # ... no other
    assert down.returncode == 1, down.stdout
    said = next(line for line in down.stdout.splitlines() if line.startswith("host docker:"))
    assert said.startswith("host docker: nslab's own daemon kept for the machines of other clones: ")
    assert f"{mine} (clone {state_dir()})" in said and f"{theirs} (clone {made[1] / '.nslab'})" in said
