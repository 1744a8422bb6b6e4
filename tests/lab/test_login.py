"""`invoke login`: a shell on the machine a run kept, and one line when there is none to log in to."""
import subprocess

import pytest

from nslab.paths import PROJECT_ROOT

from .conftest import INVOKE, invoke

pytestmark = pytest.mark.lab


def test_login_opens_a_shell_on_the_kept_machine(userns_run):
    # What a user types into the shell, fed on stdin: vagrant ssh runs it on the machine.
    process = subprocess.run([INVOKE, "login", "--box", "debian12"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=120, input="id -un; cat /etc/nslab-box; exit\n")
    assert process.returncode == 0, process.stdout + process.stderr
    assert "login: debian12 (instance default) through `vagrant ssh`" in process.stdout
    assert "vagrant\n" in process.stdout and "nslab-box bookworm" in process.stdout


@pytest.mark.parametrize("args, said", [
    (["--box", "debian11"], "no lab machine of box debian11 is running: keep one with "
                            "`invoke up scenario=userns --destroy never`, then log in"),
    (["--instance", "no-such"], "--instance no-such: no such instance"),
    (["--box", "no-such"], "unknown box 'no-such'"),
])
def test_no_machine_to_log_in_to_is_one_line_and_exit_2(userns_run, args, said):
    process = invoke("login", *args, timeout=120)
    assert process.returncode == 2 and said in process.stderr and process.stderr.strip().count("\n") == 0, \
        process.stdout + process.stderr
