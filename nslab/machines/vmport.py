"""A VM's sshd on a 127.0.0.1 port.

nslab's libvirtd keeps VMs and their network inside the project's network
namespace; nothing of it is reachable from the host's namespace. This relay
listens on 127.0.0.1 in the host's namespace, then moves itself into the
project's namespace, where it connects each client to the VM's port 22 (the
address is read from libvirt's DHCP lease at every connection, so it follows
a VM that restarted). One small process per VM, started before `vagrant up`
and stopped after `vagrant destroy`.

    python -m nslab.machines.vmport --port 40123 --domain nslab-debian12-vm [--netns nslab-virt]
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import MachineError
from ..paths import state_dir
from ..poll import poll_until
from .hostvirt import virsh

CLONE_NEWNET = 0x40000000


def enter_netns(name: str) -> None:
    """Moves this process (one thread so far) into a named network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")
    finally:
        os.close(fd)


def domain_address(domain: str) -> str | None:
    """The VM's IPv4 address from libvirt's DHCP leases, or None before it has one."""
    for line in virsh("domifaddr", domain, "--source", "lease", timeout=30, check=False).stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "ipv4":
            return fields[3].split("/")[0]
    return None


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def _relay(client: socket.socket, domain: str, log) -> None:
    with client:
        address = domain_address(domain)
        if address is None:
            log(f"{domain}: no address yet")
            return              # not booted yet: the client sees a closed connection and retries
        try:
            upstream = socket.create_connection((address, 22), timeout=10)
        except OSError as exc:
            log(f"{domain}: {address}:22 not reachable yet ({exc.strerror or exc})")
            return
        log(f"{domain}: connected to {address}:22")
        with upstream:
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()


def serve(port: int, domain: str, netns: str | None) -> None:
    listener = socket.create_server(("127.0.0.1", port))
    if netns:
        enter_netns(netns)      # the listener stays on the host's loopback

    last = [""]

    def log(text: str) -> None:
        # While a VM boots, Vagrant knocks many times a second: say each state once.
        if text != last[0]:
            last[0] = text
            print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)

    log(f"relaying 127.0.0.1:{port} to {domain}:22" + (f" in namespace {netns}" if netns else ""))
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_relay, args=(client, domain, log), daemon=True).start()


@dataclass(frozen=True)
class PortRelay:
    """The relay of one machine of one instance: its port, pid and log files."""
    prefix: str
    machine: str

    @property
    def folder(self) -> Path:
        return ports_dir(self.prefix)

    @property
    def domain(self) -> str:
        return f"{self.prefix}-{self.machine}"

    @property
    def port_file(self) -> Path:
        return self.folder / self.machine      # read by the Vagrantfile

    @property
    def pid_file(self) -> Path:
        return self.folder / f"{self.machine}.pid"

    def port(self) -> int | None:
        try:
            return int(self.port_file.read_text())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        try:
            pid = int(self.pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return False
        return b"nslab.machines.vmport" in cmdline and self.domain.encode() in cmdline

    def ensure(self, port: int, netns: str | None, timeout: float = 10) -> int:
        """Starts the relay unless it runs; returns its port."""
        if self.running() and (running_port := self.port()):
            return running_port
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port_file.write_text(str(port))
        command = [sys.executable, "-m", "nslab.machines.vmport", "--port", str(port), "--domain", self.domain]
        if netns:
            command += ["--netns", netns]
        with open(self.folder / f"{self.machine}.log", "a") as log:
            process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                       start_new_session=True, cwd=Path(__file__).resolve().parent.parent)
        self.pid_file.write_text(str(process.pid))
        def listening() -> bool:
            if process.poll() is not None:
                raise MachineError(f"the SSH relay for {self.domain} stopped at once "
                                   f"(log: {self.folder / f'{self.machine}.log'})")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        if poll_until(listening, timeout, max_pause=0.05):
            return port
        raise MachineError(f"the SSH relay for {self.domain} did not listen on 127.0.0.1:{port}")

    def stop(self) -> None:
        if self.running():
            os.kill(int(self.pid_file.read_text()), signal.SIGTERM)
        for path in (self.pid_file, self.port_file):
            path.unlink(missing_ok=True)


def ports_dir(prefix: str) -> Path:
    return state_dir() / "vm-ports" / prefix


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nslab.machines.vmport", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 to listen on")
    parser.add_argument("--domain", required=True, help="libvirt domain whose port 22 is relayed")
    parser.add_argument("--netns", help="network namespace the VM's network lives in")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(args.port, args.domain, args.netns)


if __name__ == "__main__":
    main()
