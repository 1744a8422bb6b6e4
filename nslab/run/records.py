"""The run folder's records, typed: the manifest, each machine's record in it, the steps it lists,
and each step's .json. Written by the run, read by judging, reports, the benchmark and the fault
suite: nothing else parses these files.

The bottom layer of the run folder: it imports nothing of nslab but its errors. Keys a record does
not declare (a provider's own facts, a newer nslab's) are kept as they were read, in `extra`.
"""
from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Self

from ..errors import ConfigError

Json = dict[str, Any]


def _typed(where: str, key: str, value: Any, kinds: tuple[type, ...]) -> Any:
    # bool is an int to isinstance: a number field must not take true/false.
    if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
        raise ConfigError(f"{where}: '{key}' is {json.dumps(value)[:60]}, not "
                          f"{' or '.join(k.__name__ for k in kinds)}")
    return value


class _Record:
    """A dataclass read from and written to a JSON object: declared keys typed, the rest in `extra`."""
    #: Declared keys written even when None (readers of older runs expect them).
    ALWAYS: tuple[str, ...] = ()
    #: The JSON types each declared key may hold.
    TYPES: dict[str, tuple[type, ...]] = {}
    #: Keys that must be present.
    REQUIRED: tuple[str, ...] = ()
    extra: Json

    @classmethod
    def read(cls, data: Any, where: str) -> Any:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: not a JSON object")
        missing = [key for key in cls.REQUIRED if key not in data]
        if missing:
            raise ConfigError(f"{where}: has no {', '.join(repr(k) for k in missing)}")
        names = {f.name for f in fields(cls)} - {"extra"}     # type: ignore[arg-type]
        # A list or mapping a record always has may be empty, never null.
        required = {f.name for f in fields(cls) if f.default_factory is not MISSING}     # type: ignore[arg-type]
        nulls = [key for key in required & set(data) if data[key] is None and key != "extra"]
        if nulls:
            raise ConfigError(f"{where}: '{nulls[0]}' is null, not {cls.TYPES.get(nulls[0], (list,))[0].__name__}")
        values = {key: _typed(where, key, value, cls.TYPES.get(key, (object,)))
                  for key, value in data.items() if key in names}
        values["extra"] = {key: value for key, value in data.items() if key not in names}
        return cls(**values)

    #: What a file holding one is called, in the error of a file that is not one.
    WHAT = "a record"

    @classmethod
    def parse(cls, text: str, where: str) -> Self:
        """A file's text read as this record: one line saying what is wrong when it is not one."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or any(key not in data for key in cls.REQUIRED):
            *first, last = cls.REQUIRED
            wanted = f"{', '.join(first)} or {last}" if first else last
            raise ConfigError(f"{where}: not {cls.WHAT} (no {wanted})")
        record: Self = cls.read(data, where)
        return record

    def as_json(self) -> Json:
        data: Json = {}
        for each in fields(self):     # type: ignore[arg-type]
            value = getattr(self, each.name)
            if each.name != "extra" and (value is not None or each.name in self.ALWAYS):
                data[each.name] = value
        return {**self.extra, **data}


@dataclass
class StepEntry(_Record):
    """A step as the manifest lists it: written once the step ended (or was given up)."""
    id: str
    mode: str
    status: str
    number: int | None = None
    seconds: float = 0.0
    detail: str = ""
    question: str | None = None
    extra: Json = field(default_factory=dict)

    REQUIRED = ("id", "mode", "status")
    TYPES = {"id": (str,), "mode": (str,), "status": (str,), "number": (int,), "seconds": (int, float),
             "detail": (str,), "question": (str,)}


@dataclass
class ModeEntry(_Record):
    """A mode the machine entered (or whose daemon refused it)."""
    mode: str
    status: str
    changed: bool | None = None
    seconds: float | None = None
    engine: str | None = None
    remap_user: str | None = None
    data_root: str | None = None
    error: str | None = None
    extra: Json = field(default_factory=dict)

    ALWAYS = ("remap_user", "data_root")
    REQUIRED = ("mode", "status")
    TYPES = {"mode": (str,), "status": (str,), "changed": (bool,), "seconds": (int, float), "error": (str,)}


@dataclass
class MachineRecord(_Record):
    """One machine of the run: what it is, how it came up, its modes and steps, and for an existing
    host whether it was left as found (`restored`: "verified", "pending", {"differences": [...]},
    or "not done: …")."""
    modes: list[ModeEntry] = field(default_factory=list)
    steps: list[StepEntry] = field(default_factory=list)
    box: str | None = None
    distro: str | None = None
    provider: str | None = None
    config_style: str | None = None
    status: str | None = None
    #: What its provider calls it: a container, a libvirt domain.
    container: str | None = None
    domain: str | None = None
    os: str | None = None
    kernel: str | None = None
    docker_version: str | None = None
    docker_api_version: str | None = None
    up_seconds: float | None = None
    connect_seconds: float | None = None
    destroy_seconds: float | None = None
    ssh: Json | None = None
    docker_install: Json | None = None
    restored: str | Json | None = None
    error: str | None = None
    extra: Json = field(default_factory=dict)

    TYPES = {"modes": (list,), "steps": (list,), "status": (str,), "container": (str,), "domain": (str,),
             "docker_version": (str,), "up_seconds": (int, float), "connect_seconds": (int, float),
             "destroy_seconds": (int, float), "ssh": (dict,), "docker_install": (dict,),
             "restored": (str, dict), "error": (str,)}

    @classmethod
    def read(cls, data: Any, where: str) -> MachineRecord:
        record: MachineRecord = super().read(data, where)
        record.modes = [ModeEntry.read(mode, f"{where}: mode {position}")
                        for position, mode in enumerate(record.modes, start=1)]
        record.steps = [StepEntry.read(step, f"{where}: step {position}")
                        for position, step in enumerate(record.steps, start=1)]
        return record

    def as_json(self) -> Json:
        return {**super().as_json(), "modes": [m.as_json() for m in self.modes],
                "steps": [s.as_json() for s in self.steps]}

    def called_by(self, kind: str, name: str) -> None:
        """What its provider calls it (machine_kind): containers and domains are looked up by name."""
        if kind in ("container", "domain"):
            setattr(self, kind, name)
        else:
            self.extra[kind] = name

    @property
    def restored_as_found(self) -> bool:
        """Not an existing host, or one restored and verified."""
        return self.restored in (None, "verified")

    def restore_said(self) -> str:
        """Why the host is not as found, in one line."""
        if isinstance(self.restored, dict):
            return "; ".join(self.restored.get("differences", []))
        if self.restored == "pending":
            return "the run ended before restoring it; `invoke restore` restores it from the bundle kept on it"
        return str(self.restored)

    def said(self, containing: str) -> str:
        """The first of the machine's error and its steps' details that contains `containing`."""
        return next((text for text in [self.error or ""] + [s.detail for s in self.steps] if containing in text), "")


@dataclass
class Manifest(_Record):
    """manifest.json: the run, its machines, and a digest of every other file in it."""
    run_id: str
    scenario: str
    status: str = "running"
    #: 2: facts captured per step and digests recorded; runs without it predate evidence.
    layout: int = 1
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    machines: dict[str, MachineRecord] = field(default_factory=dict)
    artifacts: dict[str, str] | None = None
    error: str | None = None
    #: A host refused the lab (its key, sudo, what the lab would destroy): nothing was changed.
    refused: bool | None = None
    instance: str | None = None
    matrix: str | None = None
    extra: Json = field(default_factory=dict)

    WHAT = "a run's manifest"
    ALWAYS = ("finished",)
    REQUIRED = ("run_id", "scenario", "machines")
    TYPES = {"run_id": (str,), "scenario": (str,), "status": (str,), "layout": (int,), "seconds": (int, float),
             "machines": (dict,), "artifacts": (dict,), "error": (str,), "refused": (bool,), "matrix": (str,)}

    @classmethod
    def read(cls, data: Any, where: str) -> Manifest:
        manifest: Manifest = super().read(data, where)
        manifest.machines = {name: MachineRecord.read(record, f"{where}: machine {name}")
                             for name, record in manifest.machines.items()}
        return manifest

    def as_json(self) -> Json:
        return {**super().as_json(), "machines": {n: m.as_json() for n, m in self.machines.items()}}

    def machine(self, name: str) -> MachineRecord:
        return self.machines.setdefault(name, MachineRecord())

    def only_machine(self) -> MachineRecord:
        return next(iter(self.machines.values()))

    def step_count(self) -> int:
        return sum(len(m.steps) for m in self.machines.values())


@dataclass
class StepRecord(_Record):
    """A step's .json: its command, exit status, verdicts, and how it ended."""
    exit_code: int | None
    step: str | None = None
    title: str = ""
    mode: str | None = None
    command: str | None = None
    question: str | None = None
    refs: list[str] = field(default_factory=list)
    duration_seconds: float | None = None
    status: str | None = None
    verdicts: list[Json] = field(default_factory=list)
    evidence_read: list[str] | None = None
    #: How `stop_when` ended the command ({"reason": …}), if it did.
    stopped: Json | None = None
    facts_seconds: float | None = None
    #: The earlier attempts of an `eventually` step.
    eventually: Json | None = None
    extra: Json = field(default_factory=dict)

    WHAT = "a step record"
    ALWAYS = ("stopped", "question")
    REQUIRED = ("exit_code",)
    TYPES = {"exit_code": (int,), "title": (str,), "command": (str,), "refs": (list,), "status": (str,),
             "verdicts": (list,), "stopped": (dict,), "eventually": (dict,)}

