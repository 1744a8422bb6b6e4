"""The house's lint: ruff's rules in pyproject.toml hold over the package, the tests, tasks.py and bench."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    assert ruff.exists(), "ruff is missing (./setup.sh installs it with the test extras)"
    result = subprocess.run([str(ruff), "check", "--output-format", "concise", "nslab", "tests", "tasks.py", "bench"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
