"""The run directory, and the one place that knows its layout.

    <run>/manifest.json                      the run, its machines, modes and step statuses, and a
                                             sha256 of every other file in the run
    <run>/scenario.yaml                      the scenario as it ran (what `invoke judge` re-reads)
    <run>/<machine>/<mode>/mode.json         the mode's facts; docker-info.json, daemon-config,
                                             subuid, subgid; daemon.log when the mode was refused
    <run>/<machine>/<mode>/NN-<step>.cmd     the command, its .stdout and .stderr, and .json: exit
                                             status, duration, verdicts
    <run>/<machine>/<mode>/NN-<step>.facts/  the facts its expectations read (judge/evidence.py)

Writers (RunDir) write every file atomically and record its digest; readers
(RunView) read a run without a machine, check every digest, and hand each
step's evidence to the judge.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ArtifactsError, ConfigError
from .records import MachineRecord, Manifest, StepRecord

MANIFEST = "manifest.json"
SCENARIO_COPY = "scenario.yaml"
# Per machine: the provider's known limits the run judged with.
KNOWN_LIMITS = "known-limits.json"
STEP_RECORD = re.compile(r"^[^/]+/[^/]+/(\d{2,})-([a-z0-9][a-z0-9-]*)\.json$")
# 2: facts captured per step and digests in the manifest; runs without it predate evidence.
LAYOUT = 2


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


def to_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str) + "\n"


def write_json(path: Path, value) -> None:
    write_atomic(path, to_json(value))


def new_run_id(scenario: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{scenario}-{secrets.token_hex(3)}"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def step_stem(number: int, step_id: str) -> str:
    return f"{number:02d}-{step_id}"


@dataclass(frozen=True)
class StepFiles:
    """Where one step's files live, relative to the run."""
    machine: str
    mode: str
    number: int
    step_id: str

    @property
    def stem(self) -> str:
        return f"{self.machine}/{self.mode}/{step_stem(self.number, self.step_id)}"

    def file(self, suffix: str) -> str:
        """suffix: cmd, stdout, stderr, json, or facts (the folder)."""
        return f"{self.stem}.{suffix}"

    def fact(self, name: str) -> str:
        return f"{self.file('facts')}/{name}"

    @staticmethod
    def mode_file(machine: str, mode: str, name: str) -> str:
        return f"{machine}/{mode}/{name}"

    @staticmethod
    def machine_file(machine: str, name: str) -> str:
        return f"{machine}/{name}"


class RunDir:
    """A run being written: every file atomic and digested, the manifest rewritten as it goes."""

    def __init__(self, root: Path, run_id: str):
        self.run_id = run_id
        self.path = root / run_id
        # Evidence may come from someone's server: readable by its owner only.
        self.path.mkdir(mode=0o700, parents=True, exist_ok=False)
        self.manifest = Manifest(run_id, scenario="")
        self.digests: dict[str, str] = {}
        self._adopted: set[str] = set()

    @classmethod
    def create(cls, root: Path, scenario: str, scenario_text: str = "", instance: str | None = None,
               matrix: str | None = None, **fields: str) -> RunDir:
        run = cls(root, new_run_id(scenario))
        run.manifest = Manifest(run.run_id, scenario, layout=LAYOUT, started=_now(), instance=instance,
                                matrix=matrix, extra=dict(fields))
        if scenario_text:
            run.write(SCENARIO_COPY, scenario_text)
        run.save_manifest()
        _point_latest(root, run.run_id)
        return run

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.path / relative
        data = content.encode() if isinstance(content, str) else content
        _written(path, data)
        self.digests[relative] = digest(data)
        return path

    def write_json(self, relative: str, value) -> Path:
        return self.write(relative, to_json(value))

    def move_step(self, source: StepFiles, target: StepFiles) -> None:
        """A step's files under another name (an earlier attempt of `eventually`), digests with them."""
        for suffix in ("cmd", "stdout", "stderr", "facts"):
            old, new = source.file(suffix), target.file(suffix)
            if (self.path / old).exists():
                os.replace(self.path / old, self.path / new)
                for key in [k for k in self.digests if k == old or k.startswith(old + "/")]:
                    self.digests[new + key[len(old):]] = self.digests.pop(key)

    def adopt(self, folder: str) -> None:
        """Records the digests of files others wrote into the run (Vagrant's logs)."""
        base = self.path / folder
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            relative = str(path.relative_to(self.path))
            if path.is_file() and not path.is_symlink() and not path.name.startswith(".") \
                    and (relative not in self.digests or relative in self._adopted):
                self.digests[relative] = digest(path.read_bytes())
                self._adopted.add(relative)

    def machine(self, name: str) -> MachineRecord:
        return self.manifest.machine(name)

    def save_manifest(self) -> None:
        self.manifest.artifacts = dict(sorted(self.digests.items()))
        _written(self.path / MANIFEST, to_json(self.manifest.as_json()).encode())

    def finish(self, status: str) -> None:
        for name in self.manifest.machines:
            self.adopt(name)
        self.manifest.status = status
        self.manifest.finished = _now()
        self.save_manifest()


