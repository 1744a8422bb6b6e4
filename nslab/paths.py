"""Where nslab keeps its files. Everything lives under the project unless overridden."""
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """Host daemon, box builds, Vagrant's home: never committed, safe to delete."""
    return Path(os.environ.get("NSLAB_STATE", PROJECT_ROOT / ".nslab")).resolve()


def vagrant_home() -> Path:
    """The project's VAGRANT_HOME: the boxes nslab built or added, Vagrant's own state."""
    return state_dir() / "vagrant.d"


def artifacts_dir() -> Path:
    return Path(os.environ.get("NSLAB_ARTIFACTS", PROJECT_ROOT / "artifacts")).resolve()


def scenarios_dir() -> Path:
    return PROJECT_ROOT / "scenarios"


def provision_dir() -> Path:
    return PROJECT_ROOT / "provision"
