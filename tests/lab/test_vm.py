"""The labs on a real VM: the offline vagrant-libvirt box, booted by qemu under nslab's libvirtd,
reached only through 127.0.0.1, judged like every other machine, then destroyed without trace."""
import json
import os
import re
import socket
import subprocess

import pytest

from nslab.machines import hostvirt
from nslab.machines.base import Instance, instances
from nslab.machines.boxes import recipe_hash, stored_vm_box
from nslab.machines.connection import Remote
from nslab.machines.hostvirt import missing_tools, pool_name
from nslab.machines.inventory import load_lab
from nslab.machines.vagrant import VagrantMachine
from nslab.machines.vmport import PortRelay
from nslab.paths import state_dir

from .conftest import ON_VM, VM, VM_INSTANCE, invoke, judge_offline, missing_from_setup, recorded_steps

pytestmark = [pytest.mark.lab, pytest.mark.vm]

MISSING = missing_tools()
if MISSING:
    missing_from_setup(f"VM machines need libvirt and qemu: {', '.join(MISSING)} not found")

INSTANCE = Instance(VM_INSTANCE)
DOMAIN = f"{INSTANCE.prefix}-{VM}"


def virsh(*args):
    return hostvirt.virsh(*args).stdout


def vm_machine(docker_url):
    return VagrantMachine(load_lab().box(VM), docker_url, instance=INSTANCE)


@pytest.fixture(scope="module")
def vm_artifacts(vm_lane):
    return vm_lane.folder


@pytest.fixture(scope="module")
def vm_box(vm_lane):
    process = vm_lane.result("box")
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    return process


@pytest.fixture(scope="module")
def vm_userns_run(vm_box, vm_lane, docker_url):
    yield vm_lane.result("userns")
    # Whatever the tests did, no VM is left behind.
    if vm_machine(docker_url).status() != "not_created":
        invoke("down", "--box", VM, timeout=600)


@pytest.fixture(scope="module")
def vm_workshop_run(vm_userns_run, vm_lane):
    return vm_lane.result("workshop")


@pytest.fixture(scope="module")
def vm_isolation_run(vm_workshop_run, vm_lane):
    return vm_lane.result("isolation")


@pytest.fixture(scope="module")
def vm_endpoint(vm_userns_run, docker_url):
    return vm_machine(docker_url).ssh_endpoint()


@pytest.fixture
def vm_remote(vm_endpoint):
    remote = Remote(vm_endpoint).open()
    yield remote
    remote.close()


def test_vm_box_is_built_offline_with_kernel_and_initrd_and_then_cached(vm_box):
    box = load_lab().box(VM)
    stored = stored_vm_box(box)
    metadata = json.loads((stored / "metadata.json").read_text())
    assert metadata["provider"] == "libvirt" and metadata["format"] == "qcow2"
    assert metadata["nslab_recipe"] == recipe_hash(box)
    assert (stored / "vmlinuz").stat().st_size > 1_000_000 and (stored / "initrd.img").stat().st_size > 1_000_000
    image = subprocess.run(["qemu-img", "info", "--output=json", str(stored / "box.img")],
                           capture_output=True, text=True, check=True)
    assert json.loads(image.stdout)["format"] == "qcow2"
    again = invoke("box.build", *ON_VM)
    assert again.returncode == 0 and f"box {VM}: cached (nslab/{VM}, recipe {recipe_hash(box)})" in again.stdout


def test_userns_lab_passes_on_the_vm_with_every_verdict_judged(vm_userns_run):
    process, run_path, manifest = vm_userns_run
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert "20 steps: 20 pass" in process.stdout
    machine = manifest["machines"][VM]
    assert machine["provider"] == "libvirt" and machine["domain"] == DOMAIN
    assert [m["mode"] for m in machine["modes"]] == ["root", "userns", "bozo"]
    assert len(machine["steps"]) == 20 and {s["status"] for s in machine["steps"]} == {"pass"}
    for step in machine["steps"]:
        record = json.loads((run_path / VM / step["mode"] / f"{step['number']:02d}-{step['id']}.json").read_text())
        assert record["verdicts"] and all(v["status"] == "pass" for v in record["verdicts"])
    # The remapped registry's host uid is read from the VM's own /etc/subuid artifact.
    assert "dockremap:" in (run_path / VM / "userns" / "subuid").read_text()


