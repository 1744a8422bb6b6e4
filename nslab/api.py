"""What the Invoke tasks call: bring machines up, run labs, report, tear down."""
from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .artifacts import RunDir
from .box import build_box
from .connection import Remote
from .daemon import config_style
from .errors import ConfigError, MachineError, NslabError
from .hostdocker import ensure_host_docker, stop_own_daemon
from .lab import Box, load_lab
from .machines import VagrantMachine
from .paths import artifacts_dir
from .report import print_outcomes
from .runner import MachineRun, StepOutcome
from .scenario import load_scenario

DESTROY_POLICIES = {
    "on-error": "destroy only when the run broke (error, Ctrl-C); keep it after a completed run",
    "always": "destroy after the run",
    "never": "keep the machine whatever happens",
    "passing": "destroy when every verdict passed; keep a failing machine to inspect",
}

# Piped output (CI logs, files) gets a table wide enough to read.
console = Console(highlight=False, width=None if Console().is_terminal else 160)


def log(text: str) -> None:
    console.print(text, markup=False, soft_wrap=True)


def parse_boxes(text: str | None, lab) -> list[Box]:
    names = [n.strip() for n in (text or "").split(",") if n.strip()] or list(lab.boxes)[:1]
    return [lab.box(name) for name in names]


def build(box_names: str | None = None, force: bool = False) -> list[dict]:
    lab = load_lab()
    boxes = parse_boxes(box_names, lab) if box_names else list(lab.boxes.values())
    url = ensure_host_docker(log)
    return [build_box(box, url, force=force, log=log) for box in boxes]


def up(scenario_name: str, box_names: str | None = None, destroy: str = "on-error") -> int:
    """Runs a scenario on fresh or running machines. Returns the process exit status."""
    if destroy not in DESTROY_POLICIES:
        raise ConfigError(f"--destroy {destroy}: expected one of {', '.join(DESTROY_POLICIES)}")
    scenario = load_scenario(scenario_name)
    lab = load_lab()
    boxes = parse_boxes(box_names, lab)
    styles = {box.name: config_style(box.config_style) for box in boxes}

    started = time.monotonic()
    url = ensure_host_docker(log)
    for box in boxes:
        build_box(box, url, log=log)
    run = RunDir.create(artifacts_dir(), scenario.name, destroy_policy=destroy,
                        scenario_file=str(scenario.path))
    log(f"run {run.run_id}: artifacts in {run.path}")
    outcomes: list[StepOutcome] = []
    machines: list[VagrantMachine] = []
    status = "error"
    try:
        for box in boxes:
            machine = VagrantMachine(box, url, log_dir=run.path / box.name)
            machines.append(machine)
            outcomes += _run_on(machine, box, scenario, run, styles[box.name], lab.known_limits(box))
        # Environment-limited steps are not failures of the lab, and not passes either.
        judged_ok = {"pass", "environment-limited"}
        status = "passed" if outcomes and all(o.status in judged_ok for o in outcomes) else "failed"
        broke = any(o.status in ("error", "not-run") for o in outcomes)
    except KeyboardInterrupt:
        status, broke = "interrupted", True
        log("interrupted: keeping the artifacts written so far")
    except NslabError as exc:
        status, broke = "error", True
        run.manifest["error"] = str(exc)
        log(f"error: {exc}")
    finally:
        run.manifest["seconds"] = round(time.monotonic() - started, 1)
        run.finish(status)
        if outcomes:
            print_outcomes(console, outcomes, f"{scenario.name}: {scenario.title}")
        _dispose(machines, destroy, status, broke)
        log(f"run {run.run_id}: {status} ({run.manifest['seconds']}s); artifacts in {run.path}")
    if status == "interrupted":
        return 130
    return 0 if status == "passed" else 1


