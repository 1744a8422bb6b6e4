"""The speed goals `invoke bench` reports, each with its figure now, the figure before, and met or not.

Figures come from the bench's own runs, or, for work the bench does not repeat
(a VM, a matrix), from the newest passed run of it in artifacts/; a goal with no
figure says how to get one, and counts as not met.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..paths import INVOKE, PROJECT_ROOT
from ..run.layout import MANIFEST, RunView

MATRIX_CELLS = sorted((box, lab) for box in ("debian11", "debian12", "debian13") for lab in ("userns", "workshop"))


@dataclass
class Goal:
    key: str
    what: str
    limit: float
    unit: str
    before: str
    now: float | None = None
    source: str = ""

    @property
    def met(self) -> bool:
        return self.now is not None and self.now <= self.limit

    def as_dict(self) -> dict:
        return {"goal": self.what, "limit": self.limit, "unit": self.unit, "before": self.before,
                "now": self.now, "met": self.met, "source": self.source}


def goals() -> list[Goal]:
    return [
        Goal("userns_warm", "warm userns lab on a container machine", 15, "s", "64 s"),
        Goal("workshop_warm", "warm workshop lab on a container machine", 8, "s", "12–21 s"),
        Goal("userns_cold", "userns from a cached box, bring-up and destroy included", 25, "s", "70 s"),
        Goal("userns_vm", "userns on a VM already up", 90, "s", "157 s"),
        Goal("matrix", "matrix debian11,12,13 × userns,workshop, --jobs 3, cached boxes", 45, "s", "104 s"),
        Goal("ratio", "nslab over the raw operations of the same scenario", 1.05, "×", "1.03×"),
        Goal("judge", "invoke judge of one run", 0.5, "s", "0.8 s"),
        Goal("compare100", "invoke compare over 100 runs", 3, "s", "5.7 s"),
    ]


def newest_vm_run(artifacts: Path) -> tuple[float, str] | None:
    """Seconds of the newest passed userns run on a VM, bring-up and destroy left out."""
    for manifest_path in sorted(artifacts.glob(f"*/{MANIFEST}"), reverse=True):
        try:
            manifest = RunView(manifest_path.parent).manifest
        except (OSError, ConfigError):
            continue
        machines = list(manifest.machines.values())
        if manifest.scenario == "userns" and manifest.status == "passed" and len(machines) == 1 \
                and machines[0].provider == "libvirt" and manifest.seconds is not None:
            # The run's own seconds end before a destroy; the bring-up is left out.
            return manifest.seconds - (machines[0].up_seconds or 0), manifest_path.parent.name
    return None


def boxes_all_cached(matrix: dict) -> bool:
    """Whether every box of a matrix run was found built (a run that built one measures the build).
    A run from before boxes were recorded cannot say, and is not taken."""
    boxes = matrix.get("boxes")
    return bool(boxes) and not any(box["built"] for box in boxes.values())


def newest_matrix(artifacts: Path) -> tuple[float, str] | None:
    """Seconds of the newest passed --jobs 3 matrix of exactly the goal's cells, all boxes cached."""
    for path in sorted((artifacts / "matrix").glob("*/matrix.json"), reverse=True):
        data = json.loads(path.read_text())
        cells = sorted((c["box"], c["scenario"]) for c in data["cells"])
        if cells == MATRIX_CELLS and data["jobs"] == 3 and boxes_all_cached(data) \
                and all(c["state"] == "passed" for c in data["cells"]):
            return data["seconds"], path.parent.name
    return None


def _timed(command: list[str], times: int) -> float:
    seconds = []
    for _ in range(times):
        started = time.monotonic()
        subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, check=True, stdin=subprocess.DEVNULL)
        seconds.append(time.monotonic() - started)
    return statistics.median(seconds)


def offline_figures(run: Path, times: int = 5) -> dict[str, float]:
    """`invoke judge` of the run, and `invoke compare` of 100 copies of it: the commands as typed."""
    judge = _timed([INVOKE, "judge", "--run", str(run)], times)
    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder) / "runs"
        for number in range(100):
            shutil.copytree(run, runs / f"{number:03d}-{run.name}", symlinks=True)
        compare = _timed([INVOKE, "compare", "--runs", str(runs), "--out", str(Path(folder) / "out")], 3)
    return {"judge": judge, "compare100": compare}


def fill(found: list[Goal], results: dict, artifacts: Path) -> list[Goal]:
    """Each goal's figure from the bench's results and the newest runs in artifacts/."""
    by_key = {goal.key: goal for goal in found}
    scenario = results["scenario"]
    warm = {scenario: results["nslab"]["median"], **{name: spread["median"]
                                                      for name, spread in results.get("warm", {}).items()}}
    for key, lab in (("userns_warm", "userns"), ("workshop_warm", "workshop")):
        if lab in warm:
            by_key[key].now, by_key[key].source = warm[lab], "this bench"
    if scenario == "userns":
        by_key["userns_cold"].now, by_key["userns_cold"].source = results["nslab_cold"]["median"], "this bench"
    by_key["ratio"].now, by_key["ratio"].source = results["ratios"]["nslab_over_raw"], "this bench"
    for key in ("judge", "compare100"):
        if key in results.get("offline", {}):
            by_key[key].now, by_key[key].source = results["offline"][key], "this bench"
    for key, newest, how in (
            ("userns_vm", newest_vm_run(artifacts),
             "run `invoke up scenario=userns --box debian12 --provider libvirt` first"),
            ("matrix", newest_matrix(artifacts),
             "run `invoke matrix --boxes debian11,debian12,debian13 --scenarios userns,workshop --jobs 3` "
             "with its boxes built first")):
        if newest:
            by_key[key].now, by_key[key].source = newest[0], f"run {newest[1]}"
        else:
            by_key[key].source = f"no figure: {how}"
    return found
