"""lab.yaml: the boxes nslab can bring up, shared with the Vagrantfile."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..daemon.styles import CONFIG_STYLES
from ..errors import ConfigError
from ..paths import PROJECT_ROOT
from .yamlfile import YamlDoc


class Box(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    distro: str
    provider: str            # a name in nslab/machines/providers/
    config_style: str = "daemon-json"      # a name in nslab/daemon/styles/
    lab_images: Literal["offline", "pull"] = "offline"
    # Boxes nslab builds (provider docker): from Debian packages.
    suite: str | None = None
    image: str | None = None
    init: Literal["systemd", "sysvinit"] = "systemd"
    layout: Literal["debian", "boot2docker"] = "debian"
    extra_packages: list[str] = []
    # A sentinel box (the unstable suite): its recipe carries the day, so it is built anew
    # each day with whatever that suite packages then.
    rebuild_daily: bool = False
    # The box this one is another provider's machine of: `--box debian12
    # --provider libvirt` picks the libvirt box that is the same as debian12.
    same_as: str | None = None
    # Boxes from Vagrant Cloud (need downloads and their provider).
    vagrant_box: str | None = None
    # A machine without Docker (a pristine public box): nslab installs the engine before the first
    # mode, from the machine's own apt sources, or from a folder of .deb files on this host.
    docker: Literal["present", "install"] = "present"
    docker_packages: str | None = None
    # Existing hosts (provider ssh): reached as they are, left as found.
    host: str | None = None
    port: int = Field(default=22, ge=1, le=65535)
    user: str | None = None
    identity_file: str | None = None
    #: The known_hosts file the host's key is checked against (default: ~/.ssh/known_hosts).
    known_hosts: str | None = None
    note: str = ""

    @property
    def built_here(self) -> bool:
        """Built offline from Debian packages: a container image, or a VM box."""
        return self.suite is not None

    @property
    def box_name(self) -> str:
        """The Vagrant box of a VM machine (nslab's own for boxes built here)."""
        return self.vagrant_box or f"nslab/{self.name}"

    @property
    def stored_box_name(self) -> str:
        """The box's name as Vagrant (its boxes folder) and vagrant-libvirt (its volumes) write it."""
        return self.box_name.replace("/", "-VAGRANTSLASH-")


class KnownLimit(BaseModel):
    """An error a machine of this provider gives for reasons of the host, not of the lab."""
    model_config = ConfigDict(extra="forbid")

    signature: str
    reason: str


class ProviderSettings(BaseModel):
    """providers.<name> in lab.yaml: the known limits, and what that provider reads of its own."""
    model_config = ConfigDict(extra="allow")

    known_limits: list[KnownLimit] = []


class NightlyCells(BaseModel):
    """Every lab of `scenarios` on every box of `boxes`."""
    model_config = ConfigDict(extra="forbid")

    boxes: list[str]
    scenarios: list[str]


class Nightly(BaseModel):
    """nightly: in lab.yaml, what `invoke nightly` runs and how many nights it keeps."""
    model_config = ConfigDict(extra="forbid")

    cells: list[NightlyCells] = []
    jobs: int = Field(default=2, ge=1)
    keep: int = Field(default=14, ge=1)


class Inventory(BaseModel):
    """lab.yaml: the machines labs run on (its boxes, providers, nightly), not a lab itself."""
    model_config = ConfigDict(extra="forbid")

    boxes: dict[str, Box]
    providers: dict[str, ProviderSettings] = {}
    default_boxes: list[str]
    nightly: Nightly = Nightly()

    def known_limits(self, box: Box) -> list[KnownLimit]:
        provider = self.providers.get(box.provider)
        return provider.known_limits if provider else []

    def box(self, name: str, provider: str | None = None) -> Box:
        """A box by name; with a provider, that provider's machine of the same distro."""
        if name not in self.boxes:
            raise ConfigError(f"unknown box '{name}' (lab.yaml has: {', '.join(self.boxes)})")
        box = self.boxes[name]
        if provider is None or box.provider == provider:
            return box
        variants = [b for b in self.boxes.values() if b.same_as == name]
        for variant in variants:
            if variant.provider == provider:
                return variant
        have = ", ".join(f"{b.provider} ({b.name})" for b in [box, *variants])
        raise ConfigError(f"box '{name}' has no {provider} machine in lab.yaml (it has: {have})")


def read_inventory(path: Path | None = None) -> tuple[YamlDoc, Inventory]:
    """lab.yaml read and checked in itself (names that refer to boxes, config styles); what each
    provider says of its boxes is checked where the providers are (machines/inventory.py)."""
    doc = YamlDoc.read(path or PROJECT_ROOT / "lab.yaml")
    lab = doc.validate(Inventory)
    for name, box in lab.boxes.items():
        box.name = name
        if box.config_style not in CONFIG_STYLES:
            raise doc.error(("boxes", name, "config_style"), f"unknown config style '{box.config_style}' "
                                                             f"(known: {', '.join(CONFIG_STYLES)})")
        if box.same_as is not None and box.same_as not in lab.boxes:
            raise doc.error(("boxes", name, "same_as"), f"unknown box '{box.same_as}'")
    for position, name in enumerate(lab.default_boxes):
        if name not in lab.boxes:
            raise doc.error(("default_boxes", position), f"unknown box '{name}'")
    for group, cells in enumerate(lab.nightly.cells):
        for position, name in enumerate(cells.boxes):
            if name not in lab.boxes:
                raise doc.error(("nightly", "cells", group, "boxes", position), f"unknown box '{name}'")
    return doc, lab


HOST_SPEC = re.compile(r"(?P<user>[a-z_][a-z0-9_.-]*)@"
                       r"(?P<host>[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(?P<port>\d{1,5}))?")


def existing_hosts(text: str, identity: str | None, known_hosts: str | None = None) -> list[Box]:
    """`--host USER@HOST[:PORT],...`: a box of provider ssh for each, named host-HOST-PORT."""
    if not identity:
        raise ConfigError("--host needs --identity FILE: the private key nslab logs in with")
    boxes = []
    for spec in (part.strip() for part in text.split(",")):
        match = HOST_SPEC.fullmatch(spec)
        if not match or not 0 < int(match["port"] or 22) < 65536:
            raise ConfigError(f"--host {spec!r}: expected USER@HOST[:PORT], e.g. admin@127.0.0.1:2201")
        host, port = match["host"].strip("[]"), int(match["port"] or 22)
        box = Box(distro="existing host", provider="ssh", host=host, port=port, user=match["user"],
                  identity_file=identity, known_hosts=known_hosts)
        box.name = f"host-{host.replace(':', '_')}-{port}"
        boxes.append(box)
    names = [box.name for box in boxes]
    if len(set(names)) != len(names):
        raise ConfigError(f"--host {text}: a host is named twice")
    return boxes
