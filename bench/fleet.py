"""The fleet goal (#23): three existing hosts (Docker 20.10.5, 20.10.24, 26.1.5) run `userns` in one
`invoke matrix` within 1.6x the time of one host. Prints the figures; exits 1 when the goal is missed.
   .venv/bin/python bench/fleet.py [--repeat N]
The hosts are containers started with plain `docker run` from the debian11/12/13 box images
(nslab/harness/containerhosts.py), removed afterwards. Each `invoke` is timed whole, as a user waits
for it."""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nslab.harness.containerhosts import ContainerHosts  # noqa: E402

INVOKE = str(ROOT / ".venv" / "bin" / "invoke")
GOAL = 1.6


def timed(*args: str, artifacts: Path) -> float:
    started = time.monotonic()
    result = subprocess.run([INVOKE, *args], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "NSLAB_ARTIFACTS": str(artifacts)})
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"fleet: invoke {' '.join(args[:2])} exited {result.returncode}:\n{result.stdout[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory(prefix="nslab-fleet-") as folder:
        hosts = ContainerHosts(Path(folder))
        try:
            fleet = [hosts.start(box, f"bench-{box}") for box in ("debian11", "debian12", "debian13")]
            artifacts = Path(folder) / "artifacts"
            # The host keys recorded once, outside the figures.
            timed("matrix", "--scenarios", "userns", "--jobs", "3", *hosts.args(*fleet), "--accept-new-host-key",
                  artifacts=artifacts)
            one, three = [], []
            for _ in range(repeat):
                one.append(timed("up", "scenario=userns", *hosts.args(fleet[1]), artifacts=artifacts))
                three.append(timed("matrix", "--scenarios", "userns", "--jobs", "3", *hosts.args(*fleet),
                                   artifacts=artifacts))
        finally:
            hosts.remove_all()
    ratio = statistics.median(three) / statistics.median(one)
    print(f"one host (debian12, up userns):        median {statistics.median(one):.1f}s of "
          f"{[round(s, 1) for s in one]}")
    print(f"three hosts (matrix userns --jobs 3):  median {statistics.median(three):.1f}s of "
          f"{[round(s, 1) for s in three]}")
    print(f"fleet of three / one host: {ratio:.2f}x (goal <= {GOAL}x): {'met' if ratio <= GOAL else 'MISSED'}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
