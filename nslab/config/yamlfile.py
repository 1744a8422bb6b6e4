"""YAML files validated by pydantic models, with errors that name file, line and key."""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)
# libyaml's parser where PyYAML was built with it (Debian's and PyPI's wheels are): judging a
# folder of nightly runs parses each run's scenario copy.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Loc = tuple[Any, ...]


class YamlDoc:
    """A parsed YAML file that remembers the line of every key and item."""

    def __init__(self, path: Path, data: Any, lines: dict[Loc, int]):
        self.path = path
        self.data = data
        self._lines = lines

    @classmethod
    def read(cls, path: Path) -> YamlDoc:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        loader = LOADER(text)
        try:
            # One parse: the node tree gives the lines, and the data is built from it.
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem or exc.context}") from None
        finally:
            loader.dispose()
        lines: dict[Loc, int] = {}
        if root is not None:
            _index(path, root, (), lines)
        return cls(path, data, lines)

    def line(self, loc: Loc) -> int:
        """Line of the deepest part of loc that exists in the file."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self._lines:
                return self._lines[loc[:end]]
        return 1

    def error(self, loc: Loc, message: str) -> ConfigError:
        loc = self._in_file(loc)
        where = _dotted(loc)
        prefix = f"{self.path}:{self.line(loc)}: "
        return ConfigError(prefix + (f"{where}: " if where else "") + message)

    def _in_file(self, loc: Loc) -> Loc:
        # pydantic adds union member names and tags ("int", "Step") to a loc;
        # only parts that are real keys or indexes of the file are kept.
        kept: Loc = ()
        for part in loc:
            if kept + (part,) in self._lines:
                kept += (part,)
        return kept

    def validate(self, model: type[Model]) -> Model:
        try:
            return model.model_validate(self.data if self.data is not None else {})
        except ValidationError as exc:
            first = exc.errors()[0]
            message = first["msg"]
            if first["type"] == "extra_forbidden":
                message = f"unknown key '{first['loc'][-1]}'"
            elif first["type"] == "missing":
                message = f"missing required key '{first['loc'][-1]}'"
                raise self.error(first["loc"][:-1], message) from None
            raise self.error(first["loc"], message) from None


def _index(path: Path, node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise ConfigError(f"{path}:{key_node.start_mark.line + 1}: {_dotted(loc + (key,))}: duplicate key")
            seen.add(key)
            _index(path, value_node, loc + (key,), lines)
            lines[loc + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(path, item, loc + (position,), lines)


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
