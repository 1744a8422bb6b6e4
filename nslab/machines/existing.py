"""A host nslab did not build: it is up already, reached as it is, and never destroyed."""
from __future__ import annotations

import os
import socket
import time

from ..config.lab import Box
from ..errors import MachineError
from .base import Machine, SshEndpoint

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class ExistingHost(Machine):
    def __init__(self, box: Box, accept_new_host_key: bool = False):
        super().__init__(box)
        self.accept_new_host_key = accept_new_host_key

    @property
    def called(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return str(self.ssh_endpoint())

    def up(self, log=print) -> float:
        """Nothing to bring up: the host must answer on its SSH port."""
        started = time.monotonic()
        if self.status() != "running":
            raise MachineError(f"host {self.address} does not answer on port {self.box.port}")
        return time.monotonic() - started

    def status(self) -> str:
        try:
            with socket.create_connection((self.box.host, self.box.port), timeout=5):
                return "running"
        except OSError:
            return "unreachable"

    def ssh_endpoint(self) -> SshEndpoint:
        host, user, identity_file = self.box.host, self.box.user, self.box.identity_file
        # The ssh provider's check_box refuses a box without them.
        assert host is not None and user is not None and identity_file is not None
        return SshEndpoint(host=host, port=self.box.port, user=user,
                           key_file=os.path.expanduser(identity_file),
                           known_hosts=os.path.expanduser(self.box.known_hosts or DEFAULT_KNOWN_HOSTS),
                           accept_new_host_key=self.accept_new_host_key)

    def destroy(self, log=print) -> None:
        raise MachineError(f"host {self.address} is an existing host: nslab never destroys it")
