"""The id-range pictures of the HTML and JSON reports, drawn from runs recorded on real machines."""
import json
from pathlib import Path

from nslab.report.compare import IdPicture, build
from nslab.report.formats import html, json_report
from nslab.subids import SubIdRange

EVIDENCE = Path(__file__).resolve().parent.parent / "evidence"


def test_each_mode_shows_the_machines_ranges_where_container_root_lands_and_both_ps_views():
    comparison = build([EVIDENCE / "userns-debian12"])
    userns = comparison.id_pictures[("debian12#1", "userns")]
    assert [str(r) for r in userns.ranges] == ["vagrant:100000:65536", "dockremap:165536:65536"]
    assert userns.landings == [("registry", 0, 165536)]
    assert userns.processes == {("registry", 0): {"inside": ("root", 0), "host": ("165536", 165536)}}
    root = comparison.id_pictures[("debian12#1", "root")]
    assert root.processes[("registry", 1000)] == {"inside": ("1000", 1000), "host": ("vagrant", 1000)}
    bozo = comparison.id_pictures[("debian12#1", "bozo")]
    assert "bozo:5000:10000" in [str(r) for r in bozo.ranges] and bozo.landings == [("clock", 0, 5000)]


def test_overlapping_ranges_are_named_and_marked():
    picture = IdPicture(ranges=[SubIdRange("a", 100, 50), SubIdRange("b", 140, 50), SubIdRange("c", 400, 10)],
                        landings=[("x", 0, 100)])
    assert picture.overlaps() == [(SubIdRange("a", 100, 50), SubIdRange("b", 140, 50))]
    assert picture.top > 410


def test_the_html_draws_one_number_line_per_mode_and_the_json_carries_the_same():
    comparison = build([EVIDENCE / "userns-debian12"])
    page = html.render(comparison, [])
    assert page.count('<svg class="idline"') == 3
    assert "registry: uid 0 → 165536" in page and "clock: uid 0 → 5000" in page
    assert "registry: uid 0 → 0 (real root)" in page
    data = json.loads(json_report.render(comparison, []))
    userns = next(p for p in data["id_pictures"] if p["mode"] == "userns")
    assert userns["landings"] == [{"container": "registry", "container_uid": 0, "host_uid": 165536}]
    assert userns["processes"] == [{"container": "registry", "uid": 0, "inside": {"user": "root", "uid": 0},
                                    "host": {"user": "165536", "uid": 165536}}]
