"""What the Invoke tasks call: bring machines up, run labs, judge, report, tear down.

Each task imports the layers it needs when it runs: `judge` and `compare` read
run directories only and never load the SSH stack (Fabric, paramiko), Vagrant
or the docker SDK.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .config.lab import Box, load_lab
from .config.options import DESTROY_POLICIES
from .config.scenario import load_scenario
from .errors import ConfigError, MachineError, NslabError
from .paths import PROJECT_ROOT, artifacts_dir

console = Console(highlight=False, width=None if Console().is_terminal else 160)


def log(text: str) -> None:
    console.print(text, markup=False, soft_wrap=True)


def using_host_services(command):
    """A command that works with the host daemon or libvirtd holds them in use while it runs: the
    one fault that restarts them for every clone waits for it, and it waits for that fault."""
    @functools.wraps(command)
    def holding(*args, **kwargs):
        from .machines.hostshare import HOST_SERVICES
        with HOST_SERVICES.in_use(log):
            return command(*args, **kwargs)
    return holding


def parse_boxes(text: str | None, lab, provider: str | None = None, hosts: HostTargets | None = None) -> list[Box]:
    """--box names (default: the first default box), then the existing hosts of --host."""
    from .config.lab import existing_hosts
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    if hosts is not None and hosts.spec:
        return ([lab.box(name, provider) for name in names] +
                existing_hosts(hosts.spec, hosts.identity, hosts.known_hosts))
    return [lab.box(name, provider) for name in names or lab.default_boxes[:1]]


@dataclass(frozen=True)
class HostTargets:
    """--host USER@HOST[:PORT],... with --identity FILE, and what the run may do there."""
    spec: str | None = None
    identity: str | None = None
    known_hosts: str | None = None
    accept_new_host_key: bool = False
    allow_disruption: bool = False

    def options(self):
        from .run.lab import HostOptions
        return HostOptions(self.accept_new_host_key, self.allow_disruption)


def parse_scenarios(text: str | None) -> list:
    return [load_scenario(name) for name in (n.strip() for n in (text or "userns").split(",")) if name]


def _check_provider(provider: str | None) -> None:
    from .machines.providers import PROVIDERS
    if provider is not None and provider not in PROVIDERS:
        raise ConfigError(f"--provider {provider}: expected one of {', '.join(PROVIDERS)}")


@using_host_services
def build(box_names: str | None = None, force: bool = False, provider: str | None = None) -> int:
    """Builds the named boxes, or every box built here; Vagrant Cloud boxes have nothing to build."""
    from .machines.boxes import build_box
    from .machines.hostdocker import ensure_host_docker

    _check_provider(provider)
    lab = load_lab()
    if box_names:
        boxes = parse_boxes(box_names, lab, provider)
    else:
        boxes = [b for b in lab.boxes.values() if b.built_here and provider in (None, b.provider)]
        if not boxes:
            raise ConfigError(f"--provider {provider}: no box of lab.yaml is built here for it "
                              f"(its boxes come from Vagrant Cloud)")
    for box in boxes:
        if not box.built_here:
            raise ConfigError(f"box {box.name} comes from Vagrant Cloud ({box.vagrant_box}): "
                              f"there is nothing to build")
    url = ensure_host_docker(log)
    for box in boxes:
        build_box(box, url, force=force, log=log)   # raises with the build log's path on failure
    return 0


def _check_destroy(destroy: str) -> None:
    if destroy not in DESTROY_POLICIES:
        raise ConfigError(f"--destroy {destroy}: expected one of {', '.join(DESTROY_POLICIES)}")


@using_host_services
def up(scenario_name: str, box_names: str | None = None, destroy: str = "on-error",
       instance_name: str | None = None, allow_live_user: bool = False, provider: str | None = None,
       prove: bool = False, hosts: HostTargets = HostTargets(), docker_packages: str | None = None) -> int:
    """Runs a scenario on fresh or running machines. Returns the process exit status.
    With `prove`, the run is then mutation-proved as `invoke judge --mutate` does."""
    from .machines.base import DEFAULT_INSTANCE, Instance, free_loopback_port
    from .machines.boxes import build_box
    from .report.table import print_outcomes
    from .run.lab import run_lab

    _check_destroy(destroy)
    _check_provider(provider)
    scenario = load_scenario(scenario_name)
    lab = load_lab()
    boxes = parse_boxes(box_names, lab, provider, hosts)
    if docker_packages:
        boxes = _with_docker_packages(boxes, docker_packages)
    # A port nslab chose free, even for the default instance: another clone may be creating a
    # machine at this moment, and Vagrant's 2222 would race it.
    instance = Instance(instance_name or DEFAULT_INSTANCE.name, ssh_port=free_loopback_port())
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", instance.name):
        raise ConfigError(f"--instance {instance.name}: use lowercase letters, digits and dashes")
    for box in boxes:
        reason = box.unavailable_reason()
        if reason:
            raise ConfigError(f"box {box.name} is not available here: {reason}")
    url = _host_docker_for(boxes)
    for box in boxes:
        build_box(box, url, log=log)
    try:
        result = run_lab(scenario, lab, boxes, destroy, url, instance=instance, log=log,
                         allow_live_user=allow_live_user, hosts=hosts.options())
    except KeyboardInterrupt:
        return 130
    if result.outcomes:
        print_outcomes(console, result.outcomes, f"{scenario.name}: {scenario.title}")
    log(f"run {result.run_path.name}: {result.status} ({result.seconds}s); artifacts in {result.run_path}")
    for name, why in result.unrestored.items():
        log(f"{name}: NOT left as found: {why}")
    if prove and result.outcomes:
        from .judge.run import judge_run

        judgement = judge_run(result.run_path)
        proof = _prove(judgement)
        _write_judgement(judgement, proof)
        if proof.unshown:
            return max(result.exit_code, 1)
    return result.exit_code


def _host_docker_for(boxes: list[Box]) -> str:
    """The host daemon's URL, started if need be; existing hosts alone need none of this host's services."""
    from .machines.hostdocker import ensure_host_docker
    from .machines.providers import PROVIDERS
    if all(PROVIDERS[box.provider].existing_host for box in boxes):
        return ""
    return ensure_host_docker(log)


def _with_docker_packages(boxes: list[Box], folder: str) -> list[Box]:
    """The boxes that install Docker take it from this folder of .deb files."""
    path = Path(folder).expanduser()
    if not path.is_dir() or not any(path.glob("*.deb")):
        raise ConfigError(f"--docker-packages {folder}: expected a folder of .deb files")
    if not any(box.docker == "install" for box in boxes):
        raise ConfigError(f"--docker-packages: none of {', '.join(b.name for b in boxes)} installs Docker "
                          f"(lab.yaml: docker: install)")
    return [box.model_copy(update={"docker_packages": str(path.resolve())}) if box.docker == "install" else box
            for box in boxes]


@using_host_services
def matrix(box_names: str | None, scenario_names: str | None, jobs: int = 3,
           continue_on_failure: bool = False, destroy: str = "always", hosts: HostTargets = HostTargets()) -> int:
    """Every lab on every box, cells in parallel; ends with one comparison of all of them."""
    from .report import compare as comparing
    from .report.formats import print_comparison, write_reports
    from .run.matrix import NOT_AS_FOUND, Matrix

    _check_destroy(destroy)
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: expected 1 or more")
    lab = load_lab()
    boxes = parse_boxes(box_names, lab, hosts=hosts) if box_names or hosts.spec \
        else [lab.box(n) for n in lab.default_boxes]
    scenarios = parse_scenarios(scenario_names)
    url = _host_docker_for(boxes)
    grid = Matrix(lab, [(box, scenario) for box in boxes for scenario in scenarios], jobs, continue_on_failure,
                  destroy, url, console, hosts.options())
    try:
        summary = grid.run()
    except KeyboardInterrupt:
        return 130
    runs = [Path(c["run"]) for c in summary["cells"] if c["run"]]
    if runs:
        comparison = comparing.build(runs)
        print_comparison(console, comparison, [])
        for path in write_reports(comparison, [], grid.folder):
            log(f"wrote {path}")
    failed = [c for c in summary["cells"] if c["state"] not in ("passed", "not available here")]
    unrestored = [c for c in failed if c["detail"].startswith(NOT_AS_FOUND)]
    log(f"matrix {summary['matrix_id']}: {len(summary['cells'])} cells, {len(failed)} not passed, "
        f"{summary['seconds']}s with --jobs {jobs}; summary in {grid.folder / 'matrix.json'}")
    return 2 if unrestored else 1 if failed else 0


@using_host_services
def nightly(box_names: str | None = None, scenario_names: str | None = None, jobs: int | None = None,
            keep: int | None = None, folder: str | None = None, from_runs: str | None = None) -> int:
    """Runs the night's cells (lab.yaml's `nightly:`, or --boxes × --scenarios), keeps them as a night,
    compares it with the newest earlier night; exits 1 when a verdict turned or a fact drifted, 2 when
    evidence does not hold."""
    import shutil
    from datetime import datetime

    from .report import compare as comparing
    from .report import nights

    lab = load_lab()
    settings = lab.nightly
    jobs, keep = jobs or settings.jobs, keep or settings.keep
    if jobs < 1 or keep < 1:
        raise ConfigError(f"--jobs {jobs} --keep {keep}: expected 1 or more")
    root = Path(folder) if folder else artifacts_dir() / "nightly"
    earlier = nights.kept_nights(root)        # read first: a damaged night is named before any work
    if from_runs:
        runs, planned = comparing.resolve_runs([from_runs], artifacts_dir()), []
    else:
        cells = _nightly_cells(lab, box_names, scenario_names)
        runs, planned = _run_cells(lab, cells, jobs)
    night_path = nights.new_night_folder(root, datetime.now(UTC))
    for run in runs:
        shutil.copytree(run, night_path / "runs" / run.name, symlinks=True)
    baseline = earlier[-1] if earlier else None
    night = nights.record_night(night_path, planned, baseline)
    _print_night(night, baseline)
    for name in nights.prune(root, keep):
        log(f"nightly: removed night {name} (keeping {keep})")
    if night.record["evidence_problems"]:
        return 2
    failed = [c for c in night.record["cells"] if c["state"] not in ("passed", "not available here")]
    return 1 if night.changes or (baseline is None and failed) else 0


def _nightly_cells(lab, box_names: str | None, scenario_names: str | None) -> list:
    if box_names or scenario_names:
        groups = [(parse_boxes(box_names, lab), parse_scenarios(scenario_names))]
    else:
        if not lab.nightly.cells:
            raise ConfigError("lab.yaml has no nightly: cells (or give --boxes and --scenarios)")
        groups = [([lab.box(n) for n in group.boxes], [load_scenario(n) for n in group.scenarios])
                  for group in lab.nightly.cells]
    cells = []
    for boxes, scenarios in groups:
        cells += [(box, scenario) for box in boxes for scenario in scenarios
                  if (box, scenario) not in cells]
    return cells


def _run_cells(lab, cells: list, jobs: int) -> tuple[list[Path], list[dict]]:
    from .machines.hostdocker import ensure_host_docker
    from .run.matrix import Matrix

    url = ensure_host_docker(log)
    grid = Matrix(lab, cells, jobs, continue_on_failure=True, destroy="always", docker_url=url, console=console)
    summary = grid.run()
    return [Path(c["run"]) for c in summary["cells"] if c["run"]], summary["cells"]


def _print_night(night, baseline) -> None:
    from rich.markup import escape

    from .report.nights import verdicts_of

    for cell in night.record["cells"]:
        log(f"  {cell['cell']}: {cell['state']} ({verdicts_of(cell)})")
    for problem in night.record["evidence_problems"]:
        console.print(f"[bold red]evidence does not hold[/] {escape(problem)}", soft_wrap=True)
    if baseline is None:
        log(f"night {night.name}: no baseline yet (the first night kept in {night.path.parent})")
    elif night.changes:
        for change in night.changes:
            console.print(f"[bold red]changed[/] {escape(change['text'])}", soft_wrap=True)
        log(f"night {night.name}: {len(night.changes)} change(s) since {baseline.name}")
    else:
        log(f"night {night.name}: no change since {baseline.name}")
    log(f"night kept in {night.path} (summary.md, report/)")


def history(folder: str | None = None, out: str | None = None) -> int:
    """One page over the kept nights: cells × nights, drift marked, each change at its first night."""
    from .report import history as pages
    from .report import nights
    from .run.layout import write_atomic

    root = Path(folder) if folder else artifacts_dir() / "nightly"
    kept = nights.kept_nights(root)
    if not kept:
        raise ConfigError(f"{root}: no night kept there (invoke nightly keeps one)")
    html_path = Path(out) if out else root / "history.html"
    write_atomic(html_path, pages.render_html(kept, html_path))
    md_path = html_path.with_suffix(".md")
    write_atomic(md_path, pages.render_markdown(kept, md_path))
    log(f"history of {len(kept)} night(s): wrote {html_path} and {md_path}")
    return 0


def docs(out: str | None = None) -> int:
    """Builds the documentation site (docs/, mkdocs.yml) with `mkdocs build --strict`: a broken link or
    anchor, a nav entry without its page or a page left out of the nav fails it, each warning named."""
    import subprocess
    import sys

    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        raise ConfigError(f"{mkdocs} not found: ./setup.sh installs it (the docs extra of pyproject.toml)")
    site = Path(out).resolve() if out else PROJECT_ROOT / ".nslab" / "site"
    try:
        done = subprocess.run([str(mkdocs), "build", "--strict", "--config-file", str(PROJECT_ROOT / "mkdocs.yml"),
                               "--site-dir", str(site)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=300)
    except subprocess.TimeoutExpired:
        log("docs: mkdocs build did not finish within 300 s")
        return 1
    if done.returncode != 0:
        said, within, output = [], False, "\n".join((done.stderr, done.stdout))   # warnings, then the verdict
        for line in output.splitlines():
            # A warning's own indented lines (the pages the nav leaves out) follow it.
            within = line.startswith(("WARNING", "ERROR", "Error", "Aborted")) or (within and line[:1].isspace())
            if within:
                said.append(line)
        for line in said or output.strip().splitlines()[-20:]:
            log(line)
        log(f"docs: mkdocs build --strict failed (exit {done.returncode})")
        return 1
    shown = site.relative_to(PROJECT_ROOT) if site.is_relative_to(PROJECT_ROOT) else site
    pages = sum(1 for _ in site.rglob("index.html"))
    log(f"docs: {pages} pages built in {shown}/ (mkdocs --strict): open {shown / 'index.html'}")
    return 0


@using_host_services
def faults() -> int:
    """Injects real faults and bad inputs; exits 0 only when every one was survived cleanly."""
    from .harness.faults import FaultSuite, print_summary
    from .machines.boxes import build_box
    from .machines.hostdocker import ensure_host_docker
    from .run.layout import new_run_id, write_json

    lab = load_lab()
    url = ensure_host_docker(log)
    build_box(lab.box("debian12"), url, log=log)
    summary = FaultSuite(lab, url, log=log).run()
    data = summary.as_dict()
    path = artifacts_dir() / "faults" / f"{new_run_id('faults')}.json"
    write_json(path, data)
    print_summary(summary, console)
    log(f"summary in {path}")
    clean = (data["faults_survived"] == data["faults_injected"] and data["faults_not_injected"] == 0
             and data["artifacts_lost"] == 0
             and data["machines_left_behind"] == 0
             and data["bad_inputs_rejected_cleanly"] == data["bad_inputs_tried"])
    return 0 if clean else 1


@using_host_services
def bench(scenario_name: str = "userns", repeat: int = 5, out: str | None = None) -> int:
    """Measures nslab against the raw operations and `vagrant ssh -c`; prints ratios, writes JSON + PNG."""
    from .harness.bench import Bench, matrix_figures, write_results
    from .harness.benchtable import goals_table, measures_table, profile_lines
    from .harness.goals import fill, goals
    from .machines.boxes import build_box
    from .machines.hostdocker import ensure_host_docker

    if repeat < 1:
        raise ConfigError(f"--repeat {repeat}: expected 1 or more")
    scenario = load_scenario(scenario_name)
    lab = load_lab()
    url = ensure_host_docker(log)
    build_box(lab.box(lab.default_boxes[0]), url, log=log)
    results = Bench(lab, scenario, url, repeat, log=log).run()
    results["matrix"] = matrix_figures(artifacts_dir())
    results["goals"] = [goal.as_dict() for goal in fill(goals(), results, artifacts_dir())]
    json_path, png_path = write_results(results, Path(out) if out else PROJECT_ROOT / "bench")
    console.print(measures_table(results))
    for line in profile_lines(results):
        log(line)
    console.print(goals_table(results["goals"]))
    met = sum(goal["met"] for goal in results["goals"])
    log(f"{met} of {len(results['goals'])} goals met; wrote {json_path} and {png_path}")
    return 0


def judge(run: str | None = None, write: bool = False, mutate: bool = False) -> int:
    """Judges a run again from its artifacts alone; exits 0 / 1 like `up`, 2 when evidence changed.
    With `mutate`, every passed check must also turn to fail on mutated copies of its evidence (else 1)."""
    from .judge.run import judge_run
    from .report.compare import resolve_runs
    from .report.table import print_outcomes
    from .run.layout import RunView

    specs = [run] if run else []
    paths = resolve_runs(specs, artifacts_dir())
    if len(paths) != 1:
        raise ConfigError(f"'{run}' holds {len(paths)} runs: name one of them")
    try:
        judgement = judge_run(paths[0])
    except ConfigError:
        # Unreadable (a damaged scenario copy, say): still name what changed since the run.
        for problem in RunView(paths[0]).verify().problems():
            console.print(f"[bold red]evidence changed[/] {problem}", soft_wrap=True)
        raise
    print_outcomes(console, judgement.steps, f"{judgement.view.scenario_name}: judged again from "
                                            f"{judgement.view.run_id}")
    for problem in judgement.integrity.problems():
        console.print(f"[bold red]evidence changed[/] {problem}", soft_wrap=True)
    for step in judgement.disagreements:
        where = f"{step.ref.machine} {step.ref.mode}/{step.number:02d}-{step.ref.step_id}"
        for problem in step.attempt_problems or [f"recorded {step.recorded_status}, judged {step.status} "
                                                 f"from the evidence now"]:
            log(f"disagrees with the run: {where}: {problem}")
    if judgement.integrity.ok and not judgement.disagreements:
        log(f"run {judgement.view.run_id}: {judgement.status}; every verdict agrees with the run's own")
    code = judgement.exit_code
    proof = _prove(judgement) if mutate else None
    if proof is not None and proof.unshown:
        code = max(code, 1)
    if write:
        _write_judgement(judgement, proof)
    return code


def _prove(judgement):
    """Mutation proof of a judged run, printed per lab; every check that stayed green named."""
    from .judge.prove import prove_run

    proof = prove_run(judgement)
    for machine, (tried, shown) in proof.per_machine().items():
        log(f"{judgement.view.scenario_name} on {machine}: {tried} checks tried, {shown} shown able to fail")
    for step, check in proof.unshown:
        console.print(f"[bold red]cannot fail[/] {step.machine} {step.mode}/{step.number:02d}-{step.ref.step_id}: "
                      f"{check.check}: {check.why_not()}", soft_wrap=True)
    return proof


def _write_judgement(judgement, proof=None) -> None:
    from .judge.judgement_file import write_judgement

    log(f"wrote {write_judgement(judgement, proof)}")


def compare(runs: str | None = None, baseline: str | None = None, out: str | None = None) -> int:
    """Compares runs (default: the latest); with a baseline, exits 1 when any fact drifted; exits 2 when a
    run's evidence does not hold (then writes reports only where --out says)."""
    from .report import compare as comparing
    from .report.formats import print_comparison, write_reports
    from .run.layout import new_run_id

    specs = [r.strip() for r in (runs or "").split(",") if r.strip()]
    run_paths = comparing.resolve_runs(specs, artifacts_dir())
    baseline_paths = comparing.resolve_runs([b.strip() for b in baseline.split(",")], artifacts_dir()) \
        if baseline else []
    for paths, what in ((run_paths, runs or "latest"), (baseline_paths, baseline)):
        if len(paths) > comparing.MAX_RUNS:
            raise ConfigError(f"{what}: holds {len(paths)} runs; compare takes at most {comparing.MAX_RUNS} at "
                              f"once (name runs with --runs, or give a smaller folder)")
    comparison = comparing.build(run_paths)
    changes = comparing.drift(comparison, comparing.build(baseline_paths)) if baseline_paths else []
    if out:
        folder = Path(out)
    elif len(run_paths) == 1:
        folder = run_paths[0]          # beside the run it describes
    else:
        folder = artifacts_dir() / "compare" / new_run_id("compare")
    print_comparison(console, comparison, changes)
    flagged = [column for column in comparison.columns if column.flags]
    if flagged and not out:
        # Evidence that does not hold: said above, file by file; no report is left beside the runs.
        log(f"evidence does not hold in {len(flagged)} column(s): no report written "
            f"(--out DIR writes one elsewhere)")
        return 2
    for path in write_reports(comparison, changes, folder):
        log(f"wrote {path}")
    if baseline_paths:
        log(f"drift against {', '.join(p.name for p in baseline_paths)}: "
            f"{len(changes)} changed fact(s)" if changes else "no drift against the baseline")
    return 2 if flagged else 1 if changes else 0