def _written(path: Path, data: bytes) -> None:
    """Atomic, or an ArtifactsError naming the file: what was written before stays as it was."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise ArtifactsError(f"cannot write {path}: {exc.strerror or exc}") from None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _point_latest(root: Path, run_id: str) -> None:
    link = root / "latest"
    temporary = root / f".latest-{os.getpid()}-{time.monotonic_ns()}"
    temporary.symlink_to(run_id)
    os.replace(temporary, link)


@dataclass
class Integrity:
    """What no longer matches the manifest's digests."""
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)
    #: Step records the run wrote that the manifest's list of steps no longer names.
    unlisted: list[str] = field(default_factory=list)
    #: Files of the run that are links (or lie under links) leaving it, with where they lead.
    outside: list[tuple[str, str]] = field(default_factory=list)
    #: Nothing to check against: a run written before digests were recorded.
    unverifiable: bool = False

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.unrecorded or self.unlisted or self.outside)

    def problems(self) -> list[str]:
        return ([f"{p}: content changed since the run wrote it" for p in self.changed]
                + [f"{p}: missing" for p in self.missing]
                + [f"{p}: not in the manifest (added since, or written after its last save)" for p in self.unrecorded]
                + [f"{p}: a step the run recorded, missing from the manifest's steps" for p in self.unlisted]
                + [f"{p}: a link leaving the run (to {target}), not followed" for p, target in self.outside])


@dataclass(frozen=True)
class StepRef:
    """A step as the manifest lists it."""
    machine: str
    number: int
    step_id: str
    mode: str
    status: str
    seconds: float
    detail: str
    question: str = ""

    @property
    def files(self) -> StepFiles:
        return StepFiles(self.machine, self.mode, self.number, self.step_id)


