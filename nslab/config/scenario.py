"""Scenario files: a lab as data (modes, steps, commands, expectations).

Loading checks everything before anything runs and names file, line and key
in its one-line error.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    create_model,
    model_validator,
)

from ..daemon.engines import ENGINES
from ..errors import ConfigError
from ..judge.checks import KINDS
from ..names import CONTAINER_NAME, IMAGE_REF, SLUG, USER_NAME
from ..paths import scenarios_dir
from .versions import VersionRange, overlap, parse_version
from .yamlfile import Loc, YamlDoc

PLACEHOLDER = re.compile(r"\{([a-z_]+)\.([a-z0-9_-]+)\}")
# {mode.engine}: the command line of the step's engine, as its user; {mode.options}: the mode's
# container options. Both are written into the command as they are (the others are quoted).
MODE_PLACEHOLDERS = ("engine", "options")
# Container options reach the shell unquoted: words of flags and values, nothing the shell reads.
CONTAINER_OPTIONS = r"^[A-Za-z0-9 =:,./_-]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageSpec(Strict):
    """An image the lab uses: one a registry serves (`pull`, with the `offline` stand-in built
    in its place where none answers), or one built inside the machine from a recipe folder."""
    pull: str | None = Field(default=None, pattern=IMAGE_REF, description="the image a registry serves")
    offline: Literal["alpine", "hello", "clock", "registry"] | None = Field(
        default=None, description="the image provision/images/build-lab-images.sh builds in its place")
    build: str | None = Field(default=None, description="a folder beside the scenario holding a Dockerfile")
    base: str | None = Field(default=None, pattern=SLUG,
                             description="the scenario image the Dockerfile's `ARG BASE` / `FROM $BASE` names")

    @model_validator(mode="after")
    def _pulled_or_built(self) -> Self:
        if self.build is None and (self.pull is None or self.offline is None):
            raise ValueError("an image has 'pull' and 'offline', or 'build' and 'base'")
        if self.build is not None and self.base is None:
            raise ValueError("a built image names its 'base': the scenario image its Dockerfile builds FROM")
        if self.build is not None and (self.pull or self.offline):
            raise ValueError("a built image has 'build' (its recipe folder) and 'base', not 'pull' or 'offline'")
        return self


class ModeSpec(Strict):
    """A mode: the machine's Docker daemon configured one way (it trusts the lab registry at
    127.0.0.1:5000), or a rootless engine run by an unprivileged user nslab creates."""
    engine: str = Field(default="dockerd", description="dockerd (the machine's daemon) or a rootless engine "
                                                       "of nslab/daemon/engines/")
    user: str | None = Field(default=None, pattern=USER_NAME,
                             description="the unprivileged user a rootless engine runs as (nslab creates it)")
    container_options: str = Field(default="", pattern=CONTAINER_OPTIONS,
                                   description="what {mode.options} stands for, e.g. '--user 1000:1000'")
    userns_remap: str | None = Field(default=None, description="'default' or a user nslab creates")
    subid_start: int | None = Field(default=None, ge=1, description="start of that user's range")
    subid_count: int = Field(default=65536, ge=1)
    # More daemon options, as daemon.json spells them (e.g. {"icc": false}, or default-ulimits' object).
    daemon_options: dict[str, bool | int | str | list[str] | dict[str, Any]] = {}

    @model_validator(mode="after")
    def _engine_known(self) -> Self:
        if self.engine not in ENGINES:
            raise ValueError(f"engine: unknown '{self.engine}' (known: {', '.join(ENGINES)})")
        rootless = ENGINES[self.engine].rootless
        if rootless and (self.userns_remap or self.daemon_options or self.subid_start is not None):
            raise ValueError(f"engine {self.engine} runs as its user: userns_remap, subid_start and "
                             f"daemon_options apply to the machine's dockerd")
        if rootless and not self.user:
            raise ValueError(f"engine {self.engine} needs 'user': the unprivileged user it runs as")
        if not rootless and self.user:
            raise ValueError("'user' applies to a rootless engine; dockerd runs as root")
        return self

    @model_validator(mode="after")
    def _custom_user_only(self) -> Self:
        if self.userns_remap is not None and self.userns_remap != "default":
            if not re.match(USER_NAME, self.userns_remap):
                raise ValueError(f"userns_remap: '{self.userns_remap}' is not a valid user name")
        elif self.subid_start is not None:
            raise ValueError("subid_start applies only to a remap user of its own, not to 'default'")
        return self


class ExpectBase(Strict):
    """What every `expect:` has; its keys are made from the check kinds (`Expect`, below)."""

    def checks(self) -> list[str]:
        """The expectations this step states (`exit: 0` counts; `data_root: false` does not)."""
        return [name for name in KINDS if getattr(self, name) is not None and getattr(self, name) is not False]


def _expect_model() -> type[ExpectBase]:
    """`expect:` takes one optional key per registered check kind (nslab/judge/checks/)."""
    fields: dict[str, Any] = {name: (kind.spec | None, None) for name, kind in KINDS.items()}
    return create_model("Expect", __base__=ExpectBase, **fields)


if TYPE_CHECKING:
    # A model made at import has no static fields: a type checker knows it by its base (and reads
    # a check's expectation with getattr, as judging does).
    Expect = ExpectBase
else:
    Expect = _expect_model()


class StopWhen(Strict):
    """Ends the step's command once its point is made, as a person presses Ctrl-C: when the
    container's log (lines written since the command started) contains the text."""
    logs: str = Field(pattern=CONTAINER_NAME, description="the container whose log is watched")
    contains: str = Field(min_length=1)
    within: float = Field(default=60, gt=0, le=3600,
                          description="watch this long at most; then the command runs on to its own end")


