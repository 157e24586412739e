"""Generic JSON webhook: a mapping of field paths turns a tool's body into AlertReceived events."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cc.events import AlertReceived, deterministic_id, new_metadata

SERVICE = "ingestor"
MAX_ERRORS = 50  # enough to fix a template; bounded so a huge bad body gets a small answer
Loc = tuple[str | int, ...]
Status = Literal["firing", "resolved"]
TimeFormat = Literal["rfc3339", "unix_seconds", "unix_millis"]
_STEP = r"\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\[\"[^\"]*\"\]|\['[^']*'\]"
_PATH = re.compile(rf"(\$\$?)((?:{_STEP})*)(\.\*)?")
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


def parse_path(text: object) -> JsonPath:
    """`$.a.b`, `$.a[0].b`, `$["odd key"]`, `$$.envelope`, `$.labels.*`; ValueError otherwise."""
    if not isinstance(text, str) or (match := _PATH.fullmatch(text.strip())) is None:
        raise ValueError(f"{text!r} is not a path like $.a.b, $.a[0].b, $['odd key'] or $.labels.*")
    steps: list[str | int] = []
    for step in re.findall(_STEP, match.group(2)):
        if step.startswith("."):
            steps.append(step[1:])
        else:
            steps.append(int(step[1:-1]) if step[1].isdigit() else step[2:-2])
    return JsonPath(text.strip(), match.group(1) == "$$", tuple(steps), bool(match.group(3)))


@dataclass(frozen=True, kw_only=True)
class FieldSpec:
    """Where a value is; `optional` allows it absent; `extract` keeps a regex's first group."""

    path: JsonPath
    optional: bool = False
    extract: re.Pattern[str] | None = None
    time_format: TimeFormat = "rfc3339"  # read for starts_at and ends_at only


@dataclass(frozen=True, kw_only=True)
class StatusSpec(FieldSpec):
    """The tool's state value -> firing/resolved; `default` for absent or unlisted values."""

    values: Mapping[str, Status] = field(default_factory=dict)
    default: Status | None = None


@dataclass(frozen=True, kw_only=True)
class KeyValues:
    """Labels or annotations: every key of objects (`.*` paths), then single entries."""

    copy_from: tuple[FieldSpec, ...] = ()
    entries: tuple[tuple[str, FieldSpec], ...] = ()


@dataclass(frozen=True, kw_only=True)
class AlertMapping:
    """How one tool's webhook body becomes alerts (format: deploy/generic-webhooks/README.md)."""

    name: str
    alerts: JsonPath
    alertname: FieldSpec
    status: StatusSpec
    starts_at: FieldSpec
    ends_at: FieldSpec | None = None
    generator_url: FieldSpec | None = None
    fingerprint: FieldSpec | None = None
    labels: KeyValues = KeyValues()
    annotations: KeyValues = KeyValues()
    labels_static: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldError:
    """What failed and where, `loc` counted from the body's root."""

    loc: Loc
    msg: str
    type: str


class UnmappableBodyError(ValueError):
    """The body does not fit the mapping; none of it may be published."""

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


def parse_time(text: str, fmt: str) -> datetime:
    """An aware UTC datetime from RFC 3339 or unix seconds/millis text; ValueError otherwise."""
    if fmt == "rfc3339":
        if (match := _RFC3339.fullmatch(text.strip())) is None:
            raise ValueError(f"expected an RFC 3339 time with an offset, got {text!r}")
        value, fraction = match.group(0), match.group(1) or ""
        if fraction:  # Go sends nanoseconds; datetime holds microseconds
            value = value[: match.start(1)] + fraction[:7].ljust(7, "0") + value[match.end(1) :]
        try:
            return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{text!r} is not a valid time: {exc}") from exc
    try:  # integers stay exact (no float rounding of millis); templating tools quote numbers
        number = int(text) if text.strip().lstrip("-").isdigit() else float(text)
        if not math.isfinite(number):
            raise ValueError(number)
        if fmt == "unix_millis":
            return _EPOCH + timedelta(milliseconds=number)
        return _EPOCH + timedelta(seconds=number)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"expected {fmt.replace('_', ' ')}, got {text!r}") from exc


def alerts_from_body(mapping: AlertMapping, body: Any) -> list[AlertReceived]:
    """One AlertReceived per alert of the body, or UnmappableBodyError naming every failed field."""
    reader = _Reader(body)
    events = [reader.event(mapping, item) for item in reader.alerts(mapping.alerts)]
    if reader.errors:  # a `$$` path fails once per alert: report it once
        raise UnmappableBodyError(list(dict.fromkeys(reader.errors))[:MAX_ERRORS])
    return [event for event in events if event is not None]


