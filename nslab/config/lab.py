"""lab.yaml: the boxes nslab can bring up, shared with the Vagrantfile."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..errors import ConfigError
from ..paths import PROJECT_ROOT, vagrant_home
from .yamlfile import YamlDoc


class Box(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    distro: str
    provider: Literal["docker", "virtualbox", "libvirt"]
    config_style: Literal["daemon-json", "systemd-dropin", "docker-opts", "b2d-profile"] = "daemon-json"
    lab_images: Literal["offline", "pull"] = "offline"
    # Boxes nslab builds (provider docker): from Debian packages.
    suite: str | None = None
    mirror: str | None = None
    image: str | None = None
    init: Literal["systemd", "sysvinit"] = "systemd"
    layout: Literal["debian", "boot2docker"] = "debian"
    extra_packages: list[str] = []
    # The box this one is another provider's machine of: `--box debian12
    # --provider libvirt` picks the libvirt box that is the same as debian12.
    same_as: str | None = None
    # Boxes from Vagrant Cloud (need downloads and their provider).
    vagrant_box: str | None = None
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

    def unavailable_reason(self) -> str | None:
        """Why this box cannot run on this machine, or None when it can."""
        if self.provider == "docker":
            return None
        if self.built_here:
            from ..machines.hostvirt import missing_tools
            missing = missing_tools()
            return f"needs libvirt and qemu ({', '.join(missing)} not found; ./setup.sh installs them)" \
                if missing else None
        tool = {"virtualbox": "VBoxManage", "libvirt": "virsh"}[self.provider]
        if not shutil.which(tool):
            return f"needs the {self.provider} provider ({tool} not found)"
        stored = vagrant_home() / "boxes" / self.stored_box_name
        if not stored.exists() and os.environ.get("NSLAB_ALLOW_DOWNLOADS") != "1":
            return (f"needs the box {self.vagrant_box} from Vagrant Cloud: add it, or set "
                    f"NSLAB_ALLOW_DOWNLOADS=1 where downloads are possible")
        return None


class KnownLimit(BaseModel):
    """An error a machine of this provider gives for reasons of the host, not of the lab."""
    model_config = ConfigDict(extra="forbid")

    signature: str
    reason: str


class DockerProvider(BaseModel):
    model_config = ConfigDict(extra="forbid")

    create_args: list[str]
    known_limits: list[KnownLimit] = []


class LibvirtProvider(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: str
    network_address: str
    known_limits: list[KnownLimit] = []


class Providers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    docker: DockerProvider
    libvirt: LibvirtProvider


class Lab(BaseModel):
    model_config = ConfigDict(extra="forbid")

    boxes: dict[str, Box]
    providers: Providers
    default_boxes: list[str]

    def known_limits(self, box: Box) -> list[KnownLimit]:
        provider = getattr(self.providers, box.provider, None)
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


def load_lab(path: Path | None = None) -> Lab:
    doc = YamlDoc.read(path or PROJECT_ROOT / "lab.yaml")
    lab = doc.validate(Lab)
    for name, box in lab.boxes.items():
        box.name = name
        if box.provider == "docker" and not (box.suite and box.mirror and box.image):
            raise doc.error(("boxes", name), "a docker box is built here: it needs suite, mirror and image")
        if box.provider == "virtualbox" and not box.vagrant_box:
            raise doc.error(("boxes", name), "a virtualbox box needs vagrant_box")
        if box.provider == "libvirt" and bool(box.suite) == bool(box.vagrant_box):
            raise doc.error(("boxes", name), "a libvirt box needs either suite and mirror (built here) "
                                             "or vagrant_box (downloaded)")
        if box.built_here and not box.mirror:
            raise doc.error(("boxes", name), "a box built here needs a mirror")
        if box.provider == "libvirt" and box.built_here and box.init != "systemd":
            raise doc.error(("boxes", name, "init"), "a VM box is built with systemd")
        if box.same_as is not None and box.same_as not in lab.boxes:
            raise doc.error(("boxes", name, "same_as"), f"unknown box '{box.same_as}'")
    for position, name in enumerate(lab.default_boxes):
        if name not in lab.boxes:
            raise doc.error(("default_boxes", position), f"unknown box '{name}'")
    return lab
