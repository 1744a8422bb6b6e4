"""The host libvirt that runs VM machines.

nslab uses a libvirtd that already answers on qemu:///system. When none does,
it starts its own (virtlogd and libvirtd, no systemd needed) inside a network
namespace it creates, so the bridge, DHCP server and every VM address live
there and never in the host's namespace. VMs are then reached from the host
only through a 127.0.0.1 port (see vmport).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import MachineError
from ..paths import state_dir
from ..poll import poll_until
from .hostshare import HOST_SERVICES, host_lock
from .pidfiles import alive, read_pid, terminate

URI = "qemu:///system"
NETNS = "nslab-virt"
SOCKET = Path("/run/libvirt/libvirt-sock")
TOOLS = ("virsh", "libvirtd", "virtlogd", "qemu-system-x86_64", "qemu-img", "mkfs.ext4", "ip")


@dataclass(frozen=True)
class VirtHost:
    #: The namespace VMs' networks live in, or None with a libvirtd nslab did not start.
    netns: str | None
    #: libvirt domain type: "kvm" where KVM really runs guests here, else "qemu" (TCG).
    driver: str
    pool: str


def virt_dir() -> Path:
    return state_dir() / "libvirt"


def pool_name() -> str:
    """The storage pool of this checkout's state folder (two checkouts never share disks)."""
    return "nslab-" + hashlib.sha256(str(virt_dir()).encode()).hexdigest()[:8]


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if not shutil.which(tool)]


