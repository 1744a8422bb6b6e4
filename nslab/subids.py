"""/etc/subuid and /etc/subgid: ranges of subordinate ids, as `name:start:count` lines."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class SubIdRange:
    owner: str
    start: int
    count: int

    @property
    def end(self) -> int:
        """First id after the range."""
        return self.start + self.count

    def overlaps(self, other: SubIdRange) -> bool:
        return self.start < other.end and other.start < self.end

    def __str__(self) -> str:
        return f"{self.owner}:{self.start}:{self.count}"


def parse_subids(text: str, source: str = "/etc/subuid") -> list[SubIdRange]:
    ranges = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2].isdigit():
            raise ConfigError(f"{source}:{number}: expected name:start:count, got {line!r}")
        ranges.append(SubIdRange(parts[0], int(parts[1]), int(parts[2])))
    return ranges


def ranges_of(ranges: list[SubIdRange], owner: str) -> list[SubIdRange]:
    """The owner's ranges in the order Docker maps them: by start."""
    return sorted((r for r in ranges if r.owner == owner), key=lambda r: r.start)


def range_of(ranges: list[SubIdRange], owner: str) -> SubIdRange | None:
    """The range container root maps into (its start names Docker's data-root subdir)."""
    owned = ranges_of(ranges, owner)
    return owned[0] if owned else None


def overlapping(ranges: list[SubIdRange], candidate: SubIdRange) -> list[SubIdRange]:
    return [r for r in ranges if r.owner != candidate.owner and r.overlaps(candidate)]


def next_free_start(ranges: list[SubIdRange], count: int, lowest: int = 100000) -> int:
    """The lowest start at or above `lowest` where `count` ids overlap no range."""
    start = lowest
    for r in sorted(ranges, key=lambda r: r.start):
        if r.end <= start:
            continue
        if r.start >= start + count:
            break
        start = r.end
    return start


def map_to_host(ranges: list[SubIdRange], owner: str | None, container_id: int) -> int | None:
    """Host id of a container id: identity without remapping; None where it falls outside the range."""
    if owner is None:
        return container_id
    if container_id < 0:
        return None
    offset = container_id
    for owned in ranges_of(ranges, owner):
        if offset < owned.count:
            return owned.start + offset
        offset -= owned.count
    return None