class _Reader:
    """Evaluates paths against one body, collecting every error instead of stopping at one."""

    def __init__(self, body: Any) -> None:
        self.body, self.alert = body, body
        self.alert_loc: Loc = ()
        self.errors: list[FieldError] = []

    def get(self, path: JsonPath) -> tuple[Any, Loc]:
        # null and "" count as absent: templating tools send them for unset variables
        node, base = (self.body, ()) if path.from_body else (self.alert, self.alert_loc)
        for step in path.steps:
            listed = isinstance(step, int) and isinstance(node, list) and step < len(node)
            if listed or (isinstance(step, str) and isinstance(node, dict) and step in node):
                node = node[step]
            else:
                node = _MISSING
                break
        return (_MISSING if node is None or node == "" else node), (*base, *path.steps)

    def alerts(self, path: JsonPath) -> list[tuple[Loc, Any]]:
        """A list's items, or the one alert object the path names (`$`: the whole body)."""
        found, loc = self.get(path)
        items = list(enumerate(found)) if isinstance(found, list) else [(None, found)]
        alerts = []
        for index, item in items:
            at = loc if index is None else (*loc, index)
            if isinstance(item, dict):
                alerts.append((at, item))
            elif item is _MISSING:
                self.fail(at, "field required", "missing")
            else:
                self.fail(at, "expected an alert object or a list of them", "type")
        return alerts

    def fail(self, loc: Loc, msg: str, kind: str) -> None:
        self.errors.append(FieldError(loc, msg, kind))

    def text(self, spec: FieldSpec | None, required: bool | None = None) -> tuple[str | None, Loc]:
        """A scalar as text after `extract`; None when absent (an error unless optional)."""
        if spec is None:
            return None, ()
        value, loc = self.get(spec.path)
        if isinstance(value, dict | list):
            self.fail(loc, "expected a string or a number", "type")
        elif value is _MISSING and (not spec.optional if required is None else required):
            self.fail(loc, "field required", "missing")
        elif value is not _MISSING:
            text = _as_text(value)
            found = spec.extract.search(text) if spec.extract else None
            return (text if found is None else found.group(1) or ""), loc
        return None, loc

    def time(self, spec: FieldSpec | None, required: bool | None = None) -> datetime | None:
        text, loc = self.text(spec, required)
        if text is None or spec is None:
            return None
        try:
            return parse_time(text, spec.time_format)
        except ValueError as exc:
            self.fail(loc, str(exc), "time")
            return None

    def status(self, spec: StatusSpec) -> Status | None:
        before = len(self.errors)
        text, loc = self.text(spec, required=False)
        known: dict[str, Status] = {"firing": "firing", "resolved": "resolved", **spec.values}
        if text is not None and text in known:
            return known[text]
        if spec.default is None and len(self.errors) == before:
            if text is None:
                self.fail(loc, "field required", "missing")
            else:
                self.fail(loc, f"{text!r} is not in the status map ({', '.join(known)})", "status")
        return spec.default

    def pairs(self, spec: KeyValues) -> dict[str, str]:
        """`from` objects in order, then `set` entries; an empty or null value drops the key."""
        out: dict[str, str] = {}
        for source in spec.copy_from:
            value, loc = self.get(source.path)
            if not isinstance(value, dict):
                if value is not _MISSING or not source.optional:  # a typo must not drop labels
                    self.fail(loc, "expected an object", "missing" if value is _MISSING else "type")
                continue
            for key, item in value.items():
                try:
                    out[key] = "" if item is None else _as_text(item)
                except RecursionError:  # orjson reads deeper nesting than json.dumps writes
                    self.fail((*loc, key), "nested too deep to become text", "type")
        for key, entry in spec.entries:
            out[key] = self.text(entry)[0] or ""
        return {k: v for k, v in out.items() if v != ""}

    def event(self, mapping: AlertMapping, item: tuple[Loc, Any]) -> AlertReceived | None:
        """The alert at `item`, or None when any of its fields failed (errors recorded)."""
        self.alert_loc, self.alert = item
        before = len(self.errors)
        labels = {**self.pairs(mapping.labels), **mapping.labels_static}
        if alertname := self.text(mapping.alertname)[0]:
            labels["alertname"] = alertname  # as in Alertmanager, the name is a label too
        status, starts = self.status(mapping.status), self.time(mapping.starts_at, required=True)
        # an end means nothing while firing; Go's zero time and the epoch mean "not ended"
        ends = self.time(mapping.ends_at) if status == "resolved" else None
        ends = None if ends is None or ends.year == 1 or ends == _EPOCH else ends
        fingerprint = self.text(mapping.fingerprint)[0] or label_fingerprint(labels)
        url, annotations = self.text(mapping.generator_url)[0], self.pairs(mapping.annotations)
        if len(self.errors) > before or status is None or starts is None:
            return None
        until = "" if ends is None else ends.isoformat()
        event_id = deterministic_id(
            "alert-received", mapping.name, fingerprint, status, starts.isoformat(), until
        )
        return AlertReceived(
            # the fact's own time keeps redeliveries identical, whenever they arrive
            metadata=new_metadata(SERVICE, occurred_at=ends or starts, event_id=event_id),
            source=mapping.name,
            fingerprint=fingerprint,
            status=status,
            alertname=labels.get("alertname", ""),
            labels=labels,
            annotations=annotations,
            starts_at=starts,
            ends_at=ends,
            generator_url=url or "",
        )


def _as_text(value: Any) -> str:
    """Strings as they are; numbers, booleans and nested values as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
