"""What a scenario brings to a machine: its `files:` folders and its images' recipe folders.

Each folder travels as a tar archive, in pieces small enough for one command
line each, to a folder of its own under /tmp/nslab-files/<scenario>/, replaced
whole on each run. The run directory keeps a copy beside its scenario copy, so
`invoke judge` loads the scenario as it ran.
"""
from __future__ import annotations

import base64
import io
import shlex
import tarfile
from pathlib import Path

from ..config.scenario import Scenario, material_folder
from ..machines.connection import Remote

MACHINE_ROOT = "/tmp/nslab-files"


def machine_folder(scenario: Scenario, name: str) -> str:
    return f"{MACHINE_ROOT}/{scenario.name}/{name}"


def file_paths(scenario: Scenario) -> dict[str, str]:
    """{files.NAME} on the machine."""
    return {name: machine_folder(scenario, name) for name in scenario.files}


def archive(folder: Path) -> bytes:
    """The folder's files as a tar archive, the same bytes for the same files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(folder)))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if path.is_file() and not path.is_symlink():
                with open(path, "rb") as content:
                    tar.addfile(info, content)
            else:
                tar.addfile(info)
    return buffer.getvalue()


# Well under the kernel's limit on one argument (128 KiB): the command is one argument of `sh -c`.
PIECE = 64 * 1024


def copy_folder(remote: Remote, folder: Path, target: str) -> None:
    encoded = base64.b64encode(archive(folder)).decode()
    quoted, staged = shlex.quote(target), shlex.quote(f"{target}.b64")
    remote.check(f"rm -rf {quoted} {staged} && mkdir -p {quoted}")
    for start in range(0, len(encoded), PIECE):
        remote.check(f"printf %s {encoded[start:start + PIECE]} >> {staged}")
    remote.check(f"base64 -d {staged} | tar -x -C {quoted} && rm -f {staged}", timeout=60)


def material_files(scenario: Scenario) -> dict[str, bytes]:
    """Every file the scenario brings, by its path relative to the scenario's folder."""
    folders = list(scenario.files.values()) + [i.build for i in scenario.images.values() if i.build]
    found: dict[str, bytes] = {}
    for relative in folders:
        base = material_folder(scenario, relative)
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.is_symlink():
                found[str(Path(relative) / path.relative_to(base))] = path.read_bytes()
    return found


def copy_files(remote: Remote, scenario: Scenario) -> dict[str, str]:
    """Every `files:` folder onto the machine; returns where each is."""
    for name, relative in scenario.files.items():
        copy_folder(remote, material_folder(scenario, relative), machine_folder(scenario, name))
    return file_paths(scenario)
