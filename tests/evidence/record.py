"""Records the real runs the unit tests judge: whole run directories, copied as they are.

    .venv/bin/python tests/evidence/record.py RUN NAME   copy one run (id under artifacts/ or a path)
    .venv/bin/python tests/evidence/record.py --fresh    run the labs below on the debian12
                                                         container machine, then copy each run

Each copy keeps its manifest (with every file's digest), its scenario and every
step's facts, so `judge_run` re-derives its verdicts exactly as `invoke judge` does.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
LABS = {"userns-debian12": "userns", "workshop-debian12": "workshop",
        "own-userns-debian12": "tests/scenarios/own-userns.yaml", "ownership-debian12": "ownership",
        "capabilities-debian12": "capabilities", "isolation-debian12": "isolation",
        "hardening-debian12": "hardening"}


def copy_run(run: str, name: str) -> Path:
    source = Path(run) if Path(run).is_dir() else PROJECT / "artifacts" / run
    source = source.resolve()
    if not (source / "manifest.json").is_file():
        sys.exit(f"record.py: {run} is not a run (no manifest.json)")
    target = HERE / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("report.*", "junit.xml",
                                                                                  "judgement.json"))
    print(f"recorded {source.name} as {target.relative_to(PROJECT)}")
    return target


def fresh() -> None:
    invoke = str(Path(sys.executable).parent / "invoke")
    for name, scenario in LABS.items():
        subprocess.run([invoke, "up", f"scenario={scenario}", "--destroy", "never"], cwd=PROJECT, check=True)
        copy_run(str(PROJECT / "artifacts" / "latest"), name)


if __name__ == "__main__":
    if sys.argv[1:] == ["--fresh"]:
        fresh()
    elif len(sys.argv) == 3:
        copy_run(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
