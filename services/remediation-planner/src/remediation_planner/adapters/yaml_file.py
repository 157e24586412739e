"""Read a YAML file into a pydantic model; every problem is reported as `file:line: field: msg`."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class ConfigFileError(ValueError):
    """A configuration file is invalid; `problems` are `file:line: field: message` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class LocatedFile:
    """A parsed YAML file that remembers the line of every key and list item."""

    def __init__(self, path: Path) -> None:
        self.path = path
        text = path.read_text()
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = 1 if mark is None else mark.line + 1
            raise ConfigFileError([f"{path}:{line}: (yaml): {exc}"]) from exc
        self.lines: dict[Loc, int] = {}
        if root is not None:
            self._index(root, ())

    def validate(self, model: type[M]) -> M:
        """The file as `model`, or ConfigFileError naming every invalid field."""
        try:
            return model.model_validate(self.data if self.data is not None else {})
        except ValidationError as exc:
            raise ConfigFileError(
                [self.problem(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
            ) from exc

    def problem(self, loc: Loc, message: str) -> str:
        """`file:line: field: message`, with the line of the deepest part of `loc` in the file."""
        known = next(loc[:n] for n in range(len(loc), -1, -1) if loc[:n] in self.lines or n == 0)
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        return f"{self.path}:{self.lines.get(known, 1)}: {dotted or '(top)'}: {message}"

    def _index(self, node: yaml.Node, at: Loc) -> None:
        self.lines.setdefault(at, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[(*at, str(key.value))] = key.start_mark.line + 1
                self._index(value, (*at, str(key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*at, i))
