"""Provider `ssh`: a host nslab did not build (a user's server, a CI runner), reached over SSH as it
is. No Vagrant: the run connects, checks the host key and passwordless sudo, and leaves the host as
it found it (restored and verified; see nslab/run/restore.py)."""
from __future__ import annotations

import os

from .base import Provider


class SshProvider(Provider):
    name = "ssh"
    machine_kind = "host"
    existing_host = True

    def check_box(self, box) -> str | None:
        missing = [field for field in ("host", "user", "identity_file") if not getattr(box, field)]
        if missing:
            return f"an ssh box is an existing host: it needs {', '.join(missing)}"
        if box.docker == "install":
            return "docker: install is for machines nslab brings up; an existing host must have its Docker"
        return None

    def unavailable_reason(self, box) -> str | None:
        if not os.path.isfile(os.path.expanduser(box.identity_file)):
            return f"its identity file {box.identity_file} does not exist"
        return None

    def build(self, box, docker_url, force, log) -> dict:
        return {"box": box.name, "built": False, "recipe": "existing host", "seconds": 0.0}

    def machine(self, box, docker_url, log_dir, instance):
        from ..existing import ExistingHost
        return ExistingHost(box)


PROVIDER = SshProvider()