def test_the_vm_runs_a_kernel_of_its_own_under_qemu(vm_userns_run, vm_remote):
    _, _, manifest = vm_userns_run
    assert vm_remote.check("systemd-detect-virt").strip() in ("qemu", "kvm")
    kernel = vm_remote.check("uname -r").strip()
    assert manifest["machines"][VM]["kernel"] == kernel != os.uname().release
    assert vm_remote.check("cat /etc/nslab-box").split()[-1] == "vm"


def test_the_vm_is_reached_through_127_0_0_1_and_its_address_lives_in_nslabs_namespace(vm_userns_run, vm_remote):
    _, _, manifest = vm_userns_run
    ssh = manifest["machines"][VM]["ssh"]
    relay = PortRelay(INSTANCE.prefix, VM)
    assert ssh["host"] == "127.0.0.1" and ssh["port"] == relay.port() and relay.running()
    with socket.create_connection(("127.0.0.1", ssh["port"]), timeout=10) as conn:
        assert conn.recv(64).startswith(b"SSH-2.0-")
    address = vm_remote.check("ip -4 -o addr show eth0").split()[3].split("/")[0]
    host_addresses = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    assert address not in host_addresses                       # not in the host's namespace ...
    inside = subprocess.run(["ip", "netns", "exec", "nslab-virt", "ip", "-o", "addr"], capture_output=True,
                            text=True, check=True).stdout
    assert address.rsplit(".", 1)[0] + "." in inside           # ... but on the bridge in nslab's


def test_every_mode_switch_on_the_vm_restarted_docker_through_systemd(vm_userns_run, vm_remote):
    _, _, manifest = vm_userns_run
    starts = vm_remote.check("journalctl -b -u docker.service -o cat | grep -c '^Started docker.service'",
                             sudo=True)
    assert int(starts) >= 1 + len(manifest["machines"][VM]["modes"])    # boot, then one per mode
    assert all(m["seconds"] > 0 for m in manifest["machines"][VM]["modes"])


def test_workshop_on_the_vm_runs_privileged_where_container_machines_cannot(vm_workshop_run):
    process, _, manifest = vm_workshop_run
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert "14 steps: 14 pass" in process.stdout
    statuses = {s["id"]: s["status"] for s in manifest["machines"][VM]["steps"]}
    assert statuses["privileged-as-root"] == "pass"
    assert statuses["privileged-in-userns"] == "pass"          # and userns still refuses it


def test_isolation_on_the_vm_answers_every_question_in_five_modes_for_real(vm_isolation_run):
    process, _, manifest = vm_isolation_run
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    # Nothing environment-limited on the VM: --privileged runs as root, both rootless engines answer.
    assert "41 steps: 41 pass" in process.stdout
    statuses = {s["id"]: s["status"] for s in manifest["machines"][VM]["steps"]}
    assert statuses["privileged-refused-root"] == statuses["nested-userns-rootless-podman"] == "pass"
    modes = {m["mode"]: m["engine"] for m in manifest["machines"][VM]["modes"] if m["status"] == "applied"}
    assert modes == {"root": "dockerd", "as-user": "dockerd", "userns": "dockerd",
                     "rootless-docker": "rootless-docker", "rootless-podman": "rootless-podman"}


def test_compare_shows_isolation_on_the_container_machine_and_the_vm_as_two_question_tables(
        vm_isolation_run, isolation_run, tmp_path):
    process = invoke("compare", "--runs", f"{isolation_run[1]},{vm_isolation_run[1]}", "--out", str(tmp_path))
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    machines = {c["key"]: c["machine"] for c in report["columns"]}
    tables = {machines[t["column"]]: {q["id"]: q["answers"] for q in t["questions"]} for t in report["questions"]}
    assert sorted(tables) == ["debian12", VM]
    privileged = {machine: answers["privileged-refused"] for machine, answers in tables.items()}
    assert privileged[VM]["root"]["answer"] == "✓ yes"
    assert privileged["debian12"]["root"]["status"] == "environment-limited"
    # Everything else is answered alike in both: the rootless claims hold in a container machine too.
    asked = {machine: {(q, mode) for q, modes in answers.items() for mode in modes}
             for machine, answers in tables.items()}
    assert asked["debian12"] == asked[VM] and len(asked[VM]) == 40
    limited = {("privileged-refused", "root"), ("privileged-refused", "as-user")}
    for question, mode in asked[VM] - limited:
        on_vm, in_container = tables[VM][question][mode], tables["debian12"][question][mode]
        assert on_vm["status"] == in_container["status"] == "pass", (question, mode)
        if question != "container-root-on-host":        # ids differ with each machine's users and ranges
            assert on_vm["answer"].split(":")[0] == in_container["answer"].split(":")[0], (question, mode)


