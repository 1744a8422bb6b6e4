"""The house's rules, held over the imports: one order of layers, and judging and reporting never reach a machine."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent.parent / "nslab"
# Bottom first: a module imports its own layer and those below it, never one above.
LAYERS = [
    ("foundation", ["nslab.errors", "nslab.paths", "nslab.poll", "nslab.subids", "nslab.names"]),
    ("the run folder", ["nslab.run.records", "nslab.run.layout"]),
    ("check kinds", ["nslab.judge"]),
    ("registries of styles and engines", ["nslab.daemon.styles", "nslab.daemon.engines"]),
    ("configuration", ["nslab.config"]),
    ("judging runs", ["nslab.judge.run", "nslab.judge.prove", "nslab.judge.judgement_file"]),
    ("reports", ["nslab.report"]),
    ("machines", ["nslab.machines"]),
    ("daemon modes", ["nslab.daemon"]),
    ("labs", ["nslab.run"]),
    ("harness", ["nslab.harness"]),
    ("commands", ["nslab.commands"]),
]
# What an offline layer must never load: the SSH stack and the machines' libraries.
MACHINE_LIBRARIES = ("fabric", "paramiko", "docker", "vagrant", "invoke")


def module_of(path: Path) -> str:
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return module.removesuffix(".__init__")


def imports_of(path: Path) -> list[str]:
    """Absolute names of every module a file imports at run time (relative imports resolved); imports
    made for type checkers only (under `if TYPE_CHECKING:`) load nothing and are left out."""
    module = module_of(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    typing_only = {id(inner) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for statement in node.body for inner in ast.walk(statement)}
    names = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            names += [target] + [f"{target}.{alias.name}" for alias in node.names]
    return names


def layer_of(name: str) -> int | None:
    """The layer a module (or a name in it) belongs to: its longest prefix in LAYERS."""
    found = [(len(prefix), index) for index, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
             if name == prefix or name.startswith(prefix + ".")]
    return max(found)[1] if found else None


def test_every_module_has_its_layer():
    assert [module_of(p) for p in sorted(PACKAGE.rglob("*.py"))
            if module_of(p) != "nslab" and layer_of(module_of(p)) is None] == []


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = layer_of(module_of(path))
        for name in imports_of(path):
            theirs = layer_of(name)
            if own is not None and theirs is not None and theirs > own:
                upward.append(f"{module_of(path)} ({LAYERS[own][0]}) imports {name} ({LAYERS[theirs][0]})")
    assert sorted(set(upward)) == []


@pytest.mark.parametrize("where", ["judge", "report", "config", "run/layout.py", "run/records.py"])
def test_offline_layers_import_no_machine_library(where):
    paths = [PACKAGE / where] if where.endswith(".py") else sorted((PACKAGE / where).rglob("*.py"))
    offending = {f"{module_of(path)}: {name}" for path in paths for name in imports_of(path)
                 if name.split(".")[0] in MACHINE_LIBRARIES}
    assert offending == set()


def test_loading_judge_compare_and_lab_yaml_leaves_the_ssh_stack_unloaded():
    code = ("import sys, tasks, nslab.judge.run, nslab.report.compare, nslab.report.formats; "
            "from nslab.machines.inventory import load_lab; load_lab(); "
            "print(sorted(m for m in ('fabric', 'paramiko', 'docker', 'vagrant') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_resolver_sees_relative_imports_and_leaves_typing_only_ones_out():
    assert "nslab.machines.connection" in imports_of(PACKAGE / "run" / "capture.py")
    assert "nslab.machines.connection" not in imports_of(PACKAGE / "daemon" / "styles" / "base.py")
