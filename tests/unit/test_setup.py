"""setup.sh when apt-get fails: one clear failure with the installer's own words, and the policy-rc.d
it added (so packages start no services) removed again: left behind, it would keep every later
package's services from starting."""
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare (util-linux) not found")
def test_a_failing_apt_get_is_shown_and_leaves_no_policy_rc_d(tmp_path):
    shutil.copy(PROJECT / "setup.sh", tmp_path / "setup.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Every package missing, and an apt-get that fails the way a broken mirror makes it fail.
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "apt-get").write_text(f"#!/bin/sh\n[ -x /usr/sbin/policy-rc.d ] && echo present > {tmp_path}/seen\n"
                                     "echo 'E: Failed to fetch (a test of setup.sh)' >&2\nexit 100\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    # In a mount namespace of its own, /usr/sbin is an empty folder (a host may ship a policy-rc.d of its
    # own, which setup.sh leaves alone): whatever setup.sh puts there is seen, and nothing of the host's touched.
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    script = f"mount --bind {sbin} /usr/sbin && exec sh {tmp_path / 'setup.sh'}"
    process = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                             capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                             env={"PATH": f"{bin_dir}:/usr/bin:/sbin:/bin"})
    assert process.returncode == 1, process.stdout + process.stderr
    assert "setup: installing Debian packages:" in process.stdout
    assert "setup: failed: apt-get update -qq" in process.stderr
    assert "E: Failed to fetch (a test of setup.sh)" in process.stderr
    assert (tmp_path / "seen").read_text() == "present\n"      # there while apt-get ran...
    assert list(sbin.iterdir()) == []                           # ...and removed as it failed
    assert "E: Failed to fetch" in (tmp_path / ".nslab/logs/setup.log").read_text()
