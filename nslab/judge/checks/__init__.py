"""The check kinds a scenario's `expect:` may use. A new kind: a module beside these, one line here."""
from . import caps, daemon_empty, data_root, exit_status, ids, output_contains, output_matches, owner, process, ps_row
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
)}
