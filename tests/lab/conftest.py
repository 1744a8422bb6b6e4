"""Real machines for the lab tests: one lab run through the real command line,
one machine reused by every test, destroyed with `invoke down` at the end."""
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nslab.config.lab import load_lab
from nslab.machines.connection import Remote
from nslab.machines.hostdocker import ensure_host_docker
from nslab.machines.hostvirt import missing_tools
from nslab.machines.vagrant import VagrantMachine
from nslab.paths import PROJECT_ROOT

INVOKE = str(Path(sys.executable).parent / "invoke")


def invoke(*args, timeout=1800, env=None):
    return subprocess.run([INVOKE, *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def missing_from_setup(what: str) -> None:
    """Something ./setup.sh installs is missing: a skip on a developer's machine, a failure in CI
    (CI set), where a broken setup must not turn a module of tests into skips."""
    message = f"{what} (./setup.sh installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message, allow_module_level=True)


SSH_STACK = ("fabric", "paramiko", "docker", "vagrant")
# Runs Invoke's own program on tasks.py, then says which modules the task loaded.
JUDGE_IN_PROCESS = """
import json, sys
from invoke.main import program
try:
    program.run(["invoke", "judge", "--run", *sys.argv[1:]])
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}))
""" % (SSH_STACK,)


def judge_offline(*args):
    process = subprocess.run([sys.executable, "-c", JUDGE_IN_PROCESS, *args], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return json.loads(process.stdout.strip().splitlines()[-1]), process


def step_path(run_path, machine, step_id, suffix):
    """A step's own file, found by the step's id in the run's manifest (never by its position,
    nor by a glob that would also match its earlier attempts)."""
    manifest = json.loads((run_path / "manifest.json").read_text())
    found = [s for s in manifest["machines"][machine]["steps"] if s["id"] == step_id]
    assert len(found) == 1, f"{machine} has {len(found)} steps with id {step_id!r}"
    step = found[0]
    return run_path / machine / step["mode"] / f"{step['number']:02d}-{step_id}.{suffix}"


def recorded_steps(run_path):
    manifest = json.loads((run_path / "manifest.json").read_text())
    steps = {}
    for machine, record in manifest["machines"].items():
        for step in record["steps"]:
            path = run_path / machine / step["mode"] / f"{step['number']:02d}-{step['id']}.json"
            steps[(machine, step["id"])] = (step["status"], json.loads(path.read_text())["verdicts"])
    return steps


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    path = tmp_path_factory.mktemp("artifacts")
    os.environ["NSLAB_ARTIFACTS"] = str(path)
    return path


@pytest.fixture(scope="session")
def docker_url():
    return ensure_host_docker()


@pytest.fixture(scope="session")
def userns_run(artifacts, docker_url):
    """The README's main job, exactly as a user types it (machine kept for the other tests)."""
    process = invoke("up", "scenario=userns", "--destroy", "never")
    run_path = (artifacts / "latest").resolve()
    manifest = json.loads((run_path / "manifest.json").read_text())
    return process, run_path, manifest


@pytest.fixture(scope="session")
def workshop_run(userns_run):
    """Lab B on the machine the userns lab left up."""
    process = invoke("up", "scenario=workshop", "--destroy", "never")
    run_path = (userns_run[1].parent / "latest").resolve()
    return process, run_path, json.loads((run_path / "manifest.json").read_text())


@pytest.fixture(scope="session")
def isolation_run(workshop_run, machine):
    """The isolation lab (five modes, two rootless engines) on the machine the earlier labs left up."""
    process = invoke("up", "scenario=isolation", "--destroy", "never", "--prove")
    run_path = (workshop_run[1].parent / "latest").resolve()
    return process, run_path, json.loads((run_path / "manifest.json").read_text())


@pytest.fixture(scope="session")
def machine(userns_run, docker_url):
    box = load_lab().box("debian12")
    machine = VagrantMachine(box, docker_url)
    yield machine
    process = invoke("down", timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    assert machine.status() == "not_created"


@pytest.fixture(scope="session")
def endpoint(machine):
    """The kept machine's SSH endpoint, read once (each read is a `vagrant ssh-config`)."""
    return machine.ssh_endpoint()


@pytest.fixture
def remote(endpoint):
    remote = Remote(endpoint).open()
    yield remote
    remote.close()


# --- the VM's labs, in the background from the start of the session ---------------------------
# The VM runs under qemu's TCG here, minutes a lab, where the container machines mostly wait on
# their daemons: its box and labs run beside the container tests, and test_vm.py (run after them)
# judges what they left. Its machine has an instance of its own, since the container labs hold the
# default one at the same time.
VM = "debian12-vm"
VM_INSTANCE = "vm"
ON_VM = ("--box", "debian12", "--provider", "libvirt")
VM_LABS = ("userns", "workshop", "isolation")
# The VM's tests, then the fault suite (whose libvirtd and daemon faults hold the host services
# alone) run last, once the VM's labs are done.
LAST = ("test_vm.py", "test_faults.py")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: LAST.index(item.path.name) + 1 if item.path.name in LAST else 0)


class VmLabs:
    """The VM box build, then each VM lab as a user types it, one after the other in a thread."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.results: dict = {}
        self.done = {name: threading.Event() for name in ("box", *VM_LABS)}
        self.thread = threading.Thread(target=self._run, name="vm-labs", daemon=True)

    def _run(self) -> None:
        try:
            self.results["box"] = invoke("box.build", *ON_VM)
            self.done["box"].set()
            for lab in VM_LABS:
                process = invoke("up", f"scenario={lab}", *ON_VM, "--instance", VM_INSTANCE, "--destroy", "never",
                                 timeout=2400, env={"NSLAB_ARTIFACTS": str(self.folder)})
                run_path = (self.folder / "latest").resolve()
                manifest_path = run_path / "manifest.json"
                manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
                self.results[lab] = (process, run_path, manifest)
                self.done[lab].set()
        finally:
            for event in self.done.values():
                event.set()          # a chain that broke wakes its waiters: they find no result

    def result(self, name: str):
        self.done[name].wait(timeout=5400)
        assert name in self.results, f"the VM's background labs stopped before {name}"
        return self.results[name]


@pytest.fixture(scope="session", autouse=True)
def vm_labs(request, tmp_path_factory):
    """Started with the first lab test when the VM's tests are to run and libvirt and qemu are here."""
    wanted = any(item.path.name == "test_vm.py" for item in request.session.items)
    if not wanted or missing_tools():
        return None
    labs = VmLabs(tmp_path_factory.mktemp("vm-artifacts"))
    labs.thread.start()
    return labs
