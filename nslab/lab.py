"""lab.yaml: the boxes nslab can bring up, shared with the Vagrantfile."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .errors import ConfigError
from .paths import PROJECT_ROOT
from .yamlfile import YamlDoc


class Box(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    distro: str
    provider: Literal["docker"]
    suite: str
    mirror: str
    image: str
    config_style: Literal["daemon-json"] = "daemon-json"
    lab_images: Literal["offline", "pull"] = "offline"


class KnownLimit(BaseModel):
    """An error a machine of this provider gives for reasons of the host, not of the lab."""
    model_config = ConfigDict(extra="forbid")

    signature: str
    reason: str


class DockerProvider(BaseModel):
    model_config = ConfigDict(extra="forbid")

    create_args: list[str]
    known_limits: list[KnownLimit] = []


class Providers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    docker: DockerProvider


class Lab(BaseModel):
    model_config = ConfigDict(extra="forbid")

    boxes: dict[str, Box]
    providers: Providers

    def known_limits(self, box: Box) -> list[KnownLimit]:
        return getattr(self.providers, box.provider).known_limits

    def box(self, name: str) -> Box:
        if name not in self.boxes:
            raise ConfigError(f"unknown box '{name}' (lab.yaml has: {', '.join(self.boxes)})")
        return self.boxes[name]


def load_lab(path: Path | None = None) -> Lab:
    doc = YamlDoc.read(path or PROJECT_ROOT / "lab.yaml")
    lab = doc.validate(Lab)
    for name, box in lab.boxes.items():
        box.name = name
    return lab
