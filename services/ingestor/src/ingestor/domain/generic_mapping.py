"""Generic JSON webhook: a mapping of field paths turns any tool's body into AlertReceived events."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, model_validator

from cc.events import AlertReceived, deterministic_id, new_metadata

SERVICE = "ingestor"
MAX_ERRORS = 50  # enough to fix a template; bounded so a huge bad body gives a small answer
Loc = tuple[str | int, ...]
Status = Literal["firing", "resolved"]
_STEP = r"\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\[\"[^\"]*\"\]|\['[^']*'\]"
_PATH = re.compile(rf"(\$\$?)((?:{_STEP})*)(\.\*)?")
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MISSING = object()


@dataclass(frozen=True)
class JsonPath:
    """A field path: `$` is the current alert, `$$` the whole body, a final `.*` every key."""

    text: str
    from_body: bool
    steps: Loc
    all_keys: bool


def parse_path(text: str) -> JsonPath:
    """`$.a.b`, `$.a[0].b`, `$["odd key"]`, `$$.envelope`, `$.labels.*`; ValueError otherwise."""
    match = _PATH.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a path like $.a.b, $.a[0].b, $['odd key'] or $.labels.*")
    steps: list[str | int] = []
    for step in re.findall(_STEP, match.group(2)):
        if step.startswith("."):
            steps.append(step[1:])
        elif step[1].isdigit():
            steps.append(int(step[1:-1]))
        else:
            steps.append(step[2:-2])
    return JsonPath(text.strip(), match.group(1) == "$$", tuple(steps), match.group(3) is not None)


def _scalar_path(text: Any) -> JsonPath:
    path = parse_path(text)
    if path.all_keys:
        raise ValueError(f"{path.text}: `.*` is only for objects listed under labels/annotations `from`")
    return path


def _object_path(text: Any) -> JsonPath:
    if not (path := parse_path(text)).all_keys:
        raise ValueError(f"{path.text}: an object to copy must end in `.*` (e.g. $.labels.*)")
    return path


def _alerts_path(text: Any) -> JsonPath:
    if (path := _scalar_path(text)).from_body:
        raise ValueError("`alerts` is always read from the body: write $ or $.list")
    return path


def _label_name(name: str) -> str:
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a label name ([A-Za-z_][A-Za-z0-9_]*)")
    if name == "alertname":
        raise ValueError("label `alertname` always comes from the `alertname` field")
    return name


ScalarPath = Annotated[JsonPath, PlainValidator(_scalar_path)]
ObjectPath = Annotated[JsonPath, PlainValidator(_object_path)]
LabelName = Annotated[str, AfterValidator(_label_name)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _path_shorthand(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data


class FieldSpec(_Spec):
    """Where a value is; `optional` allows it absent; `extract` keeps a regex's first group."""

    path: ScalarPath
    optional: bool = False
    extract: re.Pattern[str] | None = None

    @model_validator(mode="after")
    def _extract_has_a_group(self) -> FieldSpec:
        if self.extract is not None and self.extract.groups < 1:
            raise ValueError("extract needs a capture group, e.g. '^\\[[^]]*\\] (.*)$'")
        return self


class TimeSpec(FieldSpec):
    """A timestamp and its format."""

    format: Literal["rfc3339", "unix_seconds", "unix_millis"] = "rfc3339"


class StatusSpec(_Spec):
    """The tool's state value -> firing/resolved; `default` for values not in the map."""

    path: ScalarPath
    map: dict[str, Status] = Field(default_factory=dict)
    default: Status | None = None


class ObjectSource(_Spec):
    """An object whose every key becomes a label or annotation."""

    path: ObjectPath
    optional: bool = False


class KeyValues(BaseModel):
    """Labels or annotations: objects copied whole (`from`), then single entries (`set`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    copy_from: tuple[ObjectSource, ...] = Field(default=(), alias="from")
    entries: dict[str, FieldSpec] = Field(default_factory=dict, alias="set")

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, data: Any) -> Any:
        if isinstance(data, str | list):
            data = {"from": data}
        if isinstance(data, dict) and isinstance(data.get("from"), str):
            data = {**data, "from": [data["from"]]}
        return data


class LabelValues(KeyValues):
    """Labels: names must be Prometheus label names."""

    entries: dict[LabelName, FieldSpec] = Field(default_factory=dict, alias="set")


class AlertMapping(BaseModel):
    """How one tool's webhook body becomes alerts (see deploy/generic-webhooks/README.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    alerts: Annotated[JsonPath, PlainValidator(_alerts_path)]
    alertname: FieldSpec
    status: StatusSpec
    starts_at: Annotated[TimeSpec, AfterValidator(lambda t: _required(t, "starts_at"))]
    ends_at: TimeSpec | None = None
    generator_url: FieldSpec | None = None
    fingerprint: FieldSpec | None = None
    labels: LabelValues = LabelValues()
    annotations: KeyValues = KeyValues()
    labels_static: dict[LabelName, str] = Field(default_factory=dict)


def _required(spec: TimeSpec, name: str) -> TimeSpec:
    if spec.optional:
        raise ValueError(f"{name} cannot be optional: every alert state needs its start time")
    return spec


@dataclass(frozen=True)
class FieldError:
    """What failed, where in the body (`loc` relative to the body root)."""

    loc: Loc
    msg: str
    type: str


class UnmappableBody(ValueError):
    """The body does not fit the mapping; nothing of it may be published."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} field(s) could not be mapped")
        self.errors = errors


def label_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint: FNV-1a 64 over sorted name, 0xff, value, 0xff; 16 hex."""
    digest = 0xCBF29CE484222325
    for name in sorted(labels):
        for byte in name.encode() + b"\xff" + labels[name].encode() + b"\xff":
            digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def parse_time(value: Any, fmt: str) -> datetime:
    """An aware UTC datetime from RFC 3339 text or unix seconds/millis; ValueError otherwise."""
    if fmt == "rfc3339":
        match = _RFC3339.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"expected an RFC 3339 time with an offset, got {value!r}")
        text, fraction = match.group(0), match.group(1) or ""
        if fraction:  # Go sends nanoseconds; datetime keeps microseconds
            text = text[: match.start(1)] + fraction[:7].ljust(7, "0") + text[match.end(1) :]
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(UTC)
    number = _number(value)
    if number is None:
        raise ValueError(f"expected a number of {fmt.removeprefix('unix_')}, got {value!r}")
    try:
        if fmt == "unix_millis":
            return _EPOCH + timedelta(milliseconds=number)
        return _EPOCH + timedelta(seconds=number)
    except OverflowError as exc:
        raise ValueError(f"{value!r} is out of range for {fmt}") from exc


def _number(value: Any) -> int | float | None:
    """JSON numbers and numeric strings (templated tools quote them); ints stay exact."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            try:
                value = float(value.strip())
            except ValueError:
                return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if isinstance(value, int) or math.isfinite(value) else None
