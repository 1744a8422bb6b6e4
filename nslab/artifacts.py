"""The run directory: artifacts/<run-id>/<machine>/<mode>/<NN-step>.*, plus manifest.json.

Every file is written atomically (temporary file, then rename), so a run cut
short leaves complete files only, and the manifest always says how far it got.
"""
from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

MANIFEST = "manifest.json"


def write_atomic(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, value) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def new_run_id(scenario: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{scenario}-{secrets.token_hex(3)}"


class RunDir:
    """One run's artifacts and its manifest."""

    def __init__(self, root: Path, run_id: str):
        self.run_id = run_id
        self.path = root / run_id
        self.path.mkdir(parents=True, exist_ok=False)
        self.manifest: dict = {}

    @classmethod
    def create(cls, root: Path, scenario: str, **fields) -> "RunDir":
        run = cls(root, new_run_id(scenario))
        run.manifest = {
            "run_id": run.run_id,
            "scenario": scenario,
            "status": "running",
            "started": _now(),
            "finished": None,
            "machines": {},
            **fields,
        }
        run.save_manifest()
        _point_latest(root, run.run_id)
        return run

    def save_manifest(self) -> None:
        write_json(self.path / MANIFEST, self.manifest)

    def machine(self, name: str) -> dict:
        return self.manifest["machines"].setdefault(name, {"modes": [], "steps": []})

    def step_dir(self, machine: str, mode: str) -> Path:
        return self.path / machine / mode

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.path / relative
        write_atomic(path, content)
        return path

    def finish(self, status: str) -> None:
        self.manifest["status"] = status
        self.manifest["finished"] = _now()
        self.save_manifest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _point_latest(root: Path, run_id: str) -> None:
    link = root / "latest"
    temporary = root / f".latest-{os.getpid()}-{time.monotonic_ns()}"
    temporary.symlink_to(run_id)
    os.replace(temporary, link)


def load_manifest(run_path: Path) -> dict:
    return json.loads((run_path / MANIFEST).read_text())
