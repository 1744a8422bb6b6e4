"""How `invoke bench` shows its results: the measures with their ratios, where a run's seconds went,
and the speed goals."""
from __future__ import annotations

from rich.table import Table


def spread_text(spread: dict) -> str:
    return f"{spread['median']:.1f}s [{spread['min']:.1f}–{spread['max']:.1f}]"


def measures_table(results: dict) -> Table:
    """Each column of the bench (median and spread), with its ratio and its goal."""
    r = results
    table = Table(title=f"nslab bench: {r['scenario']} lab, {r['repeat']} runs each (median \\[min–max])")
    for column in ("measure", "value", "ratio", "goal"):
        table.add_column(column)
    table.add_row("raw (one SSH connection, no harness)", spread_text(r["raw"]), "1.00", "the floor")
    table.add_row("nslab, machine up (command phase)", spread_text(r["nslab"]),
                  f"{r['ratios']['nslab_over_raw']:.2f}× raw", "≤ 1.15× raw")
    table.add_row("vagrant ssh -c per command", spread_text(r["vagrant_ssh"]),
                  f"{r['ratios']['vagrant_ssh_over_nslab']:.1f}× nslab", "nslab ≥ 20× faster")
    table.add_row("nslab from cold (bring-up, destroy)", spread_text(r["nslab_cold"]), "", "")
    table.add_row("round trip, nslab connection", f"{r['rtt_ms']['median']:.1f} ms (p95 {r['rtt_ms']['p95']:.1f})",
                  "", "≤ 10 ms median")
    table.add_row("round trip, vagrant ssh -c true", f"{r['vagrant_ssh_rtt_ms']['median']:.0f} ms", "", "")
    if r.get("matrix"):
        m = r["matrix"]
        table.add_row(f"matrix, {len(m['cells'])} cells", f"sequential {m['sequential_seconds']:.0f}s, "
                      f"--jobs 3 {m['jobs3_seconds']:.0f}s", f"{m['jobs3_over_sequential']:.2f}×", "≤ 0.6×")
    else:
        table.add_row("matrix", "no sequential and --jobs 3 run of the same cells yet", "", "≤ 0.6×")
    return table


def profile_lines(results: dict) -> list[str]:
    """Where the seconds of a warm run and of a cold one went."""
    warm, cold = results.get("profile_warm") or {}, results.get("profile_cold") or {}
    lines = []
    if warm:
        lines.append(f"profile of a warm {results['scenario']} run: {warm['total']:.1f}s = commands "
                     f"{warm['commands']:.1f}s + facts {warm['facts']:.1f}s + mode switches "
                     f"{warm['mode_switches']:.1f}s + verdicts and files {warm['other']:.1f}s"
                     + (f" (stopped early: {', '.join(warm['stopped_early'])})" if warm["stopped_early"] else ""))
    if cold:
        lines.append(f"profile of a cold run: {cold['total']:.1f}s = vagrant up {cold['vagrant_up']:.1f}s + "
                     f"connection {cold['connect']:.1f}s + lab {cold['lab']:.1f}s + destroy {cold['destroy']:.1f}s")
    return lines


def goals_table(goals: list[dict]) -> Table:
    """Each speed goal: its figure now and before, its limit, met or not, and where the figure comes from."""
    table = Table(title="speed goals (issue 12): figure now, before, met or not")
    for column in ("goal", "now", "before", "limit", "", "from"):
        table.add_column(column, overflow="fold")
    for goal in goals:
        now = "—" if goal["now"] is None else f"{goal['now']:.2f}{goal['unit']}"
        table.add_row(goal["goal"], now, goal["before"], f"≤ {goal['limit']}{goal['unit']}",
                      "[green]met[/]" if goal["met"] else "[bold red]not met[/]", goal["source"])
    return table
