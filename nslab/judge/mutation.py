"""Mutations: the smallest edits of a step's evidence that should turn a passing check to `fail`.

Each check kind lists its own mutations beside its judge (nslab/judge/checks/);
they edit a Draft, an in-memory copy of the evidence, so a run's files are
never written. The edits shared by several kinds live here.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .evidence import StepEvidence
from .parse import parse_ps


class NotApplicable(Exception):
    """This mutation has nothing to change in this step's evidence."""


@dataclass(frozen=True)
class Mutation:
    #: What it changes, as a reader would say it: "the observed host uid moved off the mapping".
    name: str
    apply: Callable[[Draft], None]


class Draft(StepEvidence):
    """A copy of a step's evidence that a mutation edits; reads fall through to the unedited files."""

    def __init__(self, original: StepEvidence):
        super().__init__(original.folder, original.exit_code, original.stdout, original.stderr,
                         dict(original.mode), reader=original._reader)
        self._edits: dict[str, str] = {}

    def raw(self, name: str) -> str:
        if name in self._edits:
            return self._edits[name]
        return super().raw(name)

    def edit(self, name: str, change: Callable[[str], str]) -> None:
        try:
            before = self.raw(name)
        except FileNotFoundError:
            raise NotApplicable(f"{name} was not captured") from None
        after = change(before)
        if after == before:
            raise NotApplicable(f"nothing to change in {name}")
        self._edits[name] = after

    def edit_output(self, change: Callable[[str], str]) -> None:
        stdout, stderr = change(self.stdout), change(self.stderr)
        if (stdout, stderr) == (self.stdout, self.stderr):
            raise NotApplicable("nothing to change in the output")
        self.stdout, self.stderr = stdout, stderr


def shift_status_id(field: str, by: int = 1) -> Callable[[str], str]:
    """/proc/<pid>/status: the `Uid:` or `Gid:` line's four ids moved by `by`."""
    def change(text: str) -> str:
        return re.sub(rf"^{field}:\s.*$", lambda m: f"{field}:\t" + "\t".join(
            str(int(v) + by) for v in m.group(0).split()[1:]), text, count=1, flags=re.M)
    return change


def shift_map(by: int = 1) -> Callable[[str], str]:
    """uid_map or gid_map: every entry's outside start moved by `by`."""
    def change(text: str) -> str:
        return re.sub(r"^(\s*\d+\s+)(\d+)(\s+\d+\s*)$", lambda m: f"{m.group(1)}{int(m.group(2)) + by}{m.group(3)}",
                      text, flags=re.M)
    return change


def without(needle: str) -> Callable[[str], str]:
    """The text with every occurrence of `needle` removed, including ones the removal joins up."""
    def change(text: str) -> str:
        for _ in range(len(text) + 1):
            if not needle or needle not in text:
                break
            text = text.replace(needle, "")
        return text
    return change


def ps_user(pid_of: Callable[[StepEvidence], int | None], user: Callable[[str], str]) -> Callable[[Draft], None]:
    """The step's ps row of a process shows another user (its user column rewritten)."""
    def apply(draft: Draft) -> None:
        pid = pid_of(draft)
        row = next((r for r in parse_ps(draft.stdout) if r["pid"] == pid), None)
        if row is None:
            raise NotApplicable(f"no ps row for pid {pid}")
        cell = list(re.finditer(r"\S+", row["line"]))[row["user_column"]]
        line = row["line"][:cell.start()] + user(row["user"]) + row["line"][cell.end():]
        draft.stdout = draft.stdout.replace(row["line"], line, 1)
    return apply


def other_user(user: str) -> str:
    """A ps user column naming someone else: the next uid for a number, a name no passwd holds otherwise."""
    return str(int(user) + 1) if user.isdigit() else "4242"
