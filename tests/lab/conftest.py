"""Real machines for the lab tests: one lab run through the real command line,
one machine reused by every test, destroyed with `invoke down` at the end."""
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nslab.machines.connection import Remote
from nslab.machines.hostdocker import ensure_host_docker
from nslab.machines.hostvirt import missing_tools
from nslab.machines.inventory import load_lab
from nslab.machines.vagrant import VagrantMachine
from nslab.paths import INVOKE, PROJECT_ROOT
from nslab.run.layout import RunView


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
print(json.dumps({"code": code, "loaded": [m for m in SSH_STACK if m in sys.modules]}))
""".replace("SSH_STACK", repr(SSH_STACK))


def judge_offline(*args):
    process = subprocess.run([sys.executable, "-c", JUDGE_IN_PROCESS, *args], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return json.loads(process.stdout.strip().splitlines()[-1]), process


def step_path(run_path, machine, step_id, suffix):
    """A step's own file, found by the step's id in the run's manifest (never by its position,
    nor by a glob that would also match its earlier attempts); where it lies is the run layout's."""
    found = [ref for ref in RunView(run_path).steps(machine) if ref.step_id == step_id]
    assert len(found) == 1, f"{machine} has {len(found)} steps with id {step_id!r}"
    return run_path / found[0].files.file(suffix)


def recorded_steps(run_path):
    """(machine, step id) -> (status, verdicts) as the run recorded them."""
    return {(ref.machine, ref.step_id):
            (ref.status, json.loads((run_path / ref.files.file("json")).read_text())["verdicts"])
            for ref in RunView(run_path).all_steps()}


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


# --- lanes: long work in the background from the start of the session -------------------------
# The VM runs under qemu's TCG here, minutes a lab, and the matrices bring up machines of their
# own; the container tests mostly wait on their machines' daemons. Each lane runs its commands as
# a user types them, one after the other, in a thread of its own; the tests of that work judge what
# the lane left. The VM's machine has an instance of its own, since the container labs hold the
# default one at the same time; each lane writes runs into a folder of its own.
VM = "debian12-vm"
VM_INSTANCE = "vm"
ON_VM = ("--box", "debian12", "--provider", "libvirt")
MATRIX_BOXES = ["debian11", "debian13", "debian12-sysv", "b2d-standin", "ubuntu1604"]
# The hardening lab on a box of each other config style, Docker before 23 and after (test_hardening.py).
HARDENING_BOXES = ["debian11", "debian13", "debian-sid"]
# The seeds, and the two labs beyond them.
MATRIX_SCENARIOS = ["userns", "workshop", "ownership", "capabilities"]
# The VM's tests, then the fault suite (whose libvirtd and daemon faults hold the host services
# alone) run last, once the lanes are done.
LAST = ("test_vm.py", "test_faults.py")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: LAST.index(item.path.name) + 1 if item.path.name in LAST else 0)


def lab_run(process, folder: Path):
    """An `invoke up`'s process, its run and manifest (None when it wrote none)."""
    run_path = (folder / "latest").resolve()
    manifest_path = run_path / "manifest.json"
    return process, run_path, json.loads(manifest_path.read_text()) if manifest_path.is_file() else None


def matrix_result(process, folder: Path):
    """A matrix's process, its folder and summary."""
    matrix = max((folder / "matrix").iterdir())
    return process, matrix, json.loads((matrix / "matrix.json").read_text())


class Lane:
    """Named steps run one after the other in a thread; a test waits for the step it judges."""

    def __init__(self, name: str, folder: Path, steps: list):
        self.folder = folder
        self.steps = steps          # (name, function of the lane's folder)
        self.results: dict = {}
        self.errors: dict = {}
        self.done = {step: threading.Event() for step, _ in steps}
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        for name, step in self.steps:
            try:
                self.results[name] = step(self.folder)
            except Exception as exc:     # said by the test that waits for it, not lost in a thread
                self.errors[name] = f"{type(exc).__name__}: {exc}"
            self.done[name].set()

    def result(self, name: str):
        self.done[name].wait(timeout=5400)
        assert name not in self.errors, f"lane step {name}: {self.errors[name]}"
        assert name in self.results, f"lane step {name} did not finish"
        return self.results[name]


def _vm_up(lab: str):
    return lambda folder: lab_run(invoke("up", f"scenario={lab}", *ON_VM, "--instance", VM_INSTANCE,
                                         "--destroy", "never", timeout=2400,
                                         env={"NSLAB_ARTIFACTS": str(folder)}), folder)


def _matrix(*args: str):
    return lambda folder: matrix_result(invoke("matrix", *args, env={"NSLAB_ARTIFACTS": str(folder)}), folder)


def _start(request, tmp_path_factory, modules: tuple[str, ...], name: str, steps: list):
    """A lane, started when the tests of one of its modules are to run."""
    if not any(item.path.name in modules for item in request.session.items):
        return None
    lane = Lane(name, tmp_path_factory.mktemp(f"{name}-artifacts"), steps)
    lane.thread.start()
    return lane


@pytest.fixture(scope="session", autouse=True)
def vm_lane(request, tmp_path_factory):
    """The VM box, then each VM lab on one kept VM (test_vm.py), when libvirt and qemu are here."""
    if missing_tools():
        return None
    return _start(request, tmp_path_factory, ("test_vm.py",), "vm", [
        ("box", lambda folder: invoke("box.build", *ON_VM)),
        ("userns", _vm_up("userns")), ("workshop", _vm_up("workshop")), ("isolation", _vm_up("isolation"))])


@pytest.fixture(scope="session", autouse=True)
def matrix_lane(request, tmp_path_factory):
    """The hardening lab (test_hardening.py), then every config style's box with the seeds and the labs
    beyond them, then the sid sentinel (test_matrix.py)."""
    # The hardening lab first: its tests come first in the file order.
    return _start(request, tmp_path_factory, ("test_matrix.py", "test_hardening.py"), "matrix", [
        ("hardening", _matrix("--boxes", ",".join(HARDENING_BOXES), "--scenarios", "hardening", "--jobs", "3",
                              "--prove")),
        ("matrix", _matrix("--boxes", ",".join(MATRIX_BOXES), "--scenarios", ",".join(MATRIX_SCENARIOS),
                           "--jobs", "3", "--continue-on-failure")),
        ("sid", _matrix("--boxes", "debian-sid", "--scenarios", "userns,workshop", "--jobs", "2"))])
