"""`invoke bench`: measures nslab against the raw operations and `vagrant ssh -c`; prints ratios,
writes JSON and a chart."""
from __future__ import annotations

from pathlib import Path

from ..config.scenario import load_scenario
from ..errors import ConfigError
from ..machines.inventory import load_lab
from ..paths import PROJECT_ROOT, artifacts_dir
from .common import console, log, using_host_services


@using_host_services
def execute(scenario_name: str = "userns", repeat: int = 5, out: str | None = None) -> int:
    from ..harness.bench import Bench, matrix_figures, write_results
    from ..harness.benchtable import goals_table, measures_table, profile_lines
    from ..harness.goals import fill, goals
    from ..machines.boxes import build_box
    from ..machines.hostdocker import ensure_host_docker

    if repeat < 1:
        raise ConfigError(f"--repeat {repeat}: expected 1 or more")
    scenario = load_scenario(scenario_name)
    lab = load_lab()
    url = ensure_host_docker(log)
    build_box(lab.box(lab.default_boxes[0]), url, log=log)
    results = Bench(lab, scenario, url, repeat, log=log).run()
    results["matrix"] = matrix_figures(artifacts_dir())
    results["goals"] = [goal.as_dict() for goal in fill(goals(), results, artifacts_dir())]
    json_path, png_path = write_results(results, Path(out) if out else PROJECT_ROOT / "bench")
    console.print(measures_table(results))
    for line in profile_lines(results):
        log(line)
    console.print(goals_table(results["goals"]))
    met = sum(goal["met"] for goal in results["goals"])
    log(f"{met} of {len(results['goals'])} goals met; wrote {json_path} and {png_path}")
    return 0