class Eventually(Strict):
    """For a claim that becomes true later (a clock that ticks, a service that comes up): the
    command and its facts are taken again until every expectation holds or time runs out."""
    within: float = Field(gt=0, le=600, description="seconds from the first attempt")
    every: float = Field(default=0.5, gt=0, le=60, description="seconds between attempts")


class Step(Strict):
    id: str = Field(pattern=SLUG)
    title: str
    mode: str = ""
    run: str | None = None
    action: Literal["images"] | None = None
    images: list[str] = []
    sudo: bool = False
    timeout: float = Field(default=120, gt=0, le=3600)
    stop_when: StopWhen | None = None
    eventually: Eventually | None = None
    expect: Expect = Field(default_factory=Expect)
    #: Where the claim comes from: a CIS Docker Benchmark id, a documentation page (a URL).
    refs: list[str] = []
    #: In a block of questions (`each_mode`), what the expectations are in one mode instead:
    #: each check named here replaces the one of `expect`; `exit: null` drops it.
    expect_in: dict[str, dict[str, Any]] = {}
    #: Where a behaviour differs by Docker version: under each condition ('<23', '>=20.10.9,<23'),
    #: the checks named replace those of `expect` (after `expect_in`); a version no condition
    #: covers gets a "no expectation for Docker X" verdict, never a silent pass.
    expect_for_docker: dict[str, dict[str, Any]] = {}

    #: The expectations under each Docker version condition, checked at load.
    _by_version: list[tuple[VersionRange, ExpectBase]] = PrivateAttr(default_factory=list)
    #: The question this step asks, when a block of questions made it (its id without the mode).
    _question: str | None = PrivateAttr(default=None)
    #: Where the step is written in the file (for errors that name a line).
    _where: Loc = PrivateAttr(default=())

    @property
    def question(self) -> str | None:
        return self._question

    def expect_for(self, docker_version: str | None) -> ExpectBase | None:
        """The expectations for the Docker version a mode ran; None when the step states none for it."""
        if not self._by_version:
            return self.expect
        matching = self._matching(docker_version)
        return matching[1] if matching else None

    def condition_for(self, docker_version: str | None) -> str:
        """The Docker version condition this version meets: '' when the step states none, and when it
        states some that this version meets none of, which ones."""
        if not self._by_version:
            return ""
        matching = self._matching(docker_version)
        return matching[0].text if matching else f"none of {', '.join(self.version_conditions())}"

    def _matching(self, docker_version: str | None) -> tuple[VersionRange, ExpectBase] | None:
        version = parse_version(docker_version or "")
        return next(((condition, expect) for condition, expect in self._by_version
                     if version is not None and condition.holds(version)), None)

    def every_expect(self) -> list[ExpectBase]:
        """What the step may expect, whatever the version (the facts to capture are those of all)."""
        return [self.expect, *(expect for _, expect in self._by_version)]

    def version_conditions(self) -> list[str]:
        return [condition.text for condition, _ in self._by_version]

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.run is None) == (self.action is None):
            raise ValueError("a step has exactly one of 'run' or 'action'")
        if self.stop_when is not None and self.run is None:
            raise ValueError("stop_when applies to a step that runs a command")
        if self.eventually is not None and self.run is None:
            raise ValueError("eventually applies to a step that runs a command")
        if self.action == "images" and not self.images:
            raise ValueError("an 'images' action lists the images to build or pull")
        return self


class Questions(Strict):
    """Questions asked in every mode of `each_mode`, mode by mode: each step once per mode
    (id `<step>-<mode>`), so `invoke compare` can lay them out as questions × modes."""
    each_mode: list[str] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)


