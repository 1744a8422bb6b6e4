"""Nights and their history, from runs recorded on real machines (tests/evidence/)."""
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nslab.errors import ConfigError
from nslab.report import history, nights

EVIDENCE = Path(__file__).resolve().parent.parent / "evidence"
ENGINE = "Debian GNU/Linux 12 (bookworm), Docker 20.10.24+dfsg1"


def keep_night(folder: Path, runs: list[str], planned=(), when="2026-11-20T02:17:00"):
    """A night as `invoke nightly --from-runs` keeps it: the runs copied whole, then recorded."""
    earlier = nights.kept_nights(folder)
    path = nights.new_night_folder(folder, datetime.fromisoformat(when))
    for name in runs:
        shutil.copytree(EVIDENCE / name, path / "runs" / name)
    return nights.record_night(path, list(planned), earlier[-1] if earlier else None,
                               now=datetime.fromisoformat(when).replace(tzinfo=UTC))


def test_the_first_night_has_no_baseline_and_names_each_cells_distro_docker_and_verdicts(tmp_path):
    night = keep_night(tmp_path, ["userns-debian12", "workshop-debian12"])
    assert night.name == "2026-11-20" and night.record["baseline"] is None and night.changes == []
    userns = night.cells["debian12/userns"]
    assert (userns["state"], userns["counts"], userns["docker_version"]) == ("passed", {"pass": 20},
                                                                             "20.10.24+dfsg1")
    summary = (night.path / "summary.md").read_text()
    assert "No baseline yet: this is the first night kept." in summary
    assert "| debian12/userns | Debian GNU/Linux 12 (bookworm) | 20.10.24+dfsg1 | passed | 20 pass |" in summary
    assert json.loads((night.path / "report" / "report.json").read_text())["drift"] == []


def test_the_same_night_again_has_no_change_and_says_since_when(tmp_path):
    keep_night(tmp_path, ["userns-debian12"])
    second = keep_night(tmp_path, ["userns-debian12"], when="2026-11-20T09:00:00")
    assert second.name == "2026-11-20-2" and second.record["baseline"] == "2026-11-20"
    assert second.changes == []
    assert "No change since 2026-11-20." in (second.path / "summary.md").read_text()
    assert (tmp_path / "LATEST").read_text() == "2026-11-20-2\n"      # what the workflow publishes


def test_a_cell_that_could_not_run_is_named_once_as_a_cell_with_both_engines(tmp_path):
    keep_night(tmp_path, ["userns-debian12"])
    planned = [{"box": "debian12", "scenario": "userns", "state": "error",
                "detail": "box build failed: debootstrap exited 1"}]
    second = keep_night(tmp_path, [], planned, when="2026-11-21T02:17:00")
    assert [c["text"] for c in second.changes] == [
        f"debian12 userns: cell: 'passed' -> 'error' ({ENGINE} -> —)"]
    assert second.cells["debian12/userns"]["detail"] == "box build failed: debootstrap exited 1"


def test_a_lab_added_or_dropped_is_a_changed_cell(tmp_path):
    keep_night(tmp_path, ["userns-debian12"])
    second = keep_night(tmp_path, ["userns-debian12", "workshop-debian12"], when="2026-11-21T02:17:00")
    assert [(c["cell"], c["before"], c["after"]) for c in second.changes] == [
        ("debian12/workshop", "absent", "passed")]


def test_nights_are_ordered_by_when_they_ran_and_the_oldest_pruned(tmp_path):
    for day in ("2026-11-18", "2026-11-19", "2026-11-20"):
        keep_night(tmp_path, ["own-userns-debian12"], when=f"{day}T02:17:00")
    assert [n.name for n in nights.kept_nights(tmp_path)] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert nights.prune(tmp_path, keep=2) == ["2026-11-18"]
    assert [n.name for n in nights.kept_nights(tmp_path)] == ["2026-11-19", "2026-11-20"]
    assert not (tmp_path / "2026-11-18").exists()


def test_a_damaged_night_file_is_named(tmp_path):
    night = keep_night(tmp_path, ["own-userns-debian12"])
    (night.path / "night.json").write_text('{"started": ')
    with pytest.raises(ConfigError, match=r"2026-11-20/night.json: not a night nslab wrote"):
        nights.kept_nights(tmp_path)


def test_history_marks_each_change_at_the_night_it_first_appeared_and_links_each_report(tmp_path):
    keep_night(tmp_path, ["userns-debian12"], when="2026-11-19T02:17:00")
    keep_night(tmp_path, [], [{"box": "debian12", "scenario": "userns", "state": "error", "detail": "boom"}],
               when="2026-11-20T02:17:00")
    keep_night(tmp_path, ["userns-debian12"], when="2026-11-21T02:17:00")
    kept = nights.kept_nights(tmp_path)
    cells, squares = history.grid(kept)
    assert cells == ["debian12/userns"]
    assert [squares[("debian12/userns", n.name)].state for n in kept] == ["passed", "error", "passed"]
    assert [bool(squares[("debian12/userns", n.name)].changes) for n in kept] == [False, True, True]
    assert [(c["night"], c["before"], c["after"]) for c in history.first_seen(kept)] == [
        ("2026-11-20", "passed", "error"), ("2026-11-21", "error", "passed")]
    out = tmp_path / "history.html"
    page = history.render_html(kept, out)
    assert page.count('data-cell="debian12/userns"') == 3 and '<td class="error"' in page
    assert '<a href="2026-11-20/report/report.html">2026-11-20</a>' in page
    markdown = history.render_markdown(kept, tmp_path / "history.md")
    assert "| debian12/userns | ✅ | ❌ Δ | ✅ Δ |" in markdown