def down(box_names: str | None = None, host_daemon: bool = False, instance_name: str | None = None) -> int:
    """Destroys this clone's machines of every instance (the default one and any a matrix left), or
    of one; with host_daemon, then stops nslab's host daemon and libvirtd unless another clone
    still needs them (naming what it keeps them for)."""
    from .machines.hostdocker import stop_own_daemon
    from .machines.hostshare import HOST_SERVICES
    from .machines.providers import PROVIDERS

    with HOST_SERVICES.in_use(log):
        failures = _destroy_machines(box_names, instance_name)
    if host_daemon:
        stopped, why = stop_own_daemon()
        if stopped:
            log("host docker: nslab's own daemon stopped")
        elif why != "not running":
            failures += 1
            log(f"host docker: nslab's own daemon {why}")
        for provider in PROVIDERS.values():
            provider.stop_host_services(log)
    return 1 if failures else 0


def _destroy_machines(box_names: str | None, instance_name: str | None) -> int:
    from .machines.base import chosen_instances
    from .machines.hostdocker import ensure_host_docker
    from .machines.providers import PROVIDERS
    from .run.lab import InstanceBusy, instance_lock

    lab = load_lab()
    wanted = {box.name for box in parse_boxes(box_names, lab)} if box_names else set(lab.boxes)
    url = ensure_host_docker(log)
    failures = 0
    for instance in chosen_instances(instance_name):
        try:
            # Held while destroying: a run in progress keeps its machine, one started meanwhile is refused.
            with instance_lock(instance):
                failures += _destroy_instance(lab, url, instance, wanted)
        except InstanceBusy as busy:
            failures += 1
            log(f"error: instance '{instance.name}' is in use by {busy.holder}: its machines are not destroyed; "
                f"stop that run first (Ctrl-C), or let it finish")
    for provider in PROVIDERS.values():
        provider.destroy_leftovers(lab, log)
    if not failures:
        log("no lab machine left" if not box_names else f"no {', '.join(sorted(wanted))} machine left")
    return failures


