"""Where nslab keeps its files. A clone's own state lives under the clone unless overridden; what
every clone on the host shares on purpose (the host daemon, built boxes, host locks) lives in the
host folder."""
import hashlib
import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The `invoke` of the Python running nslab (the virtualenv's): commands run as a user types them.
INVOKE = str(Path(sys.executable).parent / "invoke")


def state_dir() -> Path:
    """This clone's Vagrant state, logs and instances: never committed, safe to delete."""
    return Path(os.environ.get("NSLAB_STATE", PROJECT_ROOT / ".nslab")).resolve()


def host_dir() -> Path:
    """What the clones on this host share: nslab's host Docker daemon (and so the built container
    boxes), the built VM boxes, and the locks clones wait on."""
    return Path(os.environ.get("NSLAB_HOST_DIR", "/var/lib/nslab")).resolve()


def clone_id() -> str:
    """Six hex digits naming this clone (its state folder) in names every clone on the host sees:
    containers, libvirt domains, relays."""
    return hashlib.sha256(str(state_dir()).encode()).hexdigest()[:6]


def vagrant_home() -> Path:
    """The clone's VAGRANT_HOME: the boxes it added, Vagrant's own state."""
    return state_dir() / "vagrant.d"


def artifacts_dir() -> Path:
    return Path(os.environ.get("NSLAB_ARTIFACTS", PROJECT_ROOT / "artifacts")).resolve()


def scenarios_dir() -> Path:
    return PROJECT_ROOT / "scenarios"


def provision_dir() -> Path:
    return PROJECT_ROOT / "provision"
