"""The generic webhook mapping file: YAML -> validated AlertMappings; errors as file:line: field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from ingestor.domain.generic_mapping import (
    AlertMapping,
    FieldSpec,
    JsonPath,
    KeyValues,
    Loc,
    Status,
    StatusSpec,
    TimeFormat,
    parse_path,
)

_MAPPING_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_DEPTH = 32  # a mapping file is shallow; this also stops recursive YAML aliases


class MappingFileError(ValueError):
    """The mapping file cannot be used; `problems` are `file:line: field: message` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid generic webhook mappings:\n  " + "\n  ".join(problems))
        self.problems = problems


def _scalar_path(text: object) -> JsonPath:
    if (path := parse_path(text)).all_keys:
        raise ValueError(f"{path.text}: `.*` is only for objects listed under labels/annotations")
    return path


def _object_path(text: object) -> JsonPath:
    if not (path := parse_path(text)).all_keys:
        raise ValueError(f"{path.text}: an object to copy ends in `.*`, e.g. $.labels.*")
    return path


def _has_group(pattern: re.Pattern[str]) -> re.Pattern[str]:
    if pattern.groups < 1:
        raise ValueError("extract needs a capture group, e.g. '^\\[[^]]*\\] (.*)$'")
    return pattern


def _label_name(name: str) -> str:
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a Prometheus label name ([A-Za-z_][A-Za-z0-9_]*)")
    if name == "alertname":
        raise ValueError("label `alertname` always comes from the `alertname` field")
    return name


def _mapping_name(name: str) -> str:
    if not _MAPPING_NAME.fullmatch(name):
        raise ValueError(f"{name!r}: a mapping name is [a-z0-9][a-z0-9_-]*, at most 63 chars")
    if name == "alertmanager":  # AlertReceived.source "alertmanager" means the native route
        raise ValueError("'alertmanager' is reserved for the Alertmanager webhook")
    return name


def _not_optional(optional: bool) -> bool:
    if optional:
        raise ValueError("starts_at cannot be optional: every alert state needs a start time")
    return optional


ScalarPath = Annotated[JsonPath, PlainValidator(_scalar_path)]
LabelName = Annotated[str, AfterValidator(_label_name)]
Extract = Annotated[re.Pattern[str], AfterValidator(_has_group)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _path_shorthand(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data


class _Field(_Strict):
    path: ScalarPath
    optional: bool = False
    extract: Extract | None = None

    def spec(self) -> FieldSpec:
        return FieldSpec(path=self.path, optional=self.optional, extract=self.extract)


class _Time(_Field):
    format: TimeFormat = "rfc3339"

    def spec(self) -> FieldSpec:
        return FieldSpec(
            path=self.path, optional=self.optional, extract=self.extract, time_format=self.format
        )


class _Start(_Time):
    optional: Annotated[bool, AfterValidator(_not_optional)] = False


class _Status(_Strict):
    path: ScalarPath
    extract: Extract | None = None
    map: dict[str, Status] = Field(default_factory=dict)
    default: Status | None = None

    def spec(self) -> StatusSpec:
        return StatusSpec(
            path=self.path, extract=self.extract, values=self.map, default=self.default
        )


class _Source(_Strict):
    path: Annotated[JsonPath, PlainValidator(_object_path)]
    optional: bool = False


class _Pairs(_Strict):
    copy_from: tuple[_Source, ...] = Field(default=(), alias="from")
    entries: dict[str, _Field] = Field(default_factory=dict, alias="set")

    def spec(self) -> KeyValues:
        copy_from = tuple(FieldSpec(path=s.path, optional=s.optional) for s in self.copy_from)
        return KeyValues(
            copy_from=copy_from, entries=tuple((k, f.spec()) for k, f in self.entries.items())
        )


class _Labels(_Pairs):
    entries: dict[LabelName, _Field] = Field(default_factory=dict, alias="set")


class _Mapping(_Strict):
    alerts: ScalarPath
    alertname: _Field
    status: _Status
    starts_at: _Start
    ends_at: _Time | None = None
    generator_url: _Field | None = None
    fingerprint: _Field | None = None
    labels: _Labels = _Labels()
    annotations: _Pairs = _Pairs()
    labels_static: dict[LabelName, str] = Field(default_factory=dict)

    def to_domain(self, name: str) -> AlertMapping:
        optional = (self.ends_at, self.generator_url, self.fingerprint)
        ends_at, generator_url, fingerprint = (f.spec() if f else None for f in optional)
        return AlertMapping(
            name=name,
            alerts=self.alerts,
            alertname=self.alertname.spec(),
            status=self.status.spec(),
            starts_at=self.starts_at.spec(),
            ends_at=ends_at,
            generator_url=generator_url,
            fingerprint=fingerprint,
            labels=self.labels.spec(),
            annotations=self.annotations.spec(),
            labels_static=self.labels_static,
        )


class MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mappings: dict[Annotated[str, AfterValidator(_mapping_name)], _Mapping]


def load_mappings(path: Path) -> dict[str, AlertMapping]:
    """Every mapping of the file by name; MappingFileError naming file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingFileError([f"{path}: cannot read: {exc}"]) from exc
    return parse_mappings(text, filename=str(path))


def parse_mappings(text: str, *, filename: str) -> dict[str, AlertMapping]:
    """The mappings in YAML text; MappingFileError lists every problem, not just the first."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            raise MappingFileError([f"{filename}:1: empty file; expected `mappings:`"])
        lines: dict[Loc, int] = {}
        if problems := _index(node, (), lines, filename):
            raise MappingFileError(problems)
        data = yaml.SafeLoader("").construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = "?" if mark is None else mark.line + 1
        raise MappingFileError([f"{filename}:{line}: {exc.problem or exc}"]) from exc
    except yaml.YAMLError as exc:
        raise MappingFileError([f"{filename}: {exc}"]) from exc
    try:
        parsed = MappingFile.model_validate(data)
    except ValidationError as exc:
        raise MappingFileError([_problem(filename, lines, e) for e in exc.errors()]) from exc
    return {name: mapping.to_domain(name) for name, mapping in parsed.mappings.items()}


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int], filename: str) -> list[str]:
    """Record the line of every key and item; duplicate keys (YAML keeps the last) are errors."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if len(loc) > _MAX_DEPTH:
        return [f"{filename}:{lines[loc]}: {_dotted(loc)}: nested too deep"]
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key, line = str(key_node.value), key_node.start_mark.line + 1
            if key in seen and key != "<<":
                problems.append(f"{filename}:{line}: {_dotted((*loc, key))}: duplicate key")
            seen.add(key)
            lines.setdefault((*loc, key), line)
            problems += _index(value_node, (*loc, key), lines, filename)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _index(item, (*loc, i), lines, filename)
    return problems


def _problem(filename: str, lines: dict[Loc, int], error: ErrorDetails) -> str:
    """`file:line: field: message`, the line of the deepest part of the field the YAML has."""
    loc = tuple(part for part in error["loc"] if part != "[key]")
    known = next(loc[:n] for n in range(len(loc), -1, -1) if loc[:n] in lines or n == 0)
    message = error["msg"].removeprefix("Value error, ")
    return f"{filename}:{lines.get(known, 1)}: {_dotted(loc)}: {message}"


def _dotted(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "."
