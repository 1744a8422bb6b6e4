"""`invoke box.build`: builds boxes offline here; Vagrant Cloud boxes have nothing to build."""
from __future__ import annotations

from ..errors import ConfigError
from ..machines.inventory import load_lab
from .common import check_provider, log, parse_boxes, using_host_services


@using_host_services
def execute(box_names: str | None = None, force: bool = False, provider: str | None = None) -> int:
    """Builds the named boxes, or every box built here."""
    from ..machines.boxes import build_box
    from ..machines.hostdocker import ensure_host_docker

    check_provider(provider)
    lab = load_lab()
    if box_names:
        boxes = parse_boxes(box_names, lab, provider)
    else:
        boxes = [b for b in lab.boxes.values() if b.built_here and provider in (None, b.provider)]
        if not boxes:
            raise ConfigError(f"--provider {provider}: no box of lab.yaml is built here for it "
                              f"(its boxes come from Vagrant Cloud)")
    for box in boxes:
        if not box.built_here:
            raise ConfigError(f"box {box.name} comes from Vagrant Cloud ({box.vagrant_box}): "
                              f"there is nothing to build")
    url = ensure_host_docker(log)
    for box in boxes:
        build_box(box, url, force=force, log=log)   # raises with the build log's path on failure
    return 0
