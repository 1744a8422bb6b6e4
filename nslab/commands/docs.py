"""`invoke docs`: builds the documentation site (docs/, mkdocs.yml) with `mkdocs build --strict`: a
broken link or anchor, a nav entry without its page or a page left out of the nav fails it, each
warning named."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..errors import ConfigError
from ..paths import PROJECT_ROOT
from .common import log


def execute(out: str | None = None) -> int:
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
        for line in _warnings(done):
            log(line)
        log(f"docs: mkdocs build --strict failed (exit {done.returncode})")
        return 1
    shown = site.relative_to(PROJECT_ROOT) if site.is_relative_to(PROJECT_ROOT) else site
    pages = sum(1 for _ in site.rglob("index.html"))
    log(f"docs: {pages} pages built in {shown}/ (mkdocs --strict): open {shown / 'index.html'}")
    return 0


def _warnings(done: subprocess.CompletedProcess) -> list[str]:
    """What a failed build said: its warnings and errors, else the end of its output."""
    said, within, output = [], False, "\n".join((done.stderr, done.stdout))   # warnings, then the verdict
    for line in output.splitlines():
        # A warning's own indented lines (the pages the nav leaves out) follow it.
        within = line.startswith(("WARNING", "ERROR", "Error", "Aborted")) or (within and line[:1].isspace())
        if within:
            said.append(line)
    return said or output.strip().splitlines()[-20:]
