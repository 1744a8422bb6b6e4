"""`invoke nightly` on real machines, three nights in a row: the first has no baseline, the second
changed nothing (exit 0), the third moves a remap range (exit 1, that change named alone); then
`invoke history` over them, loaded in headless Chromium."""
import json
import shutil
import subprocess

import pytest

from .conftest import invoke, missing_from_setup
from .test_workshop_and_compare import CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.lab

LAB = "tests/scenarios/nightly.yaml"
DRIFTED = "tests/scenarios/nightly-drift.yaml"        # the same lab with the remap range moved


@pytest.fixture(scope="module")
def nights(artifacts, docker_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("nights")
    processes = [invoke("nightly", "--boxes", "debian12", "--scenarios", scenario, "--folder", str(folder),
                        timeout=900)
                 for scenario in (LAB, LAB, DRIFTED)]
    kept = sorted((json.loads(p.read_text()) for p in folder.glob("*/night.json")), key=lambda n: n["started"])
    return folder, processes, kept


def test_the_first_night_says_it_has_no_baseline(nights):
    folder, (first, _, _), kept = nights
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert f"night {kept[0]['night']}: no baseline yet (the first night kept in {folder})" in first.stdout
    assert kept[0]["cells"][0]["counts"] == {"pass": 2} and kept[0]["baseline"] is None


def test_an_unchanged_second_night_exits_0_with_no_change_since_the_first(nights):
    _, (_, second, _), kept = nights
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert f"night {kept[1]['night']}: no change since {kept[0]['night']}" in second.stdout
    assert kept[1]["changes"] == []


def test_a_moved_remap_range_is_the_one_change_named_with_both_nights_engines(nights):
    _, (_, _, third), kept = nights
    assert third.returncode == 1, third.stdout[-2000:] + third.stderr[-2000:]
    cell = kept[2]["cells"][0]
    engine = f"{cell['distro']}, Docker {cell['docker_version']}"
    assert [(c["cell"], c["mode"], c["step"], c["fact"], c["before"], c["after"]) for c in kept[2]["changes"]] == [
        ("debian12/nightly", "remapped", "sleeper", "uid_host", 200000, 300000)]
    assert kept[2]["changes"][0]["before_engine"] == kept[2]["changes"][0]["after_engine"] == engine
    assert cell["state"] == "passed"                   # every verdict still green: only the fact moved
    assert (f"changed debian12 nightly/remapped/sleeper: uid_host: 200000 -> 300000 (both on {engine})"
            in third.stdout)
    assert f"1 change(s) since {kept[1]['night']}" in third.stdout


def test_keep_removes_the_oldest_nights(nights, tmp_path):
    folder, _, kept = nights
    copy = tmp_path / "nights"
    shutil.copytree(folder, copy)
    process = invoke("nightly", "--from-runs", str(copy / kept[2]["night"] / "runs"), "--folder", str(copy),
                     "--keep", "2")
    assert process.returncode == 0, process.stdout[-2000:]           # the same runs as the night before
    assert f"nightly: removed night {kept[0]['night']} (keeping 2)" in process.stdout
    assert f"nightly: removed night {kept[1]['night']} (keeping 2)" in process.stdout
    assert sorted(p.parent.name for p in copy.glob("*/night.json"))[0] == kept[2]["night"]


def test_history_shows_the_three_nights_with_the_change_at_its_night(nights, tmp_path):
    if CHROMIUM is None:
        missing_from_setup("Debian's chromium is not installed")
    folder, _, kept = nights
    process = invoke("history", "--folder", str(folder))
    assert process.returncode == 0, process.stdout + process.stderr
    page = folder / "history.html"
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.stdout.count('data-cell="debian12/nightly"') == 3
    assert dom.stdout.count('<td class="passed"') == 3 and dom.stdout.count('class="drift"') == 1 + 1
    assert f'<a href="{kept[2]["night"]}/report/report.html">{kept[2]["night"]}</a>: debian12 ' \
           f'nightly/remapped/sleeper: uid_host: 200000 -&gt; 300000' in dom.stdout
    screenshot = tmp_path / "history.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1300,700",
                    f"--screenshot={screenshot}", page.as_uri()], capture_output=True, timeout=120)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (folder / "history.md").read_text()
    assert "| debian12/nightly | ✅ | ✅ | ✅ Δ |" in markdown
