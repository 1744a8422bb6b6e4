"""`invoke nightly`: runs the night's cells (lab.yaml's `nightly:`, or --boxes × --scenarios), keeps
them as a night and compares it with the newest earlier night."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from ..config.scenario import load_scenario
from ..errors import ConfigError
from ..machines.inventory import load_lab
from ..paths import artifacts_dir
from .common import console, log, parse_boxes, parse_scenarios, using_host_services


@using_host_services
def execute(box_names: str | None = None, scenario_names: str | None = None, jobs: int | None = None,
            keep: int | None = None, folder: str | None = None, from_runs: str | None = None) -> int:
    """Exits 1 when a verdict turned or a fact drifted, 2 when evidence does not hold."""
    from ..report import compare as comparing
    from ..report import nights

    lab = load_lab()
    settings = lab.nightly
    jobs, keep = jobs or settings.jobs, keep or settings.keep
    if jobs < 1 or keep < 1:
        raise ConfigError(f"--jobs {jobs} --keep {keep}: expected 1 or more")
    root = Path(folder) if folder else artifacts_dir() / "nightly"
    earlier = nights.kept_nights(root)        # read first: a damaged night is named before any work
    if from_runs:
        runs, planned = comparing.resolve_runs([from_runs], artifacts_dir()), []
    else:
        cells = _nightly_cells(lab, box_names, scenario_names)
        runs, planned = _run_cells(lab, cells, jobs)
    night_path = nights.new_night_folder(root, datetime.now(UTC))
    for run in runs:
        shutil.copytree(run, night_path / "runs" / run.name, symlinks=True)
    baseline = earlier[-1] if earlier else None
    night = nights.record_night(night_path, planned, baseline)
    _print_night(night, baseline)
    for name in nights.prune(root, keep):
        log(f"nightly: removed night {name} (keeping {keep})")
    if night.record["evidence_problems"]:
        return 2
    failed = [c for c in night.record["cells"] if c["state"] not in ("passed", "not available here")]
    return 1 if night.changes or (baseline is None and failed) else 0


def _nightly_cells(lab, box_names: str | None, scenario_names: str | None) -> list:
    if box_names or scenario_names:
        groups = [(parse_boxes(box_names, lab), parse_scenarios(scenario_names))]
    else:
        if not lab.nightly.cells:
            raise ConfigError("lab.yaml has no nightly: cells (or give --boxes and --scenarios)")
        groups = [([lab.box(n) for n in group.boxes], [load_scenario(n) for n in group.scenarios])
                  for group in lab.nightly.cells]
    cells = []
    for boxes, scenarios in groups:
        cells += [(box, scenario) for box in boxes for scenario in scenarios
                  if (box, scenario) not in cells]
    return cells


def _run_cells(lab, cells: list, jobs: int) -> tuple[list[Path], list[dict]]:
    from ..machines.hostdocker import ensure_host_docker
    from ..run.matrix import Matrix

    url = ensure_host_docker(log)
    grid = Matrix(lab, cells, jobs, continue_on_failure=True, destroy="always", docker_url=url, console=console)
    summary = grid.run()
    return [Path(c["run"]) for c in summary["cells"] if c["run"]], summary["cells"]


def _print_night(night, baseline) -> None:
    from rich.markup import escape

    from ..report.nights import verdicts_of

    for cell in night.record["cells"]:
        log(f"  {cell['cell']}: {cell['state']} ({verdicts_of(cell)})")
    for problem in night.record["evidence_problems"]:
        console.print(f"[bold red]evidence does not hold[/] {escape(problem)}", soft_wrap=True)
    if baseline is None:
        log(f"night {night.name}: no baseline yet (the first night kept in {night.path.parent})")
    elif night.changes:
        for change in night.changes:
            console.print(f"[bold red]changed[/] {escape(change['text'])}", soft_wrap=True)
        log(f"night {night.name}: {len(night.changes)} change(s) since {baseline.name}")
    else:
        log(f"night {night.name}: no change since {baseline.name}")
    log(f"night kept in {night.path} (summary.md, report/)")
