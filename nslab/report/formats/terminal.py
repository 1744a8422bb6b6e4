"""The comparison as a terminal table (rich): yellow where machines differ, red where a fact drifted."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..compare import Change, Comparison, QuestionTable
from ..table import STYLES


def terminal_table(comparison: Comparison, changes: list[Change]) -> Table:
    changed = {(c.row, c.machine) for c in changes}
    table = Table(title="nslab compare: modes × machines (yellow: machines differ; red: changed since baseline)")
    table.add_column("lab / mode / step", overflow="fold")
    for column in comparison.columns:
        table.add_column(f"{column.label}\n{column.run_id}", overflow="fold")
    for row in comparison.rows:
        differs = comparison.differs(row)
        cells = []
        for column in comparison.columns:
            cell = comparison.cell(row, column)
            if cell is None:
                cells.append("")
                continue
            style = STYLES.get(cell.status, "")
            text = f"[{style}]{escape(cell.text())}[/]"
            if (row, column.machine) in changed:
                text = f"[on red]{text}[/]"
            elif differs:
                text = f"[on yellow]{text}[/]"
            cells.append(text)
        table.add_row(f"{row[0]} / {row[1]} / {comparison.title(row)}", *cells)
    return table

def question_table(table: QuestionTable) -> Table:
    """Questions × modes for one lab on one machine."""
    view = Table(title=f"{table.scenario}: what each mode buys, on {table.column.label}")
    view.add_column("question", overflow="fold")
    for mode in table.modes:
        view.add_column(mode, overflow="fold")
    for question, (title, refs) in table.questions.items():
        cells = [f"[{STYLES.get(cell.status, '')}]{escape(cell.answer())}[/]" if (cell := table.cell(question, mode))
                 else "" for mode in table.modes]
        view.add_row(escape(title) + "".join(f"\n[dim]{escape(ref)}[/]" for ref in refs), *cells)
    return view


def claim_table(comparison: Comparison) -> Table:
    """Per setting and machine: where a configuration-only reading and the behaviour agree, and where not."""
    view = Table(title="what a configuration-only audit reads, and what the machine does")
    view.add_column("setting")
    for column in comparison.columns:
        view.add_column(column.label, overflow="fold")
    for claim in comparison.claim_rows():
        view.add_row(claim.setting, *[("[yellow]" if "⚠" in said else "[green]") + escape(said) + "[/]" if said else ""
                                      for said in (claim.said(c.key) for c in comparison.columns)])
    return view


def print_comparison(console: Console, comparison: Comparison, changes: list[Change]) -> None:
    console.print(terminal_table(comparison, changes))
    for table in comparison.question_tables():
        console.print(question_table(table))
    if comparison.claim_rows():
        console.print(claim_table(comparison))
    for change in changes:
        console.print(f"[red]changed[/] {escape(change.describe())}")
    for column in comparison.columns:
        for flag in column.flags:
            console.print(f"[bold red]⚠ {escape(column.machine)} ({escape(column.run_id)}):[/] {escape(flag)}")
