"""report.md: the comparison as a Markdown table (a CI job summary)."""
from __future__ import annotations

from ..compare import Change, Comparison

FILE = "report.md"


def render(comparison: Comparison, changes: list[Change]) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["# nslab compare", "", "Runs: " + ", ".join(f"`{p.name}`" for p in comparison.runs), ""]
    for table in comparison.question_tables():
        lines += [f"## {table.scenario}: what each mode buys, on {escape(table.column.label)}", "",
                  "| question | " + " | ".join(table.modes) + " |", "|---" * (len(table.modes) + 1) + "|"]
        for question, (title, refs) in table.questions.items():
            answers = [escape(cell.answer()) if (cell := table.cell(question, mode)) else "" for mode in table.modes]
            cited = "<br>" + "<br>".join(f"<sub>{escape(ref)}</sub>" for ref in refs) if refs else ""
            lines.append(f"| {escape(title)}{cited} | " + " | ".join(answers) + " |")
        lines.append("")
    claims = comparison.claim_rows()
    if claims:
        lines += ["## What a configuration-only audit reads, and what the machine does", "",
                  "| setting | " + " | ".join(escape(c.label) for c in comparison.columns) + " |",
                  "|---" * (len(comparison.columns) + 1) + "|"]
        lines += [f"| {claim.setting} | " + " | ".join(escape(claim.said(c.key)) for c in comparison.columns) + " |"
                  for claim in claims]
        lines.append("")
    versioned = comparison.version_rows()
    if versioned:
        lines += ["## Facts the lab expects by Docker version", "",
                  "| lab / mode / step | " + " | ".join(f"{escape(c.machine)} · Docker {escape(c.docker_version)}"
                                                      for c in comparison.columns) + " |",
                  "|---" * (len(comparison.columns) + 1) + "|"]
        for row in versioned:
            cells = [escape(f"({cell.version_condition}) {cell.text()}")
                     if (cell := comparison.cell(row, col)) else "" for col in comparison.columns]
            lines.append(f"| {row[0]} / {row[1]} / {escape(comparison.title(row))} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("| lab / mode / step | " + " | ".join(escape(c.label) + f" ({c.run_id})"
                                                     for c in comparison.columns) + " |")
    lines.append("|---" * (len(comparison.columns) + 1) + "|")
    for row in comparison.rows:
        mark = " ⚠ machines differ" if comparison.differs(row) else ""
        cells = [escape(cell.text()) if (cell := comparison.cell(row, col)) else "" for col in comparison.columns]
        lines.append(f"| {row[0]} / {row[1]} / {escape(comparison.title(row))}{mark} | " + " | ".join(cells) + " |")
    flagged = [(c, f) for c in comparison.columns for f in c.flags]
    if flagged:
        lines += ["", "## Evidence that does not hold", ""]
        lines += [f"- ⚠ {escape(c.machine)} ({c.run_id}): {escape(f)}" for c, f in flagged]
    if changes:
        lines += ["", "## Drift against the baseline", ""]
        lines += [f"- {escape(c.describe())}" for c in changes]
    counts = ", ".join(f"{n} {s}" for s, n in sorted(comparison.counts().items()))
    lines += ["", f"Verdicts: {counts}", ""]
    return "\n".join(lines)
