"""`invoke compare`: runs side by side (default: the latest); with a baseline, exits 1 when any fact
drifted; exits 2 when a run's evidence does not hold (then writes reports only where --out says)."""
from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..paths import artifacts_dir
from .common import console, log


def execute(runs: str | None = None, baseline: str | None = None, out: str | None = None) -> int:
    from ..report import compare as comparing
    from ..report.formats import print_comparison, write_reports
    from ..run.layout import new_run_id

    specs = [r.strip() for r in (runs or "").split(",") if r.strip()]
    run_paths = comparing.resolve_runs(specs, artifacts_dir())
    baseline_paths = comparing.resolve_runs([b.strip() for b in baseline.split(",")], artifacts_dir()) \
        if baseline else []
    for paths, what in ((run_paths, runs or "latest"), (baseline_paths, baseline)):
        if len(paths) > comparing.MAX_RUNS:
            raise ConfigError(f"{what}: holds {len(paths)} runs; compare takes at most {comparing.MAX_RUNS} at "
                              f"once (name runs with --runs, or give a smaller folder)")
    comparison = comparing.build(run_paths)
    changes = comparing.drift(comparison, comparing.build(baseline_paths)) if baseline_paths else []
    if out:
        folder = Path(out)
    elif len(run_paths) == 1:
        folder = run_paths[0]          # beside the run it describes
    else:
        folder = artifacts_dir() / "compare" / new_run_id("compare")
    print_comparison(console, comparison, changes)
    flagged = [column for column in comparison.columns if column.flags]
    if flagged and not out:
        # Evidence that does not hold: said above, file by file; no report is left beside the runs.
        log(f"evidence does not hold in {len(flagged)} column(s): no report written "
            f"(--out DIR writes one elsewhere)")
        return 2
    for path in write_reports(comparison, changes, folder):
        log(f"wrote {path}")
    if baseline_paths:
        log(f"drift against {', '.join(p.name for p in baseline_paths)}: "
            f"{len(changes)} changed fact(s)" if changes else "no drift against the baseline")
    return 2 if flagged else 1 if changes else 0
