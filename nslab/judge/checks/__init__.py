"""The check kinds a scenario's `expect:` may use. A new kind: a module beside these, one line here."""
from . import (
    caps,
    config_reading,
    daemon_empty,
    data_root,
    exit_status,
    ids,
    limits,
    output_contains,
    output_matches,
    owner,
    proc_status,
    process,
    processes,
    ps_row,
    same_process,
)
from .base import CheckKind

KINDS: dict[str, CheckKind] = {kind.name: kind for kind in (
    exit_status.KIND,
    output_contains.KIND,
    output_matches.KIND,
    ids.UID,
    ids.GID,
    ps_row.KIND,
    process.KIND,
    data_root.KIND,
    daemon_empty.KIND,
    owner.KIND,
    caps.KIND,
    proc_status.KIND,
    limits.KIND,
    processes.KIND,
    same_process.KIND,
    config_reading.KIND,
)}
