"""What a check kind is: the YAML value it takes, the facts it needs, and how it judges."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..evidence import StepEvidence
from ..mutation import Mutation
from ..verdict import Verdict, VerdictRecord


@dataclass(frozen=True)
class Shown:
    """What a comparison shows of one verdict: the facts it sets side by side and diffs between runs
    (the nightly's drift), their words in a table cell (and as the answer to a question), and what
    the id pictures draw: a container id landing on the host's id line, a process as `ps` shows it."""
    facts: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    answer: str = ""
    #: (container, id inside, id on the host)
    landing: tuple[str, int, int] | None = None
    #: ((container, uid it runs as), side: inside | host, (ps user, uid))
    process: tuple[tuple[str, int], str, tuple[str, int]] | None = None
    #: (setting, what a configuration-only audit reads of it, what the machine does): on | off each
    claim: tuple[str, str, str] | None = None


class ShowsVerdict(Protocol):
    """A check kind's `shown`: a recorded verdict, and the expectation it was judged against if known."""

    def __call__(self, verdict: VerdictRecord, spec: Any = None, /) -> Shown: ...


@dataclass(frozen=True)
class CheckKind:
    name: str
    #: The type of the value in a scenario's `expect:` (a pydantic-checked annotation).
    spec: Any
    judge: Callable[[Any, StepEvidence], Verdict]
    #: The facts the run must capture for this check: "container:<name>", "docker-info", ...
    facts: Callable[[Any], list[str]] = field(default=lambda spec: [])
    #: The smallest edits of the evidence it reads that must turn a pass into a fail (`judge --mutate`).
    mutations: Callable[[Any], list[Mutation]] = field(default=lambda spec: [])
    #: A value its `expect:` key takes, as a scenario writes it (what the tests give each kind).
    example: Any = None
    #: What `invoke compare` and the nightly show and diff of a verdict (as recorded: a dict), given
    #: the check's expectation when the step was judged again (None for a verdict only recorded).
    shown: ShowsVerdict = field(default=lambda verdict, spec=None: Shown())


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def line_with(text: str, needle: str) -> str:
    return next((line.strip()[:300] for line in text.splitlines() if needle in line), "")
