"""Boxes from Vagrant Cloud: usable where the provider's tool exists and the box is added."""
from __future__ import annotations

import os
import shutil

from ...paths import vagrant_home


def missing_download(box, tool: str) -> str | None:
    if not shutil.which(tool):
        return f"needs the {box.provider} provider ({tool} not found)"
    stored = vagrant_home() / "boxes" / box.stored_box_name
    if not stored.exists() and os.environ.get("NSLAB_ALLOW_DOWNLOADS") != "1":
        return (f"needs the box {box.vagrant_box} from Vagrant Cloud: add it, or set "
                f"NSLAB_ALLOW_DOWNLOADS=1 where downloads are possible")
    return None