@pytest.mark.parametrize("lab", ["vm_userns_run", "vm_workshop_run", "vm_isolation_run"])
def test_judge_rederives_the_vms_verdicts_offline(lab, request):
    _, run_path, _ = request.getfixturevalue(lab)
    result, process = judge_offline(str(run_path), "--write", "--mutate")
    assert result == {"code": 0, "loaded": []}, process.stdout[-3000:] + process.stderr[-2000:]
    # Every check that passed on the VM shown able to fail, too.
    tried, shown = map(int, re.search(r": (\d+) checks tried, (\d+) shown able to fail", process.stdout).groups())
    assert tried == shown >= 20
    judged = json.loads((run_path / "judgement.json").read_text())
    live = recorded_steps(run_path)
    assert len(judged["steps"]) == len(live) >= 14
    for step in judged["steps"]:
        assert (step["status"], step["verdicts"]) == live[(step["machine"], step["id"])], step["id"]


def test_compare_shows_the_vm_and_the_container_machine_side_by_side(vm_workshop_run, workshop_run, tmp_path):
    runs = f"{workshop_run[1]},{vm_workshop_run[1]}"
    process = invoke("compare", "--runs", runs, "--out", str(tmp_path))
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    columns = {c["machine"]: c for c in report["columns"]}
    assert columns["debian12"]["provider"] == "docker" and columns[VM]["provider"] == "libvirt"
    differing = {r["step"]: {columns_key: cell["status"] for columns_key, cell in r["cells"].items()}
                 for r in report["rows"] if r["machines_differ"]}
    # The one difference between a container machine and a VM of the same distro:
    assert list(differing) == ["privileged-as-root"]
    assert sorted(differing["privileged-as-root"].values()) == ["environment-limited", "pass"]


def test_status_lists_the_vm_with_its_loopback_ssh(vm_userns_run):
    process = invoke("status")
    assert process.returncode == 0, process.stderr
    # The VM's row of its instance (the default instance lists the box too, not created).
    line = next(row for row in process.stdout.splitlines() if VM in row and f" {VM_INSTANCE} " in row)
    assert "running" in line and f"127.0.0.1:{PortRelay(INSTANCE.prefix, VM).port()}" in line


def test_destroy_leaves_no_domain_volume_network_or_relay(vm_userns_run, docker_url):
    relay = PortRelay(INSTANCE.prefix, VM)
    port = relay.port()
    process = invoke("down", "--box", VM, timeout=600)
    assert process.returncode == 0, process.stdout + process.stderr
    assert vm_machine(docker_url).status() == "not_created"
    assert DOMAIN not in virsh("list", "--all", "--name").split()
    assert load_lab().providers["libvirt"].network not in virsh("net-list", "--all", "--name").split()
    volumes = [line.split()[0] for line in virsh("vol-list", pool_name()).splitlines() if line.strip()]
    # Only the box's base image stays, as Vagrant keeps a box: no volume of the machine.
    assert all(v.startswith(f"nslab-VAGRANTSLASH-{VM}_vagrant_box_image_") for v in volumes), volumes
    assert not relay.running() and relay.port() is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_matrix_runs_a_container_cell_and_a_vm_cell_at_once_and_leaves_neither(vm_box, vm_artifacts):
    # A short lab: the cells are what this proves; the VM's workshop is proven above, once.
    process = invoke("matrix", "--boxes", f"debian12,{VM}", "--scenarios", "tests/scenarios/short.yaml",
                     "--jobs", "2",
                     timeout=2400, env={"NSLAB_ARTIFACTS": str(vm_artifacts)})
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    folder = max((vm_artifacts / "matrix").iterdir())
    summary = json.loads((folder / "matrix.json").read_text())
    assert {(c["box"], c["state"]) for c in summary["cells"]} == {("debian12", "passed"), (VM, "passed")}
    report = json.loads((folder / "report.json").read_text())
    assert {c["machine"]: c["provider"] for c in report["columns"]} == {"debian12": "docker", VM: "libvirt"}
    # Each cell had an instance of its own: its own domain name, relay and Vagrant state, all gone.
    suffix = summary["matrix_id"][-6:]
    assert not [d for d in virsh("list", "--all", "--name").split() if suffix in d]
    assert not [i for i in instances() if suffix in i.name]
    assert not [f for f in (state_dir() / "vm-ports").glob(f"*{suffix}*/*") if f.suffix != ".log"]
    relays = subprocess.run(["pgrep", "-af", "nslab.machines.vmport"], capture_output=True, text=True).stdout
    assert suffix not in relays