def _destroy_instance(lab, url: str, instance, wanted: set[str]) -> int:
    """Destroys an instance's machines of the wanted boxes; returns how many could not be."""
    from .machines.vagrant import VagrantMachine, machine_states

    failures = 0
    for name, state in machine_states(url, instance).items():
        if name not in wanted or state == "not_created":
            continue
        try:
            VagrantMachine(lab.box(name), url, instance=instance).destroy(log=log)
        except MachineError as exc:
            failures += 1
            log(f"error: {exc}")
    if not instance.is_default and instance.dotfile_path.exists():
        VagrantMachine(next(iter(lab.boxes.values())), url, instance=instance).forget_instance()
    return failures


def restore(box_names: str | None, hosts: HostTargets = HostTargets()) -> int:
    """Restores existing hosts from the bundle a run kept on them (a run cut off before it restored)."""
    from .machines.connection import Remote
    from .machines.existing import ExistingHost
    from .machines.providers import PROVIDERS
    from .run import restore as restoring

    if not box_names and not hosts.spec:
        raise ConfigError("restore: name the host, --box NAME (an ssh box of lab.yaml) or --host USER@HOST[:PORT]")
    boxes = parse_boxes(box_names, load_lab(), hosts=hosts)
    for box in boxes:
        if not PROVIDERS[box.provider].existing_host:
            raise ConfigError(f"restore: box {box.name} is a machine nslab builds ({box.provider}); "
                              f"only existing hosts (provider ssh) are restored")
    code = 0
    for box in boxes:
        host = ExistingHost(box, accept_new_host_key=hosts.accept_new_host_key)
        said = functools.partial(_said_for, host.address)
        try:
            remote = Remote(host.ssh_endpoint()).open(attempts_until=10)
            try:
                if not remote.run("true", sudo=True).ok:
                    raise restoring.HostRefused(f"host {host.address}: passwordless sudo is required")
                done = restoring.restore_pending(remote, host.address, said, asked=True)
            finally:
                remote.close()
        except Exception as exc:      # one host that cannot be restored does not stop the others
            code = 2
            log(f"{host.address}: not restored: {exc if isinstance(exc, NslabError) else repr(exc)}")
            continue
        if done is None:
            said("no restore bundle on the host: nothing to restore")
        elif done[1]:
            code = 2
            for line in done[1]:
                said(f"not as found: {line}")
        else:
            said("restored and verified as the run found it; bundle removed")
    return code


