"""The house's lint: ruff's rules in pyproject.toml hold over the package, the tests, tasks.py and bench;
mypy's (strict on judge/, report/ and config/) over what pyproject.toml names."""
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


def test_mypy_finds_nothing():
    mypy = Path(sys.executable).parent / "mypy"
    assert mypy.exists(), "mypy is missing (./setup.sh installs it with the test extras)"
    # No arguments: the files, and the modules checked strictly, are pyproject.toml's [tool.mypy].
    result = subprocess.run([str(mypy)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
