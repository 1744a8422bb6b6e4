"""`invoke history`: one page over the kept nights: cells × nights, drift marked, each change at its
first night."""
from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..paths import artifacts_dir
from .common import log


def execute(folder: str | None = None, out: str | None = None) -> int:
    from ..report import history as pages
    from ..report import nights
    from ..run.layout import write_atomic

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
