"""`invoke matrix`: every lab on every box, cells in parallel, then one comparison of all of them."""
from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..machines.inventory import load_lab
from . import judge
from .common import (
    NO_HOSTS,
    HostTargets,
    check_destroy,
    console,
    host_docker_for,
    log,
    parse_boxes,
    parse_scenarios,
    using_host_services,
)


@using_host_services
def execute(box_names: str | None, scenario_names: str | None, jobs: int = 3,
            continue_on_failure: bool = False, destroy: str = "always", hosts: HostTargets = NO_HOSTS,
            prove: bool = False) -> int:
    """With `prove`, each cell's run is then mutation-proved as `invoke judge --mutate` does."""
    from ..report import compare as comparing
    from ..report.formats import print_comparison, write_reports
    from ..run.matrix import NOT_AS_FOUND, Matrix

    check_destroy(destroy)
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: expected 1 or more")
    lab = load_lab()
    boxes = parse_boxes(box_names, lab, hosts=hosts) if box_names or hosts.spec \
        else [lab.box(n) for n in lab.default_boxes]
    scenarios = parse_scenarios(scenario_names)
    url = host_docker_for(boxes)
    grid = Matrix(lab, [(box, scenario) for box in boxes for scenario in scenarios], jobs, continue_on_failure,
                  destroy, url, console, hosts.options())
    try:
        summary = grid.run()
    except KeyboardInterrupt:
        return 130
    runs = [Path(c["run"]) for c in summary["cells"] if c["run"]]
    if runs:
        comparison = comparing.build(runs)
        print_comparison(console, comparison, [])
        for path in write_reports(comparison, [], grid.folder):
            log(f"wrote {path}")
    failed = [c for c in summary["cells"] if c["state"] not in ("passed", "not available here")]
    unrestored = [c for c in failed if c["detail"].startswith(NOT_AS_FOUND)]
    unproved = [path for path in runs if prove and _unproved(path)]
    log(f"matrix {summary['matrix_id']}: {len(summary['cells'])} cells, {len(failed)} not passed, "
        f"{summary['seconds']}s with --jobs {jobs}; summary in {grid.folder / 'matrix.json'}")
    return 2 if unrestored else 1 if failed or unproved else 0


def _unproved(run: Path) -> bool:
    """Whether a check of the run that passed stays green under some mutation (each named)."""
    from ..judge.run import judge_run

    try:
        judgement = judge_run(run)
    except ConfigError as exc:
        log(f"{run.name}: cannot be proved: {exc}")
        return True
    proof = judge.prove(judgement)
    judge.write_judgement(judgement, proof)
    return bool(proof.unshown)
