"""The watch that ends a step's command once its point is made, run by a real shell here with a
stand-in `docker` on PATH whose log says the line once the command has started."""
import os
import subprocess
import time

import pytest

from nslab.config.scenario import StopWhen
from nslab.run.stopping import take_marker, watched

STOP = StopWhen(logs="registry", contains="permission denied", within=30)


@pytest.fixture
def fake_docker(tmp_path):
    script = tmp_path / "docker"
    script.write_text("#!/bin/sh\n[ -e \"$(dirname \"$0\")/refused\" ] && "
                      "echo 'err.detail=\"filesystem: mkdir /var/lib/registry/docker: permission denied\"'\n"
                      "exit 0\n")
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}, tmp_path / "refused"


def test_the_command_is_stopped_once_the_log_holds_the_text(fake_docker):
    env, refused = fake_docker
    command = watched(f"echo pushing; sleep 0.3; touch {refused}; sleep 20; echo retried", STOP)
    started = time.monotonic()
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env, timeout=30)
    assert time.monotonic() - started < 5
    assert result.returncode == 143 and result.stdout == "pushing\n"
    stderr, stopped = take_marker(result.stderr, STOP)
    assert stderr == "" and stopped["reason"] == "the log of container 'registry' contains 'permission denied'"
    assert 0.2 <= stopped["after_seconds"] < 5


def test_a_command_that_ends_first_keeps_its_status_and_is_not_marked_stopped(fake_docker):
    env, _ = fake_docker
    result = subprocess.run(["sh", "-c", watched("echo done; echo oops >&2; exit 3", STOP)],
                            capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 3 and take_marker(result.stderr, STOP) == ("oops\n", None)
