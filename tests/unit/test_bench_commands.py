from nslab.config.scenario import load_scenario
from nslab.harness.bench import raw_commands


def test_raw_column_is_the_scenarios_own_operations_without_harness():
    scenario = load_scenario("userns")
    commands = raw_commands(scenario, "daemon-json")
    restarts = [c for c in commands if "systemctl restart docker" in c]
    assert len(restarts) == len({step.mode for step in scenario.steps}) == 3
    assert '"userns-remap": "bozo"' in restarts[2]
    # One command per step and one per fact its claims rest on, plus per mode: container cleanup, the
    # restart and the mode's own reads (and, for the root mode, removing old remapped data-roots).
    from nslab.judge import needed_facts
    reads = sum(len(needed_facts(step.expect)) for step in scenario.steps if step.action != "images")
    assert reads == 27
    assert len(commands) == len(scenario.steps) + reads + 3 * 3 + 1
    # What the registry's uid claim under userns rests on, read as a person would read it.
    registry = commands.index("docker run -d --name registry -p 127.0.0.1:5000:5000 nslab/registry:offline")
    assert commands[registry + 1].startswith("pid=$(docker inspect -f '{{.State.Pid}}' registry) && "
                                             "sudo cat /proc/$pid/status /proc/$pid/uid_map /proc/$pid/gid_map")
    assert commands[registry + 2] == "cat /etc/subuid /etc/subgid >/dev/null"
    # The clock's log is read again until it has ticked twice, as nslab's `eventually` reads it.
    clock = next(c for c in commands if "docker logs clock" in c)
    assert clock.startswith("end=$(( $(date +%s) + 10 )); until out=$(docker logs clock 2>&1); printf '%s' \"$out\" "
                            "| grep -Pzq ") and clock.endswith("sleep 0.5; done")
    assert "docker run -d --name registry -p 127.0.0.1:5000:5000 nslab/registry:offline" in commands
    assert any(c.startswith("sudo sh -c 'ls -ld /var/lib/docker/*.*'") for c in commands)


def test_the_raw_column_stops_the_refused_push_as_the_scenario_does():
    push = next(c for c in raw_commands(load_scenario("userns"), "daemon-json") if "docker push" in c
                and "setsid" in c)
    assert "docker logs --since" in push and "'permission denied'" in push


def test_each_goal_takes_its_figure_from_the_bench_or_the_newest_passed_run(tmp_path):
    import json

    from nslab.harness.goals import MATRIX_CELLS, fill, goals
    spread = lambda median: {"median": median}
    results = {"scenario": "userns", "nslab": spread(14.2), "warm": {"workshop": spread(9.5)},
               "nslab_cold": spread(24.0), "ratios": {"nslab_over_raw": 1.04},
               "offline": {"judge": 0.35, "compare100": 2.7}}
    vm = tmp_path / "20261123T101500Z-userns-abc123"
    vm.mkdir()
    (vm / "manifest.json").write_text(json.dumps({"run_id": vm.name, "scenario": "userns", "status": "passed",
                                                  "seconds": 130.0,
                                                  "machines": {"debian12-vm": {"provider": "libvirt",
                                                                               "up_seconds": 50.0}}}))
    by_key = {goal.key: goal for goal in fill(goals(), results, tmp_path)}
    assert (by_key["userns_warm"].now, by_key["userns_warm"].met) == (14.2, True)
    assert (by_key["workshop_warm"].now, by_key["workshop_warm"].met) == (9.5, False)
    assert (by_key["userns_vm"].now, by_key["userns_vm"].source) == (80.0, f"run {vm.name}")
    assert by_key["matrix"].now is None and not by_key["matrix"].met
    assert "no figure: run `invoke matrix" in by_key["matrix"].source
    matrix = tmp_path / "matrix" / "20261123T101600Z-matrix-def456"
    matrix.mkdir(parents=True)
    cells = [{"box": box, "scenario": lab, "state": "passed"} for box, lab in MATRIX_CELLS]
    boxes = {box: {"built": False, "seconds": 0.0} for box, _ in MATRIX_CELLS}
    (matrix / "matrix.json").write_text(json.dumps({"jobs": 3, "seconds": 61.1, "cells": cells, "boxes": boxes}))
    # A newer run that built a box measures the build, not the matrix: never taken as the figure.
    built = tmp_path / "matrix" / "20261123T111600Z-matrix-aaa111"
    built.mkdir()
    (built / "matrix.json").write_text(json.dumps({"jobs": 3, "seconds": 132.0, "cells": cells,
                                                   "boxes": {**boxes, "debian11": {"built": True, "seconds": 70.0}}}))
    by_key = {goal.key: goal for goal in fill(goals(), results, tmp_path)}
    assert (by_key["matrix"].now, by_key["matrix"].met) == (61.1, False)
    assert by_key["matrix"].source == f"run {matrix.name}"
    assert [g.key for g in goals()] == ["userns_warm", "workshop_warm", "userns_cold", "userns_vm", "matrix",
                                        "ratio", "judge", "compare100"]