class Cleanup(Strict):
    containers: list[Annotated[str, Field(pattern=CONTAINER_NAME)]] = []
    # Entering a mode without remapping, remove the data-roots remapped
    # daemons left (/var/lib/docker/<uid>.<gid>), so each remap starts as on a
    # pristine machine even when the machine ran the lab before.
    remapped_data_roots: bool = False
    # Paths the lab makes on the machine: on an existing host they must not be there before, and go after.
    paths: list[Annotated[str, Field(pattern=r"^/[^\s]+$")]] = []


class Scenario(Strict):
    name: str = Field(pattern=SLUG)
    title: str
    source: str = ""
    # Folders beside the scenario, copied to the machine before its steps; {files.NAME} in a command.
    files: dict[Annotated[str, Field(pattern=SLUG)], str] = {}
    images: dict[str, ImageSpec]
    modes: dict[str, ModeSpec]
    cleanup: Cleanup = Cleanup()
    #: `steps:` as the file writes them: steps, and blocks of questions (see `steps`).
    written_steps: list[Annotated[Annotated[Step, Tag("step")] | Annotated[Questions, Tag("questions")],
                                  Discriminator(lambda entry: "questions" if isinstance(entry, Questions) or
                                                (isinstance(entry, dict) and "each_mode" in entry) else "step")]] = \
        Field(alias="steps", min_length=1)

    path: Path | None = Field(default=None, exclude=True)
    _steps: list[Step] = PrivateAttr(default_factory=list)

    @property
    def steps(self) -> list[Step]:
        """Every step in order, each block of questions expanded into its steps mode by mode (by load_scenario)."""
        return self._steps



def render(command: str, image_refs: dict[str, str], file_paths: dict[str, str] | None = None,
           mode: dict[str, str] | None = None) -> str:
    """Fills {images.NAME} with the image reference and {files.NAME} with the folder's path on
    the machine, shell-quoted; {mode.engine} and {mode.options} as they are."""
    values = {"images": image_refs, "files": file_paths or {}}
    mode = mode or {"engine": "docker", "options": ""}

    def fill(match: re.Match[str]) -> str:
        kind, name = match.groups()
        return mode[name] if kind == "mode" else shlex.quote(values[kind][name])
    return PLACEHOLDER.sub(fill, command)


# What a scenario may bring: small folders of plain files (they travel inside one command).
MATERIAL_LIMIT = 1024 * 1024


def material_folder(scenario: Scenario, relative: str) -> Path:
    """A folder a scenario brings (`files:`, an image's `build:`), inside the scenario's own folder."""
    assert scenario.path is not None, "a scenario brings folders once loaded from its file"
    return scenario.path.parent / relative


def check_material(base: Path, relative: str) -> str | None:
    """Why a folder beside the scenario cannot be brought, or None."""
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        return f"'{relative}': give a folder inside the scenario's own folder (no absolute path, no '..')"
    folder = base / relative
    if folder.is_symlink() or not folder.is_dir():
        return f"'{relative}' is not a folder beside the scenario ({folder})"
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            target = path.resolve()
            if folder.resolve() not in target.parents:
                return f"{path}: a symbolic link leaving the folder (to {target})"
        elif path.is_file():
            total += path.stat().st_size
        elif not path.is_dir():
            return f"{path}: neither a file nor a folder"
    if total > MATERIAL_LIMIT:
        return f"'{relative}' holds {total} bytes; a scenario brings at most {MATERIAL_LIMIT}"
    return None


def scenario_path(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        if not candidate.exists():
            raise ConfigError(f"scenario file {name_or_path} does not exist")
        return candidate
    path = scenarios_dir() / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in scenarios_dir().glob("*.yaml")))
        raise ConfigError(f"unknown scenario '{name_or_path}' (known: {known})")
    return path


def load_scenario(name_or_path: str) -> Scenario:
    path = scenario_path(name_or_path)
    doc = YamlDoc.read(path)
    scenario = doc.validate(Scenario)
    scenario.path = path
    scenario._steps = _expand_questions(doc, scenario)
    _check_references(doc, scenario)
    return scenario


