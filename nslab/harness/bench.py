"""Benchmark: what nslab costs on top of the work the daemon must do.

Columns, each repeated and reported as median and spread:
  raw          the scenario's docker and daemon operations over one reused SSH
               connection, no harness logic (the floor);
  nslab        the same scenario through nslab's runner on the machine already up
               (command phase: modes, steps, facts, verdicts, artifacts);
  nslab-cold   `run_lab` from nothing: bring-up and destroy included;
  vagrant-ssh  the raw operations, one `vagrant ssh -c` each (what people write by hand);
plus the round trip of one command on nslab's connection and through `vagrant ssh -c`,
the warm workshop lab beside it, a profile of a warm run and of a cold one (where
the seconds go), and the speed goals (harness/goals.py).
"""
from __future__ import annotations

import json
import math
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..config.lab import Inventory
from ..config.scenario import Scenario, load_scenario, render
from ..daemon.modes import DaemonMode, wait_ready
from ..daemon.styles import config_style
from ..errors import ConfigError
from ..judge import needed_facts
from ..judge.verdict import JUDGED_OK
from ..machines.base import Instance, free_loopback_port
from ..machines.connection import Remote
from ..machines.vagrant import VagrantMachine, vagrant_env
from ..paths import PROJECT_ROOT, artifacts_dir
from ..run.images import BUILDER, OFFLINE_PREFIX, build_offline, image_refs, offline_recipe
from ..run.layout import RunDir, RunView, write_json
from ..run.machine import REMOVE_REMAPPED_DATA_ROOTS, MachineRun
from ..run.stopping import watched
from .goals import boxes_all_cached, offline_figures


def _raw_path_read(container: str, path: str) -> str:
    """The owner of a path inside the container and of its source on the machine."""
    return (f"docker exec {container} stat -c '%u %g %n' -- {shlex.quote(path)}; "
            f"docker inspect -f '{{{{json .Mounts}}}}' {container} >/dev/null; sudo stat -c '%u %g %n' -- /")


# The facts nslab reads to prove a step, as plain commands a person would type to look at the same
# thing: the raw column reads them too, so "nslab over raw" measures the harness, not the evidence.
RAW_FACT_READS = {
    "container": lambda name: (f"pid=$(docker inspect -f '{{{{.State.Pid}}}}' {name}) && "
                               f"sudo cat /proc/$pid/status /proc/$pid/uid_map /proc/$pid/gid_map >/dev/null; "
                               f"docker exec {name} cat /proc/1/status /etc/passwd /etc/group >/dev/null"),
    "path": lambda argument: _raw_path_read(*argument.split(":", 1)),
    "host-accounts": lambda _: "getent passwd >/dev/null; getent group >/dev/null",
    "subids": lambda _: "cat /etc/subuid /etc/subgid >/dev/null",
    "docker-info": lambda _: "docker info --format '{{json .}}' >/dev/null",
    "docker-dirs": lambda _: "sudo find /var/lib/docker -maxdepth 1 -type d -printf '%U %G %p\\n' >/dev/null",
    "daemon-contents": lambda _: "docker ps -aq >/dev/null; docker images -q >/dev/null",
    "program": lambda name: f"for pid in $(pidof {name}); do sudo cat /proc/$pid/status; done >/dev/null",
}

# What nslab reads of each mode once applied: the daemon's own account of it and the ranges.
RAW_MODE_READS = "docker info --format '{{json .}}' >/dev/null; cat /etc/subuid /etc/subgid >/dev/null"


def raw_fact_reads(expect) -> list[str]:
    """The plain commands that read what a step's expectations need."""
    reads = []
    for fact in needed_facts(expect):
        kind, _, argument = fact.partition(":")
        reads.append(RAW_FACT_READS[kind](argument))
    return reads


def _until_claimed(command: str, step) -> str:
    """As the scenario's `eventually` has it: the command read again, every few tenths of a second,
    until its output holds the claim (the clock has ticked twice) or the time is up — what a person
    re-running `docker logs` does, and evidence rather than harness."""
    tests = []
    if step.expect.output_matches:
        tests.append(f"grep -Pzq {shlex.quote(step.expect.output_matches)}")
    if step.expect.output_contains:
        tests.append(f"grep -Fq {shlex.quote(step.expect.output_contains)}")
    if not tests:
        return command
    holds = " && ".join(f"printf '%s' \"$out\" | {test}" for test in tests)
    return (f"end=$(( $(date +%s) + {math.ceil(step.eventually.within)} )); "
            f"until out=$({command} 2>&1); {holds}; do [ $(date +%s) -ge $end ] && break; "
            f"sleep {step.eventually.every}; done")