def _said_for(address: str, text: str) -> None:
    log(f"{address}: {text}")


def login(box_name: str | None = None, instance_name: str | None = None) -> int:
    """An interactive shell on a machine a run kept (`--destroy never`), through `vagrant ssh`."""
    import os

    from .machines.base import chosen_instances
    from .machines.hostdocker import ensure_host_docker
    from .machines.vagrant import listed_states, vagrant_env

    lab = load_lab()
    if box_name:
        lab.box(box_name)
    chosen = chosen_instances(instance_name)
    url = ensure_host_docker(log)
    running = [(instance, name) for instance in chosen for name, state in listed_states(url, instance).items()
               if state == "running" and box_name in (None, name)]
    if not running:
        which = f"of box {box_name} " if box_name else ""
        where = f"in instance {instance_name} " if instance_name else ""
        raise ConfigError(f"no lab machine {which}{where}is running: keep one with "
                          f"`invoke up scenario=userns --destroy never`, then log in")
    if len(running) > 1:
        listed = ", ".join(f"{name} (instance {instance.name})" for instance, name in running)
        raise ConfigError(f"{len(running)} lab machines are running: {listed}; name one with --box and --instance")
    instance, name = running[0]
    log(f"login: {name} (instance {instance.name}) through `vagrant ssh`; `exit` leaves it running")
    os.chdir(PROJECT_ROOT)
    os.execvpe("vagrant", ["vagrant", "ssh", name], vagrant_env(url, instance))