def virsh(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """virsh on nslab's libvirt URI; with check, a failure is a MachineError saying why."""
    result = subprocess.run(["virsh", "-q", "-c", URI, *args], capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise MachineError(f"virsh {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


def answers() -> bool:
    if not SOCKET.exists():
        return False
    try:
        return virsh("version", timeout=60, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def ensure_libvirt(log=print) -> VirtHost:
    """A libvirt that answers, a storage pool of the project's and the accelerator to use."""
    ensure_libvirtd(log)
    ensure_pool()
    return VirtHost(netns=libvirtd_netns(), driver=accelerator(log), pool=pool_name())


def ensure_libvirtd(log=print) -> None:
    """A libvirtd that answers, and no more: enough to read or destroy machines."""
    missing = missing_tools()
    if missing:
        raise MachineError(f"VM machines need libvirt and qemu ({', '.join(missing)} not found): "
                           f"run ./setup.sh, which installs them")
    fix_kvm_permissions()
    if answers():
        return
    # Cells of a matrix (threads), runs at once and other clones (processes) may all find none answering.
    with host_lock("libvirt-start", "libvirt: another nslab is starting libvirtd", log):
        if not answers():
            start_own_libvirt(log)


def libvirtd_netns() -> str | None:
    """NETNS when the running libvirtd is nslab's, inside the project's namespace; else None.
    Read from the process itself, so any checkout of nslab finds it."""
    pid = read_pid("/run/libvirtd.pid")
    if not alive(pid):
        return None
    try:
        daemon = os.stat(f"/proc/{pid}/ns/net")
        ours = os.stat(f"/run/netns/{NETNS}")
    except OSError:
        return None
    return NETNS if (daemon.st_dev, daemon.st_ino) == (ours.st_dev, ours.st_ino) else None


def fix_kvm_permissions() -> None:
    """With /dev/kvm at 0600 libvirt probes qemu again on every call (48 s per `virsh define`
    here); udev's usual rule makes it group kvm, 0660."""
    kvm = Path("/dev/kvm")
    if not kvm.exists():
        return
    mode = stat.S_IMODE(kvm.stat().st_mode)
    if mode & 0o060 != 0o060:
        subprocess.run(["chgrp", "kvm", str(kvm)], check=False)
        os.chmod(kvm, mode | 0o060)


def start_own_libvirt(log=print, timeout: float = 90) -> None:
    log(f"libvirt: none answers on {URI}; starting nslab's own virtlogd and libvirtd "
        f"in network namespace {NETNS}")
    if not Path(f"/run/netns/{NETNS}").exists():
        _run(["ip", "netns", "add", NETNS])
    _run(["ip", "-n", NETNS, "link", "set", "lo", "up"])
    if not alive(read_pid("/run/virtlogd.pid")):
        _run(["ip", "netns", "exec", NETNS, "virtlogd", "--daemon"])
    _run(["ip", "netns", "exec", NETNS, "libvirtd", "--daemon"])
    started = time.monotonic()
    if poll_until(answers, timeout, pause=0.2):
        log(f"libvirt: ready after {time.monotonic() - started:.1f}s")
        return
    raise MachineError(f"libvirtd did not answer on {URI} within {timeout:.0f}s")


def stop_own_libvirt() -> bool:
    """Stops the libvirtd and virtlogd nslab started, once no domain exists, and removes the
    project's pool with the box base images it cached. True when it did."""
    if libvirtd_netns() != NETNS:
        return False
    with HOST_SERVICES.alone_if_free() as free:
        if not free:            # another clone is working with it
            return False
        if answers():
            if virsh("list", "--all", "--name", check=False).stdout.strip():
                return False    # a domain of this clone or another one still exists
            delete_volumes("")
            virsh("pool-destroy", pool_name(), check=False)
            virsh("pool-undefine", pool_name(), check=False)
        for pidfile in ("/run/libvirtd.pid", "/run/virtlogd.pid"):
            pid = read_pid(pidfile)
            if alive(pid):
                terminate(pid, timeout=10)
        subprocess.run(["ip", "netns", "delete", NETNS], capture_output=True)
        return True


def ensure_pool() -> None:
    """A directory pool under the state folder; qemu (user libvirt-qemu) must reach into it."""
    path = virt_dir() / "pool"
    path.mkdir(parents=True, exist_ok=True)
    for folder in (path, *path.parents):
        if folder == Path("/"):
            break
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o001 == 0:
            raise MachineError(f"{folder} is not searchable by other users (mode {mode:o}); "
                               f"qemu runs as libvirt-qemu and needs to reach {path}")
    pool = pool_name()
    if virsh("pool-info", pool, check=False).returncode != 0:
        virsh("pool-define-as", pool, "dir", "--target", str(path))
    if "running" not in virsh("pool-info", pool).stdout:
        virsh("pool-start", pool)


def remove_idle_network(name: str) -> bool:
    """Removes an nslab network no VM is attached to. vagrant-libvirt removes a network with the
    machine that created it, so one another VM still used at that time would stay behind."""
    if libvirtd_netns() != NETNS:
        return False
    info = virsh("net-dumpxml", name, check=False)
    if info.returncode != 0 or "connections=" in info.stdout:
        return False
    virsh("net-destroy", name, check=False)
    virsh("net-undefine", name, check=False)
    return True


def delete_volumes(prefix: str) -> list[str]:
    """Deletes the pool's volumes whose names start with prefix (a rebuilt box's stale base image)."""
    pool = pool_name()
    if not answers() or virsh("pool-info", pool, check=False).returncode != 0:
        return []
    virsh("pool-refresh", pool, check=False)
    names = [line.split()[0] for line in virsh("vol-list", pool).stdout.splitlines() if line.strip()]
    gone = [name for name in names if name.startswith(prefix)]
    for name in gone:
        virsh("vol-delete", "--pool", pool, name)
    return gone


# A boot sector that writes "OK" to the first serial port and halts.
_PROBE_SECTOR = bytes([0xBA, 0xF8, 0x03, 0xB0, 0x4F, 0xEE, 0xB0, 0x4B, 0xEE, 0xFA, 0xF4, 0xEB, 0xFE])


def known_accelerator() -> str:
    """The accelerator the last probe of this boot chose; qemu (TCG) before any probe."""
    try:
        return json.loads((virt_dir() / "accelerator.json").read_text())["driver"]
    except (OSError, ValueError, KeyError):
        return "qemu"


def accelerator(log=print, budget: float = 2.0) -> str:
    """"kvm" when a KVM guest gets from the BIOS to its boot sector at least about as fast as
    TCG does, else "qemu" (TCG). /dev/kvm can exist and open while guests crawl: here the probe
    takes 1.5–2.1 s under KVM against 0.1 s under TCG, and a whole VM under that KVM never reaches
    DHCP; the result is kept for the life of this kernel."""
    cache = virt_dir() / "accelerator.json"
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    try:
        cached = json.loads(cache.read_text())
        if cached.get("boot_id") == boot_id:
            return cached["driver"]
    except (OSError, ValueError, KeyError):
        pass
    kvm = _probe_boot("kvm", budget) if Path("/dev/kvm").exists() else None
    tcg = _probe_boot("tcg", budget)
    driver = "kvm" if kvm is not None and kvm <= max(0.3, 2 * (tcg or budget)) else "qemu"
    log(f"libvirt: KVM {'runs guests' if driver == 'kvm' else 'does not run guests promptly here'} "
        f"(probe: KVM {kvm if kvm is not None else '-'} s, TCG {tcg if tcg is not None else '-'} s); "
        f"VMs use {'KVM' if driver == 'kvm' else 'qemu TCG (software emulation)'}")
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"boot_id": boot_id, "driver": driver, "kvm_probe_seconds": kvm,
                                 "tcg_probe_seconds": tcg}))
    return driver


def _probe_boot(accel: str, budget: float) -> float | None:
    work = virt_dir() / "probe"
    work.mkdir(parents=True, exist_ok=True)
    sector = work / "boot.img"
    sector.write_bytes(_PROBE_SECTOR + bytes(510 - len(_PROBE_SECTOR)) + b"\x55\xaa")
    serial = work / f"serial-{accel}.txt"
    serial.unlink(missing_ok=True)
    started = time.monotonic()
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-accel", accel, "-M", "pc", "-m", "16", "-display", "none",
         "-nodefaults", "-monitor", "none", "-serial", f"file:{serial}",
         "-drive", f"file={sector},format=raw,if=floppy", "-boot", "a"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - started < budget and qemu.poll() is None:
            if serial.exists() and b"OK" in serial.read_bytes():
                return round(time.monotonic() - started, 2)
            time.sleep(0.05)
        return None
    finally:
        qemu.kill()
        qemu.wait()


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise MachineError(f"{' '.join(command)} failed: {result.stderr.strip()}")
