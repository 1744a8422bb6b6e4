"""lab.yaml's machines, checked against the providers that bring them up: the one place that loads it."""
from __future__ import annotations

from pathlib import Path

from ..config.lab import Box, Inventory, read_inventory
from .providers import PROVIDERS


def load_lab(path: Path | None = None) -> Inventory:
    doc, lab = read_inventory(path)
    for name in lab.providers:
        if name not in PROVIDERS:
            raise doc.error(("providers", name), f"unknown provider '{name}' (known: {', '.join(PROVIDERS)})")
    for name, box in lab.boxes.items():
        if box.provider not in PROVIDERS:
            raise doc.error(("boxes", name, "provider"),
                            f"unknown provider '{box.provider}' (known: {', '.join(PROVIDERS)})")
        problem = PROVIDERS[box.provider].check_box(box)
        if problem:
            raise doc.error(("boxes", name), problem)
    return lab


def unavailable_reason(box: Box) -> str | None:
    """Why this box cannot run on this machine, or None when it can."""
    return PROVIDERS[box.provider].unavailable_reason(box)
