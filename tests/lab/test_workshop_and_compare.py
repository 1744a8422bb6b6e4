"""Lab B for real, then `invoke compare` over real runs: table, five reports, drift, a browser."""
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from .conftest import invoke, missing_from_setup, step_path

pytestmark = pytest.mark.lab

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def steps_by_id(manifest):
    return {s["id"]: s for s in manifest["machines"]["debian12"]["steps"]}


def step_record(run_path, manifest, step_id):
    return json.loads(step_path(run_path, "debian12", step_id, "json").read_text())


def observed(record, check):
    """What a step's verdict of one check kind observed (found by its kind, not its position)."""
    found = [v for v in record["verdicts"] if v["check"] == check]
    assert len(found) == 1, f"{len(found)} verdicts of kind {check}"
    return found[0]["observed"]


def test_workshop_passes_with_every_verdict_judged(workshop_run):
    process, run_path, manifest = workshop_run
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert "14 steps: 13 pass, 1 environment-limited" in process.stdout
    statuses = {i: s["status"] for i, s in steps_by_id(manifest).items()}
    assert statuses.pop("privileged-as-root") == "environment-limited"
    assert set(statuses.values()) == {"pass"}


def test_privileged_on_a_container_machine_is_environment_limited_with_the_error(workshop_run):
    _, run_path, manifest = workshop_run
    record = step_record(run_path, manifest, "privileged-as-root")
    verdict = next(v for v in record["verdicts"] if v["check"] == "exit")
    assert verdict["status"] == "environment-limited" and verdict["observed"] != 0
    assert "unable to apply caps: operation not permitted" in verdict["detail"]
    refused = step_record(run_path, manifest, "privileged-in-userns")
    assert refused["status"] == "pass"
    assert "privileged mode is incompatible with user namespaces" in observed(refused, "output_contains")


def test_remapped_root_loses_the_hosts_root_files(workshop_run):
    _, run_path, manifest = workshop_run
    assert "host secret" in observed(step_record(run_path, manifest, "bind-read-as-root"), "output_contains")
    for step in ("bind-read-in-userns", "bind-write-in-userns"):
        record = step_record(run_path, manifest, step)
        assert record["exit_code"] != 0 and "Permission denied" in observed(record, "output_contains")
    sleeper = next(v for v in step_record(run_path, manifest, "sleeper-in-userns")["verdicts"] if v["check"] == "uid")
    assert sleeper["observed"]["inside"] == 0 and sleeper["observed"]["host"] > 0


def test_compare_prints_modes_by_machines_and_writes_the_reports(userns_run, workshop_run, tmp_path):
    runs = f"{userns_run[1]},{workshop_run[1]}"
    process = invoke("compare", "--runs", runs, "--out", str(tmp_path))
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr
    assert "modes × machines" in process.stdout and "uid 0→165536" in process.stdout
    assert '<table class="compare" id="compare">' in (tmp_path / "report.html").read_text()
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["columns"]) == 1 and report["columns"][0]["docker_version"].startswith("20.10")
    assert len(report["rows"]) == 20 + 14
    userns_maps = report["uid_maps"][report["columns"][0]["key"]]["userns"]
    assert {"container": "registry", "container_uid": 0, "host_uid": 165536} in userns_maps
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) == 34 and len(suites.findall(".//skipped")) == 1
    assert not suites.findall(".//failure") and not suites.findall(".//error")
    assert "| userns / root / tag hello-world and push it; the push fails |" in (tmp_path / "report.md").read_text()


def test_compare_defaults_to_the_latest_run_and_writes_beside_it(workshop_run):
    process = invoke("compare")
    assert process.returncode == 0
    latest = (workshop_run[1].parent / "latest").resolve()
    assert f"wrote {latest / 'report.md'}" in process.stdout
    # The reports beside it are of that run: its lab, one junit case per step it recorded.
    manifest = json.loads((latest / "manifest.json").read_text())
    report = json.loads((latest / "report.json").read_text())
    assert [c["scenario"] for c in report["columns"]] == [manifest["scenario"]]
    steps = sum(len(machine["steps"]) for machine in manifest["machines"].values())
    assert len(ET.parse(latest / "junit.xml").getroot().findall(".//testcase")) == steps > 0


def test_baseline_drift_names_exactly_the_changed_cell_and_exits_nonzero(userns_run, tmp_path):
    run_path = userns_run[1]
    baseline = tmp_path / run_path.name
    shutil.copytree(run_path, baseline)
    assert invoke("compare", "--runs", str(run_path), "--baseline", str(baseline),
                  "--out", str(tmp_path / "same")).returncode == 0
    # The saved run remembers the registry under userns as another host uid: its evidence, consistently
    # (the process's status and uid_map, and dockremap's range), since compare judges from evidence.
    facts = step_path(baseline, "debian12", "registry-userns", "facts")
    real_host_uid = int((facts / "container-registry.uid_map").read_text().split()[1])
    for name in ("container-registry.uid_map", "container-registry.host-status", "host.subuid"):
        path = facts / name
        path.write_text("".join(line.replace(str(real_host_uid), "999") if not line.startswith("Gid:") else line
                                for line in path.read_text().splitlines(keepends=True)))
    process = invoke("compare", "--runs", str(run_path), "--baseline", str(baseline), "--out", str(tmp_path / "drift"))
    assert process.returncode == 1
    drift = json.loads((tmp_path / "drift" / "report.json").read_text())["drift"]
    engine = f"Debian GNU/Linux 12 (bookworm), Docker {userns_run[2]['machines']['debian12']['docker_version']}"
    assert drift == [{"scenario": "userns", "mode": "userns", "step": "registry-userns", "machine": "debian12",
                      "fact": "uid_host", "before": 999, "after": real_host_uid,
                      "before_engine": engine, "after_engine": engine}]
    assert f"debian12 userns/userns/registry-userns: uid_host: 999 -> {real_host_uid}" in process.stdout


def test_html_report_renders_in_headless_chromium(userns_run, workshop_run, tmp_path):
    if CHROMIUM is None:
        missing_from_setup("Debian's chromium is not installed")
    out = tmp_path / "report"
    assert invoke("compare", "--runs", f"{userns_run[1]},{workshop_run[1]}", "--out", str(out)).returncode == 0
    url = (out / "report.html").as_uri()
    profile = tmp_path / "profile"
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert '<table class="compare" id="compare">' in dom.stdout
    assert dom.stdout.count("<tr>") == 1 + 34
    assert "uid 165536" in dom.stdout                       # the mapping picture
    screenshot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1800",
                    f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20000
