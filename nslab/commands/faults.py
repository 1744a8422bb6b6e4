"""`invoke faults`: injects real faults and bad inputs; exits 0 only when every one was survived cleanly."""
from __future__ import annotations

from ..machines.inventory import load_lab
from ..paths import artifacts_dir
from .common import console, log, using_host_services


@using_host_services
def execute() -> int:
    from ..harness.faults import FaultSuite, print_summary
    from ..machines.boxes import build_box
    from ..machines.hostdocker import ensure_host_docker
    from ..run.layout import new_run_id, write_json

    lab = load_lab()
    url = ensure_host_docker(log)
    build_box(lab.box("debian12"), url, log=log)
    summary = FaultSuite(lab, url, log=log).run()
    data = summary.as_dict()
    path = artifacts_dir() / "faults" / f"{new_run_id('faults')}.json"
    write_json(path, data)
    print_summary(summary, console)
    log(f"summary in {path}")
    return 0 if summary.clean else 1
