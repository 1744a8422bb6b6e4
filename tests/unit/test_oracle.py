from nslab.connection import CommandResult
from nslab.oracle import FAIL, PASS, judge, parse_ps, resolve_uid
from nslab.scenario import Expect

# Captured from a lab machine: procps on the host, busybox inside the registry.
PROCPS = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 06:54 ?        00:00:00 /lib/systemd/systemd
vagrant      429     408  0 06:54 ?        00:00:00 /usr/bin/docker-registry serve /etc/docker/registry/config.yml
165536      1217    1200  0 06:55 ?        00:00:00 /usr/bin/docker-registry serve /etc/docker/registry/config.yml
"""
BUSYBOX = """PID   USER     COMMAND
    1 1000     /usr/bin/docker-registry serve /etc/docker/registry/config.yml
   11 1000     ps -ef
"""


def test_parses_procps_rows_with_commands_intact():
    rows = parse_ps(PROCPS)
    assert [(r["pid"], r["user"]) for r in rows] == [(1, "root"), (429, "vagrant"), (1217, "165536")]
    assert rows[1]["command"] == "/usr/bin/docker-registry serve /etc/docker/registry/config.yml"


def test_parses_busybox_rows():
    rows = parse_ps(BUSYBOX)
    assert [(r["pid"], r["user"], r["command"]) for r in rows][0] == (
        1, "1000", "/usr/bin/docker-registry serve /etc/docker/registry/config.yml")


def test_output_without_a_ps_header_gives_no_rows():
    assert parse_ps("total 0\ndrwx------ 1 root root 0 /var/lib/docker/165536.165536\n") == []


def test_user_column_resolves_through_that_sides_passwd():
    users = {"root": 0, "vagrant": 1000, "bozo": 5000}
    assert resolve_uid("vagrant", users) == 1000
    assert resolve_uid("165536", users) == 165536
    assert resolve_uid("dockremap", users) is None


def _result(code, out="", err=""):
    return CommandResult("cmd", code, out, err, 0.1)


def test_exit_and_output_checks_pass_and_fail():
    expect = Expect(exit="nonzero", output_contains="permission denied")
    ok = judge(expect, _result(1, err="filesystem: mkdir /var/lib/registry/docker: permission denied"), facts=None)
    assert [v.status for v in ok] == [PASS, PASS]
    bad = judge(expect, _result(0, out="latest: digest: sha256:abc size: 527"), facts=None)
    assert [v.status for v in bad] == [FAIL, FAIL]
    assert bad[0].observed == 0


def test_a_step_without_expectations_must_exit_zero():
    assert judge(Expect(), _result(3), facts=None)[0].status == FAIL
    assert judge(Expect(), _result(0), facts=None)[0].status == PASS


def test_exit_zero_is_judged_beside_other_expectations():
    expect = Expect(exit=0, output_contains="digest")
    assert expect.checks() == ["exit", "output_contains"]
    verdicts = judge(expect, _result(1, out="digest: sha256:abc"), facts=None)
    assert [(v.check, v.status) for v in verdicts] == [("exit", FAIL), ("output_contains", PASS)]