def _run_on(machine: VagrantMachine, box: Box, scenario, run: RunDir, style,
            known_limits) -> list[StepOutcome]:
    record = run.machine(box.name)
    record.update({"box": box.name, "distro": box.distro, "provider": box.provider,
                   "config_style": style.name, "lab_images": box.lab_images, "status": "starting"})
    run.save_manifest()
    log(f"[{box.name}] vagrant up ({box.provider})")
    record["up_seconds"] = round(machine.up(log=log), 1)
    endpoint = machine.ssh_endpoint()
    # The key's path, never its content, goes into the artifacts.
    record["ssh"] = {"host": endpoint.host, "port": endpoint.port, "user": endpoint.user,
                     "key_file": endpoint.key_file}
    remote = Remote(endpoint).open()
    try:
        version = remote.docker.version()
        record.update({
            "os": remote.check("sh -c '. /etc/os-release && echo \"$PRETTY_NAME\"'").strip(),
            "kernel": remote.check("uname -r").strip(),
            "docker_version": version.get("Version"),
            "docker_api_version": version.get("ApiVersion"),
            "status": "running",
        })
        run.save_manifest()
        outcomes = MachineRun(scenario, run, box.name, remote, style, box.lab_images,
                              known_limits=known_limits, log=log).execute()
        record["status"] = "done"
        run.save_manifest()
        return outcomes
    finally:
        remote.close()


def _dispose(machines: list[VagrantMachine], policy: str, status: str, broke: bool) -> None:
    destroy = {"always": True, "never": False, "passing": status == "passed", "on-error": broke}[policy]
    for machine in machines:
        if destroy:
            try:
                machine.destroy(log=log)
            except MachineError as exc:
                log(f"error: {exc}")
        else:
            log(f"[{machine.name}] kept running (--destroy {policy}); `invoke down` removes it")


def compare(runs: str | None = None, baseline: str | None = None, out: str | None = None) -> int:
    """Compares runs (default: the latest); with a baseline, exits 1 when any fact drifted."""
    from . import compare as comparing
    from .artifacts import new_run_id
    from .reports import print_comparison, write_reports

    specs = [r.strip() for r in (runs or "").split(",") if r.strip()]
    run_paths = comparing.resolve_runs(specs, artifacts_dir())
    baseline_paths = comparing.resolve_runs([b.strip() for b in baseline.split(",")], artifacts_dir()) \
        if baseline else []
    comparison = comparing.build(run_paths)
    changes = comparing.drift(comparison, comparing.build(baseline_paths)) if baseline_paths else []
    if out:
        folder = Path(out)
    elif len(run_paths) == 1:
        folder = run_paths[0]          # beside the run it describes
    else:
        folder = artifacts_dir() / "compare" / new_run_id("compare")
    print_comparison(console, comparison, changes)
    for path in write_reports(comparison, changes, folder):
        log(f"wrote {path}")
    if baseline_paths:
        log(f"drift against {', '.join(p.name for p in baseline_paths)}: "
            f"{len(changes)} changed fact(s)" if changes else "no drift against the baseline")
    return 1 if changes else 0


def down(box_names: str | None = None, host_daemon: bool = False) -> int:
    lab = load_lab()
    boxes = parse_boxes(box_names, lab) if box_names else list(lab.boxes.values())
    url = ensure_host_docker(log)
    failures = 0
    for box in boxes:
        machine = VagrantMachine(box, url)
        try:
            if machine.status() == "not_created":
                log(f"[{box.name}] not created")
                continue
            machine.destroy(log=log)
        except MachineError as exc:
            failures += 1
            log(f"error: {exc}")
    if host_daemon and stop_own_daemon():
        log("host docker: nslab's own daemon stopped")
    return 1 if failures else 0


def status() -> int:
    lab = load_lab()
    url = ensure_host_docker(log)
    table = Table(title="nslab machines")
    for column in ("machine", "distro", "provider", "state", "ssh", "docker", "daemon mode"):
        table.add_column(column)
    for box in lab.boxes.values():
        machine = VagrantMachine(box, url)
        state = machine.status()
        ssh = docker_version = mode = "-"
        if state == "running":
            endpoint = machine.ssh_endpoint()
            ssh = f"{endpoint.user}@{endpoint.host}:{endpoint.port}"
            remote = Remote(endpoint).open(attempts_until=10)
            try:
                docker_version = remote.docker.version().get("Version", "?")
                mode = describe_mode(config_style(box.config_style).read(remote), remote.docker.info())
            finally:
                remote.close()
        table.add_row(box.name, box.distro, box.provider, state, ssh, docker_version, mode)
    console.print(table)
    return 0


def describe_mode(options: dict | None, info: dict) -> str:
    remap = (options or {}).get("userns-remap")
    userns = any("name=userns" in o for o in info.get("SecurityOptions") or [])
    if remap:
        return f"userns-remap={remap}" + ("" if userns else " (configured, not active)")
    return "standard (root)" + (" but userns is active" if userns else "")
