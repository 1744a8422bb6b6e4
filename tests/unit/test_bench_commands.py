from nslab.config.scenario import load_scenario
from nslab.harness.bench import raw_commands


def test_raw_column_is_the_scenarios_own_operations_without_harness():
    scenario = load_scenario("userns")
    commands = raw_commands(scenario, "daemon-json")
    restarts = [c for c in commands if "systemctl restart docker" in c]
    assert len(restarts) == len({step.mode for step in scenario.steps}) == 3
    assert '"userns-remap": "bozo"' in restarts[2]
    # One command per step, plus per mode: container cleanup and the restart (and, for
    # the root mode, removing old remapped data-roots after its restart).
    assert len(commands) == len(scenario.steps) + 2 * 3 + 1
    assert "docker run -d --name registry -p 127.0.0.1:5000:5000 nslab/registry:offline" in commands
    assert any(c.startswith("sudo sh -c 'ls -ld /var/lib/docker/*.*'") for c in commands)


def test_the_raw_column_stops_the_refused_push_as_the_scenario_does():
    push = next(c for c in raw_commands(load_scenario("userns"), "daemon-json") if "docker push" in c
                and "setsid" in c)
    assert "docker logs --since" in push and "'permission denied'" in push
