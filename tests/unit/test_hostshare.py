"""Clones sharing a host wait for each other, in one line, and never fail for it: real processes
on real locks in a host folder of the test's own."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nslab.paths import PROJECT_ROOT

# A process that takes a hold, says so, then keeps it until the release file appears.
HOLDER = """
import sys, time
from pathlib import Path
from nslab.machines.hostshare import HOST_SERVICES, host_lock
kind, release = sys.argv[1], Path(sys.argv[2])
hold = {"lock": lambda: host_lock("box-debian12", "box debian12: another clone is building it"),
        "use": lambda: HOST_SERVICES.in_use(),
        "alone": lambda: HOST_SERVICES.exclusive()}[kind]
with hold():
    print("held", flush=True)
    while not release.exists():
        time.sleep(0.05)
"""


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setenv("NSLAB_HOST_DIR", str(tmp_path / "host"))
    monkeypatch.delenv("NSLAB_HOST_EXCLUSIVE", raising=False)
    return tmp_path


def start(kind: str, release: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, kind, str(release)], cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    return process


def wait_held(process: subprocess.Popen) -> None:
    assert process.stdout.readline().strip() == "held"


def test_a_second_builder_of_a_box_says_whom_it_waits_for_then_gets_the_lock(host):
    first = start("lock", host / "release-first")
    wait_held(first)
    second = start("lock", host / "release-second")
    line = second.stdout.readline().strip()
    assert line.startswith(f"box debian12: another clone is building it: waiting for pid {first.pid} (")
    assert line.endswith(f" in {PROJECT_ROOT})")      # the holder's clone
    (host / "release-first").touch()
    wait_held(second)                       # then it holds the lock, and has not failed
    (host / "release-second").touch()
    assert first.wait(10) == 0 and second.wait(10) == 0


def test_the_fault_that_restarts_the_host_daemon_waits_for_other_clones_work_and_new_work_waits_for_it(host):
    user = start("use", host / "release-user")
    wait_held(user)
    alone = start("alone", host / "release-alone")
    line = alone.stdout.readline().strip()
    assert line.startswith("host services: waiting for the work of other nslab processes to end: "
                           f"pid {user.pid} (")
    (host / "release-user").touch()
    wait_held(alone)
    late = start("use", host / "release-late")
    line = late.stdout.readline().strip()
    assert line.startswith(f"host services: waiting for pid {alone.pid} (")
    assert "which holds them alone" in line
    (host / "release-alone").touch()
    wait_held(late)
    (host / "release-late").touch()
    assert [p.wait(10) for p in (user, alone, late)] == [0, 0, 0]


def test_down_sees_the_host_services_in_use_by_another_process_and_free_after(host):
    from nslab.machines.hostshare import HOST_SERVICES

    user = start("use", host / "release")
    wait_held(user)
    with HOST_SERVICES.alone_if_free() as free:
        assert free is False
    assert [u["pid"] for u in HOST_SERVICES.users()] == [user.pid]
    (host / "release").touch()
    assert user.wait(10) == 0
    with HOST_SERVICES.alone_if_free() as free:
        assert free is True
    assert HOST_SERVICES.users() == []


def test_a_killed_users_record_is_not_counted(host):
    from nslab.machines.hostshare import HOST_SERVICES

    user = start("use", host / "never")
    wait_held(user)
    user.kill()
    user.wait(10)
    time.sleep(0.1)
    assert HOST_SERVICES.users() == []
    with HOST_SERVICES.alone_if_free() as free:
        assert free is True


def test_children_of_the_exclusive_holder_work_under_its_hold(host, monkeypatch):
    from nslab.machines.hostshare import EXCLUSIVE_ENV, HOST_SERVICES

    with HOST_SERVICES.exclusive():
        assert os.environ[EXCLUSIVE_ENV] == str(os.getpid())
        child = subprocess.run([sys.executable, "-c", HOLDER, "use", str(host / "go")], cwd=PROJECT_ROOT,
                               env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, capture_output=True,
                               text=True, timeout=20, input=None,
                               preexec_fn=lambda: (host / "go").touch())
        assert child.returncode == 0 and child.stdout.strip() == "held"
    assert EXCLUSIVE_ENV not in os.environ
