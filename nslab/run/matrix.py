"""Labs x boxes in parallel: every cell on a machine of its own, one comparison at the end."""
from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..config.lab import Box, Inventory
from ..config.scenario import Scenario
from ..errors import NslabError
from ..machines.base import Instance, free_loopback_port
from ..machines.boxes import build_box
from ..machines.inventory import unavailable_reason
from ..machines.providers import PROVIDERS
from ..paths import artifacts_dir
from .lab import HostOptions, run_lab
from .layout import new_run_id, write_json

NOT_AS_FOUND = "NOT left as found"
STYLE = {"passed": "green", "failed": "bold red", "error": "bold red", "interrupted": "yellow",
         "not available here": "magenta", "not run": "yellow"}


@dataclass
class Cell:
    box: Box
    scenario: Scenario
    state: str = "queued"
    detail: str = ""
    run_path: Path | None = None
    seconds: float = 0.0
    started: float | None = None
    log_path: Path | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.box.name}/{self.scenario.name}"

    @property
    def finished(self) -> bool:
        return self.state in ("passed", "failed", "error", "interrupted", "not available here", "not run")


class Matrix:
    def __init__(self, lab: Inventory, cells: list[tuple[Box, Scenario]], jobs: int,
                 continue_on_failure: bool, destroy: str, docker_url: str, console: Console,
                 hosts: HostOptions | None = None):
        self.lab = lab
        self.hosts = hosts or HostOptions()
        # An existing host is one machine, whatever box names it: its cells take turns.
        self._host_turns = {_address(box): threading.Lock() for box, _ in cells
                            if PROVIDERS[box.provider].existing_host}
        self.jobs = jobs
        self.continue_on_failure = continue_on_failure
        self.destroy = destroy
        self.docker_url = docker_url
        self.console = console
        self.matrix_id = new_run_id("matrix")
        self.folder = artifacts_dir() / "matrix" / self.matrix_id
        self.folder.mkdir(parents=True)
        self.cells = [Cell(box, scenario) for box, scenario in cells]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        #: box -> what its build did (built, or found cached), so a figure can tell the two apart.
        self.box_builds: dict[str, dict] = {}

    # --- progress ---------------------------------------------------------
    def table(self) -> Table:
        table = Table(title=f"nslab matrix {self.matrix_id} (jobs {self.jobs})")
        for column in ("box", "lab", "state", "time", "now"):
            table.add_column(column, overflow="fold")
        now = time.monotonic()
        for cell in self.cells:
            elapsed = cell.seconds or (now - cell.started if cell.started else 0.0)
            style = STYLE.get(cell.state, "cyan")
            table.add_row(cell.box.name, cell.scenario.name, f"[{style}]{cell.state}[/]",
                          f"{elapsed:.0f}s" if elapsed else "", cell.detail[-90:])
        return table

    def _cell_log(self, cell: Cell):
        def log(text: str) -> None:
            with self._lock:
                cell.detail = text
                with open(cell.log_path, "a") as out:
                    out.write(text + "\n")
            if not self.console.is_terminal:
                self.console.print(f"[{cell.name}] {text}", markup=False, soft_wrap=True)
        return log

    # --- work -------------------------------------------------------------
    def run(self) -> dict:
        started = time.monotonic()
        for cell in self.cells:
            cell.log_path = self.folder / f"{cell.box.name}-{cell.scenario.name}.log"
            reason = unavailable_reason(cell.box)
            if reason:
                cell.state, cell.detail = "not available here", reason
        runnable = [c for c in self.cells if not c.finished]
        with Live(self.table(), console=self.console, refresh_per_second=4,
                  transient=False, auto_refresh=self.console.is_terminal) as live:
            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                self._build_boxes(pool, runnable, live)
                pending = {}
                # Lab by lab across the boxes: an existing host's cells take turns, so its second
                # cell queues behind the other hosts' first ones instead of holding a job while it waits.
                labs = list(dict.fromkeys(c.scenario.name for c in runnable))
                queue = sorted(runnable, key=lambda c: labs.index(c.scenario.name))
                try:
                    while queue or pending:
                        while queue and len(pending) < self.jobs and not self._stop.is_set():
                            cell = queue.pop(0)
                            pending[pool.submit(self._run_cell, cell)] = cell
                        if self._stop.is_set():
                            for cell in queue:
                                cell.state = "not run"
                                cell.detail = "an earlier cell failed (--continue-on-failure runs all)"
                            queue = []
                        if not pending:
                            break
                        done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                        for future in done:
                            cell = pending.pop(future)
                            # A box that could not be built says so on its own row; the others go on.
                            if cell.state != "passed" and cell.started is not None and not self.continue_on_failure:
                                self._stop.set()
                        live.update(self.table())
                except KeyboardInterrupt:
                    self._stop.set()
                    for cell in queue:
                        cell.state = "not run"
                    raise
                finally:
                    live.update(self.table())
        summary = {
            "matrix_id": self.matrix_id, "jobs": self.jobs, "seconds": round(time.monotonic() - started, 1),
            "continue_on_failure": self.continue_on_failure, "destroy": self.destroy,
            "boxes": self.box_builds,
            "cells": [{"box": c.box.name, "scenario": c.scenario.name, "state": c.state, "detail": c.detail,
                       "seconds": round(c.seconds, 1), "run": str(c.run_path) if c.run_path else None}
                      for c in self.cells],
        }
        write_json(self.folder / "matrix.json", summary)
        return summary

    def _build_boxes(self, pool: ThreadPoolExecutor, cells: list[Cell], live: Live) -> None:
        boxes = {c.box.name: c.box for c in cells}
        building = {name: pool.submit(build_box, box, self.docker_url, False,
                                      self._cell_log(next(c for c in cells if c.box.name == name)))
                    for name, box in boxes.items()}
        for cell in cells:
            cell.state = "box"
        while any(not f.done() for f in building.values()):
            wait(building.values(), timeout=0.5)
            live.update(self.table())
        for name, future in building.items():
            try:
                done = future.result()
                self.box_builds[name] = {"built": done["built"], "seconds": done["seconds"]}
            except NslabError as exc:
                for cell in cells:
                    if cell.box.name == name:
                        cell.state, cell.detail = "error", f"box build failed: {exc}"
        for cell in cells:
            if cell.state == "box":
                cell.state = "queued"

    def _run_cell(self, cell: Cell) -> None:
        if cell.state != "queued":
            return
        cell.state, cell.started = "running", time.monotonic()
        instance = Instance(f"{self.matrix_id[-6:]}-{cell.box.name}-{cell.scenario.name}",
                            ssh_port=free_loopback_port())
        try:
            with self._host_turns.get(_address(cell.box), contextlib.nullcontext()):
                if self._stop.is_set():           # Ctrl-C, or a failed cell, while it waited its turn
                    cell.state, cell.detail = "not run", "stopped while waiting for its host"
                    return
                result = run_lab(cell.scenario, self.lab, [cell.box], self.destroy, self.docker_url,
                                 instance=instance, log=self._cell_log(cell),
                                 matrix=self.matrix_id, hosts=self.hosts)
            cell.state, cell.run_path = result.status, result.run_path
            counts: dict[str, int] = {}
            for outcome in result.outcomes:
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
            cell.detail = ", ".join(f"{n} {s}" for s, n in counts.items()) or cell.detail
            if result.unrestored:
                cell.state = "error"
                cell.detail = f"{NOT_AS_FOUND}: {'; '.join(result.unrestored.values())}"
        except Exception as exc:      # a cell's failure must not take the others down
            cell.state, cell.detail = "error", f"{type(exc).__name__}: {exc}"
        finally:
            cell.seconds = time.monotonic() - cell.started


def _address(box: Box) -> tuple:
    return (box.host, box.port)