class RunView:
    """A finished (or cut-short) run, read without a machine."""

    def __init__(self, path: Path):
        self.path = path
        self._resolved_root: Path | None = None
        self._dirs: dict[str, bool] = {}
        #: Files whose digest `verify` found unchanged, as it read them.
        self._content: dict[str, bytes] = {}
        manifest_path = path / MANIFEST
        if manifest_path.is_symlink():
            raise ConfigError(f"{manifest_path}: is a symbolic link, not a run's manifest")
        try:
            text = manifest_path.read_bytes().decode()
        except FileNotFoundError:
            raise ConfigError(f"{path}: not a run (no {MANIFEST})") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{manifest_path}: not valid JSON ({exc})") from None
        self.manifest = Manifest.parse(text, str(manifest_path))

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    @property
    def scenario_name(self) -> str:
        return self.manifest.scenario

    @property
    def layout(self) -> int:
        return self.manifest.layout

    @property
    def machines(self) -> dict[str, MachineRecord]:
        return self.manifest.machines

    def steps(self, machine: str) -> list[StepRef]:
        return [StepRef(machine, step.number or position, step.id, step.mode, step.status, float(step.seconds),
                        step.detail, step.question or "")
                for position, step in enumerate(self.machines[machine].steps, start=1)]

    def all_steps(self) -> list[StepRef]:
        return [ref for machine in self.machines for ref in self.steps(machine)]

    def read_bytes(self, relative: str) -> bytes | None:
        """A file of the run as it is now (None when absent); never through a link out of the run."""
        if relative in self._content:
            return self._content[relative]
        path = self._inside(relative)
        return path.read_bytes() if path.is_file() else None

    def read_text(self, relative: str) -> str | None:
        data = self.read_bytes(relative)
        return data.decode(errors="replace") if data is not None else None

    def step_record(self, ref: StepRef) -> StepRecord | None:
        """The step's .json (command, exit status, verdicts); None for a step that never ran."""
        text = self.read_text(ref.files.file("json"))
        return None if text is None else StepRecord.parse(text, str(self.path / ref.files.file("json")))

    def mode_facts(self, machine: str, mode: str) -> dict:
        relative = StepFiles.mode_file(machine, mode, "mode.json")
        text = self.read_text(relative)
        try:
            facts = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{self.path / relative}: not valid JSON ({exc})") from None
        if not isinstance(facts, dict):
            raise ConfigError(f"{self.path / relative}: not a mode's facts")
        return facts

    def facts_folder(self, ref: StepRef) -> Path:
        """The step's facts folder, never through a link out of the run."""
        return self._inside(ref.files.file("facts"))

    def scenario_text(self) -> str | None:
        return self.read_text(SCENARIO_COPY)

    def known_limits(self, machine: str) -> list[dict]:
        """The host's known limits the run judged with, from a file of the run (digested)."""
        text = self.read_text(StepFiles.machine_file(machine, KNOWN_LIMITS))
        try:
            limits = json.loads(text) if text else []
        except json.JSONDecodeError:
            limits = None
        if not isinstance(limits, list) or not all(isinstance(limit, dict) and {"signature", "reason"} <= set(limit)
                                                   for limit in limits):
            raise ConfigError(f"{self.path / machine / KNOWN_LIMITS}: not a list of known limits")
        return limits

    def verify(self) -> Integrity:
        recorded = self.manifest.artifacts
        if self.layout < LAYOUT or recorded is None:
            return Integrity(unverifiable=True)
        report = Integrity()
        for relative, wanted in sorted(recorded.items()):
            if Path(relative).is_absolute() or ".." in Path(relative).parts:
                report.changed.append(relative)     # a hand-made entry pointing out of the run
                continue
            path = self.path / relative
            if not self._inside_dir(str(Path(relative).parent)):
                report.outside.append((relative, str(path.resolve())))
                continue
            try:
                mode = path.lstat().st_mode
            except FileNotFoundError:
                report.missing.append(relative)
                continue
            if stat.S_ISLNK(mode) and not self._within(path.resolve()):
                report.outside.append((relative, str(path.resolve())))
                continue
            if not stat.S_ISREG(mode):
                report.changed.append(relative)
                continue
            data = path.read_bytes()
            if digest(data) != wanted:
                report.changed.append(relative)
            elif self._inside_dir(str(Path(relative).parent)):
                self._content[relative] = data      # read once: judging reads it from here
        listed = {ref.files.file("json") for ref in self.all_steps()}
        report.unlisted = sorted(r for r in recorded if STEP_RECORD.match(r) and r not in listed)
        for machine in self.machines:
            base = self.path / machine
            for path in sorted(base.rglob("*")) if base.is_dir() and not base.is_symlink() else []:
                relative = str(path.relative_to(self.path))
                if (path.is_symlink() or path.is_file()) and relative not in recorded \
                        and not path.name.startswith("."):
                    report.unrecorded.append(relative)
        return report

    def _inside(self, relative: str) -> Path:
        """A path of the run that stays inside it: a link out of the run is never followed."""
        path = self.path / relative
        if not self._inside_dir(str(Path(relative).parent)) or path.is_symlink():
            resolved = path.resolve()
            if not self._within(resolved):
                raise ConfigError(f"{path}: leaves the run directory (links to {resolved})")
        return path

    def _inside_dir(self, relative: str) -> bool:
        """The run's folder at `relative` resolves inside the run (each folder resolved once)."""
        if relative not in self._dirs:
            self._dirs[relative] = self._within((self.path / relative).resolve())
        return self._dirs[relative]

    def _within(self, resolved: Path) -> bool:
        return resolved == self._root or self._root in resolved.parents

    @property
    def _root(self) -> Path:
        if self._resolved_root is None:
            self._resolved_root = self.path.resolve()
        return self._resolved_root

