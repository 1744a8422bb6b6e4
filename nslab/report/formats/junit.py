"""junit.xml: one test case per step; environment-limited steps are skipped cases."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..compare import Change, Comparison

FILE = "junit.xml"


def render(comparison: Comparison, changes: list[Change]) -> str:
    suites = ET.Element("testsuites", name="nslab")
    for column in comparison.columns:
        cells = [(row, cell) for row in comparison.rows if (cell := comparison.cell(row, column))]
        suite = ET.SubElement(suites, "testsuite", name=f"{column.machine} ({column.run_id})",
                              tests=str(len(cells)),
                              failures=str(sum(c.status == "fail" for _, c in cells)),
                              errors=str(sum(c.status in ("error", "not-run") for _, c in cells)),
                              skipped=str(sum(c.status == "environment-limited" for _, c in cells)))
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="machine", value=column.label)
        for row, cell in cells:
            case = ET.SubElement(suite, "testcase", classname=f"{row[0]}.{column.machine}",
                                 name=f"{row[1]}/{cell.number:02d}-{row[2]}")
            if cell.status == "fail":
                ET.SubElement(case, "failure", message=cell.text())
            elif cell.status in ("error", "not-run"):
                ET.SubElement(case, "error", message=cell.text())
            elif cell.status == "environment-limited":
                ET.SubElement(case, "skipped", message=cell.text())
            ET.SubElement(case, "system-out").text = cell.text()
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