def raw_commands(scenario: Scenario, style_name: str) -> list[str]:
    """The scenario's operations as plain shell commands, as a person would type them, with the
    reads of what each step's claims rest on."""
    if scenario.files or any(image.build for image in scenario.images.values()):
        raise ConfigError(f"{scenario.path}: bench measures labs without files: or built images; "
                          f"this one brings its own material")
    refs = image_refs(scenario, "offline")
    commands: list[str] = []
    current = None
    for step in scenario.steps:
        if step.mode != current:
            current = step.mode
            mode = DaemonMode.from_spec(current, scenario.modes[current])
            names = " ".join(scenario.cleanup.containers)
            if names:
                commands.append(f"docker rm -f {names} >/dev/null 2>&1; true")
            options = json.dumps(mode.daemon_options())
            if style_name != "daemon-json":
                raise ValueError("the raw column writes daemon.json; bench a daemon-json box")
            # reset-failed: docker.service's start limit would stop the third restart in a minute.
            commands.append(f"echo {shlex.quote(options)} | sudo tee /etc/docker/daemon.json >/dev/null && "
                            f"sudo systemctl reset-failed docker; sudo systemctl restart docker && "
                            f"until docker info >/dev/null 2>&1; do sleep 0.05; done")
            commands.append(RAW_MODE_READS)
            # Only once the root daemon runs in /var/lib/docker again.
            if scenario.cleanup.remapped_data_roots and mode.remap_user is None:
                commands.append(f"sudo {REMOVE_REMAPPED_DATA_ROOTS}")
        if step.action == "images":
            offline = " ".join(sorted({scenario.images[n].offline for n in step.images}))
            commands.append(f"{BUILDER} {OFFLINE_PREFIX} {offline_recipe()} {offline}")
        else:
            command = render(step.run, refs)
            # As the scenario has it: a stopped step is stopped in the raw column too.
            command = watched(command, step.stop_when) if step.stop_when else command
            command = f"sudo sh -c {shlex.quote(command)}" if step.sudo else command
            commands.append(_until_claimed(command, step) if step.eventually else command)
            commands += raw_fact_reads(step.expect)
    return commands


def _spread(values: list[float]) -> dict:
    values = sorted(values)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1],
            "runs": len(values), "values": [round(v, 3) for v in values]}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _round_trips(call, calls: int) -> dict:
    times = []
    for _ in range(calls):
        started = time.monotonic()
        call()
        times.append((time.monotonic() - started) * 1000)
    return {"median": statistics.median(times), "p95": _percentile(times, 0.95), "calls": calls}


