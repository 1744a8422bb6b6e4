"""Docker version conditions a scenario states expectations under: `<23`, `>=20.10.9,<23`, `==20.10.5`.

A version is compared by its leading numbers (`26.1.5+dfsg1` is 26.1.5); missing parts are zeros.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

Version = tuple[int, int, int]
COMPARATOR = re.compile(r"^\s*(<=|>=|==|<|>)\s*(\d+(?:\.\d+){0,2})\s*$")
OPERATORS: dict[str, Callable[[Version, Version], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def parse_version(text: str) -> Version | None:
    """The leading numbers of a version as Docker reports it, or None when it has none."""
    found = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text.strip())
    if not found:
        return None
    major, minor, patch = (int(part) if part else 0 for part in found.groups())
    return major, minor, patch


@dataclass(frozen=True)
class VersionRange:
    text: str
    bounds: tuple[tuple[str, Version], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        bounds = []
        for part in text.split(","):
            found = COMPARATOR.match(part)
            if not found:
                raise ValueError(f"'{text}' is not a Docker version condition (e.g. '<23', '>=20.10.9,<23')")
            version = parse_version(found.group(2))
            assert version is not None
            bounds.append((found.group(1), version))
        return cls(text, tuple(bounds))

    def holds(self, version: Version) -> bool:
        return all(OPERATORS[op](version, bound) for op, bound in self.bounds)


def overlap(ranges: list[VersionRange]) -> tuple[VersionRange, VersionRange, Version] | None:
    """Two conditions a version meets at once, and that version: each bound and its neighbours tried."""
    points = {(major, minor, patch + step) for r in ranges for _, (major, minor, patch) in r.bounds
              for step in (-1, 0, 1) if patch + step >= 0}
    points |= {(major + step, 0, 0) for r in ranges for _, (major, _minor, _patch) in r.bounds for step in (-1, 1)
               if major + step >= 0}
    for point in sorted(points):
        meeting = [r for r in ranges if r.holds(point)]
        if len(meeting) > 1:
            return meeting[0], meeting[1], point
    return None