def _expand_questions(doc: YamlDoc, scenario: Scenario) -> list[Step]:
    """Each block of questions becomes its steps once per mode, mode by mode (one switch a mode)."""
    steps: list[Step] = []
    for index, entry in enumerate(scenario.written_steps):
        if isinstance(entry, Step):
            if entry.expect_in:
                raise doc.error(("steps", index, "expect_in"), "expect_in applies to a step of an each_mode block")
            entry._where = ("steps", index)
            entry._by_version = _by_version(doc, entry._where, entry, entry.expect.model_dump(exclude_none=True))
            steps.append(entry)
            continue
        for position, mode in enumerate(entry.each_mode):
            if mode not in scenario.modes:
                raise doc.error(("steps", index, "each_mode", position), f"unknown mode '{mode}' "
                                f"(this scenario defines: {', '.join(scenario.modes)})")
        for step_index, step in enumerate(entry.steps):
            if step.mode:
                raise doc.error(("steps", index, "steps", step_index, "mode"),
                                "a step of an each_mode block takes its mode from the block")
            for mode in step.expect_in:
                if mode not in entry.each_mode:
                    raise doc.error(("steps", index, "steps", step_index, "expect_in", mode),
                                    f"'{mode}' is not a mode of this block ({', '.join(entry.each_mode)})")
        for mode in entry.each_mode:
            for step_index, step in enumerate(entry.steps):
                where = ("steps", index, "steps", step_index)
                expect = {**step.expect.model_dump(exclude_none=True), **step.expect_in.get(mode, {})}
                try:
                    asked = step.model_copy(update={
                        "id": f"{step.id}-{mode}", "mode": mode, "expect_in": {},
                        "expect": Expect.model_validate({k: v for k, v in expect.items() if v is not None})})
                except ValidationError as exc:
                    first = exc.errors()[0]
                    raise doc.error(where + ("expect_in", mode) + tuple(first["loc"]), first["msg"]) from None
                asked._question, asked._where = step.id, where
                asked._by_version = _by_version(doc, where, step, expect)
                steps.append(asked)
    return steps


def _by_version(doc: YamlDoc, where: Loc, step: Step, base: dict[str, Any]) -> list[tuple[VersionRange, ExpectBase]]:
    """Each Docker version condition of the step with the expectations it states, validated."""
    found: list[tuple[VersionRange, ExpectBase]] = []
    for text, checks in step.expect_for_docker.items():
        here = where + ("expect_for_docker", text)
        try:
            condition = VersionRange.parse(text)
        except ValueError as exc:
            raise doc.error(here, str(exc)) from None
        merged = {**base, **checks}
        try:
            expect = Expect.model_validate({k: v for k, v in merged.items() if v is not None})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise doc.error(here + tuple(first["loc"]), first["msg"]) from None
        found.append((condition, expect))
    clash = overlap([condition for condition, _ in found])
    if clash is not None:
        one, other, version = clash
        raise doc.error(where + ("expect_for_docker", other.text), f"'{one.text}' and '{other.text}' both "
                        f"hold for Docker {'.'.join(map(str, version))}: a version has one expectation")
    return found


def _check_references(doc: YamlDoc, scenario: Scenario) -> None:
    """What the schema alone cannot see: names that must refer to something."""
    seen_ids: set[str] = set()
    for step in scenario.steps:
        here = step._where
        if step.id in seen_ids:
            raise doc.error(here + ("id",), f"duplicate step id '{step.id}'")
        seen_ids.add(step.id)
        if step.mode not in scenario.modes:
            if not step.mode:
                raise doc.error(here, f"step '{step.id}' names no mode")
            raise doc.error(here + ("mode",), f"unknown mode '{step.mode}' "
                            f"(this scenario defines: {', '.join(scenario.modes)})")
        if "data_root" in step.expect.checks() and ENGINES[scenario.modes[step.mode].engine].rootless:
            raise doc.error(here + ("expect",), f"data_root judges the machine's dockerd; mode '{step.mode}' "
                            f"runs {scenario.modes[step.mode].engine} (its data-root is verified as the mode starts)")
        for position, image_name in enumerate(step.images):
            if image_name not in scenario.images:
                raise doc.error(here + ("images", position), f"unknown image '{image_name}' "
                                f"(this scenario defines: {', '.join(scenario.images)})")
        known: dict[str, Collection[str]] = {"images": scenario.images, "files": scenario.files,
                                             "mode": MODE_PLACEHOLDERS}
        for match in PLACEHOLDER.finditer(step.run or ""):
            kind, name = match.groups()
            if name not in known.get(kind, {}):
                listed = [f"{{{k}.{n}}}" for k, names in known.items() for n in names]
                raise doc.error(here + ("run",), f"unknown placeholder '{match.group(0)}' "
                                f"(known: {', '.join(listed)})")
    base = doc.path.parent
    for name, relative in scenario.files.items():
        problem = check_material(base, relative)
        if problem:
            raise doc.error(("files", name), problem)
    for name, image in scenario.images.items():
        if image.build is None:
            continue
        problem = check_material(base, image.build)
        if problem is None and not (base / image.build / "Dockerfile").is_file():
            problem = f"'{image.build}' holds no Dockerfile"
        if problem:
            raise doc.error(("images", name, "build"), problem)
        if image.base not in scenario.images or scenario.images[image.base].build is not None:
            raise doc.error(("images", name, "base"), f"'{image.base}' is not an image this scenario pulls "
                            f"(it defines: {', '.join(n for n, i in scenario.images.items() if i.build is None)})")