class Bench:
    def __init__(self, lab: Inventory, scenario: Scenario, docker_url: str, repeat: int, log=print):
        self.lab = lab
        self.box = lab.box(lab.default_boxes[0])
        self.scenario = scenario
        self.docker_url = docker_url
        self.repeat = repeat
        self.log = log
        self.instance = Instance(f"bench-{int(time.time())}", ssh_port=free_loopback_port())
        # Measured warm beside the benched lab, for the goals.
        self.beside = [load_scenario(name) for name in ("workshop",) if name != scenario.name]
        self.last_profile: dict = {}
        self.last_cold_run: Path | None = None

    def run(self) -> dict:
        machine = VagrantMachine(self.box, self.docker_url, instance=self.instance)
        results: dict = {"scenario": self.scenario.name, "box": self.box.name, "repeat": self.repeat}
        try:
            machine.up(log=lambda _: None)
            remote = Remote(machine.ssh_endpoint()).open()
            try:
                wait_ready(remote)
                build_offline(remote, sorted({s.offline for s in self.scenario.images.values()}))
                commands = raw_commands(self.scenario, self.box.config_style)
                # One warm-up of each path: users, ranges and images exist afterwards for all.
                self._nslab_once(remote)
                results["raw_exit_codes"] = self._raw_exit_codes(remote, commands)
                results["raw"] = _spread([self._raw_once(remote, commands) for _ in range(self.repeat)])
                self.log(f"bench: raw {results['raw']['median']:.1f}s")
                results["nslab"] = _spread([self._nslab_once(remote) for _ in range(self.repeat)])
                self.log(f"bench: nslab {results['nslab']['median']:.1f}s")
                results["profile_warm"] = self.last_profile
                results["warm"] = {}
                for other in self.beside:
                    self._nslab_once(remote, other)          # its images, users and ranges exist afterwards
                    results["warm"][other.name] = _spread([self._nslab_once(remote, other)
                                                           for _ in range(self.repeat)])
                    self.log(f"bench: nslab {other.name} {results['warm'][other.name]['median']:.1f}s")
                results["rtt_ms"] = self._rtt(remote)
                self.log(f"bench: round trip {results['rtt_ms']['median']:.1f} ms")
            finally:
                remote.close()
            results["vagrant_ssh"] = _spread([self._vagrant_ssh_once(commands)
                                               for _ in range(self.repeat)])
            self.log(f"bench: vagrant ssh {results['vagrant_ssh']['median']:.1f}s")
            results["vagrant_ssh_rtt_ms"] = self._vagrant_rtt()
        finally:
            machine.destroy(log=lambda _: None)
        results["nslab_cold"] = _spread([self._cold_once() for _ in range(self.repeat)])
        self.log(f"bench: nslab cold {results['nslab_cold']['median']:.1f}s")
        results["profile_cold"] = cold_profile(self.last_cold_run)
        results["offline"] = offline_figures(self.last_cold_run)
        self.log(f"bench: judge {results['offline']['judge']:.2f}s, compare of 100 runs "
                 f"{results['offline']['compare100']:.2f}s")
        results["ratios"] = {
            "nslab_over_raw": results["nslab"]["median"] / results["raw"]["median"],
            "vagrant_ssh_over_nslab": results["vagrant_ssh"]["median"] / results["nslab"]["median"],
            "nslab_overhead_ms_per_command": results["rtt_ms"]["median"],
        }
        return results

    def _raw_once(self, remote: Remote, commands: list[str]) -> float:
        started = time.monotonic()
        for command in commands:
            remote.connection.run(command, hide=True, warn=True, timeout=600)
        return time.monotonic() - started

    def _raw_exit_codes(self, remote: Remote, commands: list[str]) -> list[dict]:
        """The warm-up of the raw column, with what each command returned (kept in the results)."""
        codes = []
        for command in commands:
            result = remote.connection.run(command, hide=True, warn=True, timeout=600)
            codes.append({"command": command, "exit": result.exited,
                          "said": (result.stderr or result.stdout).strip()[-160:]})
        return codes

    def _nslab_once(self, remote: Remote, scenario: Scenario | None = None) -> float:
        scenario = scenario or self.scenario
        with tempfile.TemporaryDirectory() as folder:
            run = RunDir.create(Path(folder), scenario.name)
            started = time.monotonic()
            outcomes = MachineRun(scenario, run, self.box.name, remote,
                                  config_style(self.box.config_style), "offline",
                                  known_limits=self.lab.known_limits(self.box), log=lambda _: None).execute()
            seconds = time.monotonic() - started
            if scenario is self.scenario:
                self.last_profile = warm_profile(run, seconds)
        bad = [o for o in outcomes if o.status not in JUDGED_OK]
        if bad:
            raise RuntimeError(f"bench run of {scenario.name} did not pass: {bad[0].step}: {bad[0].detail}")
        return seconds

    def _rtt(self, remote: Remote, calls: int = 200) -> dict:
        return _round_trips(lambda: remote.run("true"), calls)

    def _vagrant(self, command: str) -> None:
        subprocess.run(["vagrant", "ssh", self.box.name, "-c", command], cwd=PROJECT_ROOT,
                       env=vagrant_env(self.docker_url, self.instance), capture_output=True, timeout=600)

    def _vagrant_ssh_once(self, commands: list[str]) -> float:
        started = time.monotonic()
        for command in commands:
            self._vagrant(command)
        return time.monotonic() - started

    def _vagrant_rtt(self, calls: int = 10) -> dict:
        return _round_trips(lambda: self._vagrant("true"), calls)

    def _cold_once(self) -> float:
        """`invoke up` as a user types it, on an instance of its own: a cached box, bring-up and destroy."""
        instance = f"bench-cold-{time.monotonic_ns() % 10**9}"
        started = time.monotonic()
        process = subprocess.run([str(Path(sys.executable).parent / "invoke"), "up", f"scenario={self.scenario.path}",
                                  "--box", self.box.name, "--instance", instance, "--destroy", "always"],
                                 cwd=PROJECT_ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - started
        if process.returncode != 0:
            raise RuntimeError(f"cold bench run did not pass: {process.stdout[-500:]}")
        self.last_cold_run = (artifacts_dir() / "latest").resolve()
        return seconds


def warm_profile(run: RunDir, seconds: float) -> dict:
    """Where a warm run's seconds go: commands, facts, mode switches, and the rest (verdicts, files)."""
    view = RunView(run.path)
    machine = run_machine(run)
    steps = [view.step_record(ref) for ref in view.steps(machine)]
    ran = [step for step in steps if step is not None]
    commands = sum(s.duration_seconds or 0 for s in ran)
    facts = sum(s.facts_seconds or 0 for s in ran)
    modes = sum(m.seconds or 0 for m in view.machines[machine].modes)
    return {"total": seconds, "commands": commands, "facts": facts, "mode_switches": modes,
            "stopped_early": [s.step for s in ran if s.stopped],
            "other": seconds - commands - facts - modes}


def run_machine(run: RunDir) -> str:
    return next(iter(run.manifest.machines))


def cold_profile(path: Path | None) -> dict:
    """Where a cold `invoke up` run's seconds go: Vagrant, connection set-up, the lab, destroy."""
    if path is None:
        return {}
    manifest = RunView(path).manifest
    machine = manifest.only_machine()
    up, connect, destroy = machine.up_seconds or 0, machine.connect_seconds or 0, machine.destroy_seconds or 0
    lab = manifest.seconds or 0
    # The run's own seconds end before its machine is destroyed.
    return {"total": lab + destroy, "vagrant_up": up, "connect": connect, "destroy": destroy,
            "lab": lab - up - connect}


def matrix_figures(artifacts: Path) -> dict | None:
    """The newest sequential and --jobs 3 runs of the same matrix, boxes all cached, if both exist."""
    runs = []
    for path in sorted((artifacts / "matrix").glob("*/matrix.json")):
        data = json.loads(path.read_text())
        cells = tuple(sorted((c["box"], c["scenario"]) for c in data["cells"]))
        if all(c["state"] == "passed" for c in data["cells"]) and boxes_all_cached(data):
            runs.append((cells, data["jobs"], data["seconds"], path.parent.name))
    for cells, jobs, seconds, name in reversed(runs):
        if jobs == 3:
            sequential = next((r for r in reversed(runs) if r[0] == cells and r[1] == 1), None)
            if sequential:
                return {"cells": [list(c) for c in cells], "jobs3_seconds": seconds, "jobs3_run": name,
                        "sequential_seconds": sequential[2], "sequential_run": sequential[3],
                        "jobs3_over_sequential": seconds / sequential[2]}
    return None


def chart(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [("raw", results["raw"]), ("nslab", results["nslab"]),
               ("vagrant ssh -c", results["vagrant_ssh"]), ("nslab cold", results["nslab_cold"])]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = [c[0] for c in columns]
    medians = [c[1]["median"] for c in columns]
    errors = [[m - c[1]["min"] for m, c in zip(medians, columns, strict=True)],
              [c[1]["max"] - m for m, c in zip(medians, columns, strict=True)]]
    left.bar(names, medians, yerr=errors, color=["#6b7280", "#2563eb", "#b45309", "#60a5fa"], capsize=4)
    for x, value in enumerate(medians):
        left.text(x, value, f"{value:.1f}s\n{value / medians[0]:.2f}× raw", ha="center", va="bottom", fontsize=8)
    left.set_ylim(0, max(c[1]["max"] for c in columns) * 1.2)
    left.set_ylabel("seconds (median, min–max)")
    left.set_title(f"{results['scenario']} lab on {results['box']}, {results['repeat']} runs each")
    rtt = [results["rtt_ms"]["median"], results["vagrant_ssh_rtt_ms"]["median"]]
    right.bar(["nslab connection", "vagrant ssh -c"], rtt, color=["#2563eb", "#b45309"])
    right.set_yscale("log")
    for x, value in enumerate(rtt):
        right.text(x, value, f"{value:.1f} ms", ha="center", va="bottom", fontsize=8)
    right.set_title("one command's round trip (median)")
    if results.get("matrix"):
        m = results["matrix"]
        figure.text(0.5, 0.01, f"matrix {len(m['cells'])} cells: sequential {m['sequential_seconds']:.0f}s, "
                               f"--jobs 3 {m['jobs3_seconds']:.0f}s ({m['jobs3_over_sequential']:.2f}×)",
                    ha="center", fontsize=9)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=110)


def write_results(results: dict, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, png_path = folder / "results.json", folder / "results.png"
    write_json(json_path, results)
    chart(results, png_path)
    return json_path, png_path