def status() -> int:
    from .daemon.describe import machine_facts
    from .machines.base import instances
    from .machines.hostdocker import ensure_host_docker
    from .machines.providers import PROVIDERS
    from .machines.vagrant import listed_states

    lab = load_lab()
    url = ensure_host_docker(log)
    table = Table(title="nslab machines")
    for column in ("machine", "instance", "distro", "provider", "config style", "state"):
        table.add_column(column, overflow="fold")
    # An SSH endpoint and a mode are copied as they are: never folded.
    table.add_column("ssh", no_wrap=True)
    table.add_column("docker", overflow="fold")
    table.add_column("daemon mode", no_wrap=True)
    for instance in instances():
        states = listed_states(url, instance)
        for box in lab.boxes.values():
            state = states.get(box.name, "not_created")
            if not instance.is_default and state == "not_created":
                continue
            reason = box.unavailable_reason()
            ssh = docker_version = mode = "-"
            if PROVIDERS[box.provider].existing_host:
                if not instance.is_default:
                    continue
                # Someone's own machine: named, not connected to (`invoke up --box` does that).
                state = f"not available here: {reason}" if reason else "existing host"
                ssh = f"{box.user}@{box.host}:{box.port}"
            elif reason:
                state = f"not available here: {reason}"
            elif state == "running":
                try:
                    ssh, docker_version, mode = machine_facts(box, url, instance)
                except MachineError as exc:
                    if listed_states(url, instance).get(box.name) != "running":
                        continue    # destroyed by its run while it was listed (a matrix cell)
                    # Running, but its daemon did not answer: a run may be restarting it.
                    mode = f"unreadable: {exc}"
            table.add_row(box.name, instance.name, box.distro, box.provider, box.config_style, state, ssh,
                          docker_version, mode)
    console.print(table)
    return 0

