"""Load a YAML file into a pydantic model; problems are reported as "file:line: field: message"."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ValidationError

Location = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


def time_zone(value: str) -> str:
    """A pydantic field validator: the name of a known IANA time zone."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class YamlFileError(ValueError):
    """The file is invalid; `problems` are 'file:line: field: message' lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid file:\n" + "\n".join(problems))
        self.problems = problems


class YamlLines:
    """The 1-based line of every mapping key and sequence item of a parsed YAML file."""

    def __init__(self, path: Path, root: yaml.Node | None) -> None:
        self.path = path
        self.lines: dict[Location, int] = {}
        if root is not None:
            self._index(root, ())

    def _index(self, node: yaml.Node, at: Location) -> None:
        self.lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*at, str(key.value))
                self._index(value, child)
                self.lines[child] = key.start_mark.line + 1  # the key's line reads better
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*at, i))

    def problem(self, loc: Location, msg: str) -> str:
        """'file:line: field: message', the line of the deepest part of `loc` in the file."""
        line = 1
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.lines:
                line = self.lines[loc[:n]]
                break
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        return f"{self.path}:{line}: {field or '(top)'}: {msg}"


def load_yaml_model(path: Path, model: type[M]) -> tuple[M, YamlLines]:
    """Parse and validate `path` as `model`; raise YamlFileError naming every problem."""
    text = path.read_text()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise YamlFileError([f"{path}:{line}: (yaml): {exc}"]) from exc
    lines = YamlLines(path, root)
    try:
        return model.model_validate(data if data is not None else {}), lines
    except ValidationError as exc:
        problems = [lines.problem(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
        raise YamlFileError(problems) from exc
