"""The house's rules, held over the imports: judging and reporting never reach a machine."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent.parent / "nslab"
# What an offline layer must never import: the machine layers and the SSH stack.
FORBIDDEN = ("nslab.machines", "nslab.daemon", "nslab.harness", "nslab.run.machine", "nslab.run.lab",
             "nslab.run.capture", "nslab.run.matrix", "nslab.run.images",
             "fabric", "paramiko", "docker", "vagrant", "invoke")


def imports_of(path: Path) -> list[str]:
    """Absolute names of every module a file imports (relative imports resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            names += [target] + [f"{target}.{alias.name}" for alias in node.names]
    return names


@pytest.mark.parametrize("layer", ["judge", "report", "config"])
def test_offline_layers_import_nothing_from_the_machine_layers(layer):
    offending = {f"{path.relative_to(PACKAGE.parent)}: {name}"
                 for path in sorted((PACKAGE / layer).rglob("*.py")) for name in imports_of(path)
                 if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
                 # lab.yaml and scenarios are checked against the registries of providers, config
                 # styles and engines, which load no machine code (held by the test below).
                 and not (layer == "config" and name.startswith(("nslab.machines.providers",
                                                                 "nslab.daemon.styles",
                                                                 "nslab.daemon.engines")))}
    assert offending == set()


def test_the_run_layout_is_readable_without_a_machine():
    assert not [name for name in imports_of(PACKAGE / "run" / "layout.py")
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]


def test_loading_judge_compare_and_lab_yaml_leaves_the_ssh_stack_unloaded():
    code = ("import sys, tasks, nslab.judge.run, nslab.report.compare, nslab.report.formats; "
            "from nslab.config.lab import load_lab; load_lab(); "
            "print(sorted(m for m in ('fabric', 'paramiko', 'docker', 'vagrant') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_resolver_sees_relative_imports():
    assert "nslab.machines.connection" in imports_of(PACKAGE / "run" / "capture.py")
