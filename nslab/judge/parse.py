"""Raw machine output to facts: ps listings, passwd files, /proc status, id maps."""
from __future__ import annotations

from typing import TypedDict


class PsRow(TypedDict):
    """One process as `ps` lists it."""
    pid: int
    user: str
    #: Which whitespace-separated column holds the user (a mutation rewrites it there).
    user_column: int
    #: The command column; "" when the row has fewer columns than the header.
    command: str
    line: str


def parse_ps(text: str) -> list[PsRow]:
    """Rows of `ps -ef` (procps: UID PID ...) or busybox `ps` (PID USER ...) output."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0].split()
    last = len(header) - 1
    upper = [h.upper() for h in header]
    user_column = next((i for i, h in enumerate(upper) if h in ("UID", "USER")), None)
    if "PID" not in upper or user_column is None:
        return []
    pid_column = upper.index("PID")
    rows: list[PsRow] = []
    for line in lines[1:]:
        cells = line.split(None, last)
        if len(cells) <= max(pid_column, user_column) or not cells[pid_column].isdigit():
            continue
        rows.append({"pid": int(cells[pid_column]), "user": cells[user_column], "user_column": user_column,
                     "command": cells[-1] if len(cells) == len(header) else "", "line": line.strip()})
    return rows


def program_of(command: str) -> str:
    """The program a ps command column runs: its first word without the directory."""
    words = command.split()
    return words[0].rsplit("/", 1)[-1] if words else ""


def resolve_uid(user: str, users: dict[str, int]) -> int | None:
    """A ps user column to a uid: numbers as they are, names through that side's passwd."""
    if user.isdigit():
        return int(user)
    return users.get(user)


def parse_passwd(text: str) -> dict[str, int]:
    """name -> id from passwd or group lines (`getent` or the file itself)."""
    ids: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            ids.setdefault(fields[0], int(fields[2]))
    return ids


def status_ids(status: str, field: str) -> int | None:
    """The real id of a /proc/<pid>/status `Uid:` or `Gid:` line."""
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def status_caps(status: str) -> dict[str, str]:
    return {line.split(":")[0]: line.split()[1] for line in status.splitlines()
            if line.startswith("Cap") and len(line.split()) == 2}


def parse_id_map(text: str) -> list[tuple[int, int, int]]:
    """/proc/<pid>/uid_map or gid_map: (inside start, outside start, count) per line."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and all(f.isdigit() for f in fields):
            entries.append((int(fields[0]), int(fields[1]), int(fields[2])))
    return entries


def map_through(entries: list[tuple[int, int, int]], inside_id: int) -> int | None:
    """The id outside the namespace that an id inside it stands for; None when unmapped."""
    for inside, outside, count in entries:
        if inside <= inside_id < inside + count:
            return outside + inside_id - inside
    return None
