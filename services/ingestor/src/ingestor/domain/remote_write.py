"""Prometheus remote_write -> allow-listed `MetricSamplesReceived` batches, the rest counted.

Only series an allow-list rule matches are forwarded: the anomaly-detector models a few
families, and everything else Prometheus sends is dropped on purpose and counted by reason.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cc.events import MetricSample, MetricSamplesReceived, MetricSeries, new_metadata
from cc.events import deterministic_id as make_id
from ingestor.domain.protobuf_wire import decode_write_request

SERVICE = "ingestor"
MAX_SAMPLES_PER_EVENT = 5_000
#: estimated Avro size; Kafka refuses messages over 1 MiB by default
MAX_BYTES_PER_EVENT = 512 * 1024
SAMPLE_BYTES = 18  # an Avro double plus a zig-zag varint of epoch micros
#: why a series (or sample) was not forwarded
NOT_ALLOWLISTED, NO_METRIC_NAME, NO_FLOAT_SAMPLES = (
    "not_allowlisted",
    "no_metric_name",
    "no_float_samples",
)
SERIES_DROP_REASONS = (NOT_ALLOWLISTED, NO_METRIC_NAME, NO_FLOAT_SAMPLES)
STALE_MARKER, NATIVE_HISTOGRAM = "stale_marker", "native_histogram"
OUT_OF_RANGE = "timestamp_out_of_range"
# Prometheus marks a series gone with this NaN; it is not a value a model can use
STALE_NAN = struct.pack("<Q", 0x7FF0000000000002)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# what a datetime can hold: years 1 to 9999
FIRST_MS, LAST_MS = -62_135_596_800_000, 253_402_300_799_999
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
OPERATORS = ("=~", "!~", "!=", "=")


class AllowListError(ValueError):
    """The allow-list configuration is invalid; the message names the rule."""


@dataclass(frozen=True, slots=True)
class Matcher:
    """One Prometheus label matcher; a missing label matches as the empty string."""

    label: str
    op: str
    value: str
    regex: re.Pattern[str] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.regex is not None:
            return (self.regex.fullmatch(actual) is not None) == (self.op == "=~")
        return (actual == self.value) == (self.op == "=")


@dataclass(frozen=True, slots=True)
class Rule:
    """Forward a series when every matcher matches."""

    matchers: tuple[Matcher, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True)
class AllowList:
    """Rules by exact metric name, plus those whose name is a pattern."""

    by_name: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    patterns: tuple[Rule, ...] = ()

    def allows(self, labels: Mapping[str, str]) -> bool:
        """Does any rule match this series (labels including `__name__`)?"""
        exact = self.by_name.get(labels.get("__name__", ""), ())
        return any(r.matches(labels) for r in exact) or any(
            r.matches(labels) for r in self.patterns
        )


def parse_matcher(label: str, raw: object, *, where: str) -> Matcher:
    """`value` (equal), or an operator prefix: `=~regex`, `!=value`, `!~regex`, `=value`."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise AllowListError(f"{where}: {label!r} must be a string, got {raw!r}")
    text = str(raw)
    op = next((o for o in OPERATORS if text.startswith(o)), "")
    value = text[len(op) :]
    if not op:  # a metric "name" that is no valid name is a pattern over names
        op = "=~" if label == "__name__" and not METRIC_NAME.fullmatch(value) else "="
    if op in ("=", "!="):
        return Matcher(label, op, value)
    try:
        return Matcher(label, op, value, re.compile(f"(?s:{value})"))
    except re.error as exc:
        raise AllowListError(f"{where}: {label!r} regex {value!r}: {exc}") from None


def parse_allowlist(data: object) -> AllowList:
    """Rules from YAML-shaped data: a list of `{metric: ..., labels: {name: matcher}}`."""
    if data is None:
        return AllowList()
    if not isinstance(data, list):
        raise AllowListError("allow-list: expected a list of rules")
    by_name: dict[str, list[Rule]] = {}
    patterns = []
    for index, item in enumerate(data):
        where = f"allow-list rule {index}"
        if not isinstance(item, dict) or "metric" not in item:
            raise AllowListError(f"{where}: expected a mapping with `metric` (and `labels`)")
        if unknown := set(item) - {"metric", "labels"}:
            raise AllowListError(f"{where}: unknown keys {sorted(unknown)}")
        labels = item.get("labels") or {}
        if not isinstance(labels, dict):
            raise AllowListError(f"{where}: `labels` must be a mapping")
        name = parse_matcher("__name__", item["metric"], where=where)
        rule = Rule((name, *(parse_matcher(str(k), v, where=where) for k, v in labels.items())))
        if name.op == "=":
            by_name.setdefault(name.value, []).append(rule)
        else:
            patterns.append(rule)
    return AllowList({k: tuple(v) for k, v in by_name.items()}, tuple(patterns))


@dataclass(frozen=True)
class Tally:
    """What one request held: forwarded vs dropped, series and samples, by reason."""

    accepted_series: int = 0
    accepted_samples: int = 0
    dropped_series: Mapping[str, int] = field(default_factory=dict)
    dropped_samples: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Batches:
    """The events to publish (key = metric name) and the tally."""

    events: list[tuple[str, MetricSamplesReceived]]
    tally: Tally


def batches_from_request(
    write_request: bytes,
    allow: AllowList,
    *,
    max_samples: int = MAX_SAMPLES_PER_EVENT,
    max_bytes: int = MAX_BYTES_PER_EVENT,
) -> Batches:
    """Decode, filter and group: one event per metric family, split when over the caps."""
    dropped_series: Counter[str] = Counter()
    dropped_samples: Counter[str] = Counter()
    families: dict[str, dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]] = {}
    accepted_series = 0
    for wire in decode_write_request(write_request, allow.allows):
        name = wire.labels.get("__name__", "")
        reason = NO_METRIC_NAME if not name else None if wire.kept else NOT_ALLOWLISTED
        if reason is not None:
            dropped_series[reason] += 1
            dropped_samples[reason] += wire.sample_count + wire.histogram_count
            continue
        fresh = [s for s in wire.samples if not is_stale(s[1])]
        samples = [s for s in fresh if FIRST_MS <= s[0] <= LAST_MS]
        dropped_samples[STALE_MARKER] += len(wire.samples) - len(fresh)
        dropped_samples[OUT_OF_RANGE] += len(fresh) - len(samples)
        dropped_samples[NATIVE_HISTOGRAM] += wire.histogram_count
        if not samples:
            dropped_series[NO_FLOAT_SAMPLES] += 1
            continue
        accepted_series += 1
        key = tuple(sorted((k, v) for k, v in wire.labels.items() if k != "__name__"))
        # Prometheus sends one TimeSeries per sample: merge them back into one series
        families.setdefault(name, {}).setdefault(key, []).extend(samples)
    events = [
        (name, event(name, chunk))
        for name, series in families.items()
        for chunk in chunks(name, series, max_samples, max_bytes)
    ]
    tally = Tally(
        accepted_series,
        sum(len(s) for series in families.values() for s in series.values()),
        {r: n for r, n in dropped_series.items() if n},
        {r: n for r, n in dropped_samples.items() if n},
    )
    return Batches(events, tally)


def is_stale(value: float) -> bool:
    """Is this Prometheus's staleness marker (one particular NaN)?"""
    return math.isnan(value) and struct.pack("<d", value) == STALE_NAN


Chunk = list[tuple[tuple[tuple[str, str], ...], list[tuple[int, float]]]]


def chunks(
    name: str,
    series: Mapping[tuple[tuple[str, str], ...], list[tuple[int, float]]],
    max_samples: int,
    max_bytes: int,
) -> Iterator[Chunk]:
    """Series in order, split into chunks under both caps (a big series spans chunks)."""
    chunk: Chunk = []
    count = size = 0
    for labels, samples in series.items():
        samples.sort(key=lambda s: s[0])
        header = len(name) + sum(len(k) + len(v) + 2 for k, v in labels) + 8
        start = 0
        while start < len(samples):
            room = min(max_samples - count, (max_bytes - size - header) // SAMPLE_BYTES)
            if room <= 0 and chunk:
                yield chunk
                chunk, count, size = [], 0, 0
                continue
            taken = samples[start : start + max(room, 1)]
            chunk.append((labels, taken))
            count += len(taken)
            size += header + len(taken) * SAMPLE_BYTES
            start += len(taken)
    if chunk:
        yield chunk


def event(name: str, chunk: Chunk) -> MetricSamplesReceived:
    """One event; its id depends only on the family, label sets and timestamps."""
    digest = hashlib.sha256(name.encode())
    latest = chunk[0][1][-1][0]
    for labels, samples in chunk:
        digest.update(repr(labels).encode())
        digest.update(len(samples).to_bytes(4, "little"))
        digest.update(array("q", [t for t, _ in samples]).tobytes())
        latest = max(latest, samples[-1][0])
    series = [
        MetricSeries(
            name=name,
            labels=dict(labels),
            samples=[
                MetricSample(timestamp=EPOCH + timedelta(milliseconds=t), value=v)
                for t, v in samples
            ],
        )
        for labels, samples in chunk
    ]
    metadata = new_metadata(
        SERVICE,
        # the samples' own time keeps a retried request's events identical
        occurred_at=EPOCH + timedelta(milliseconds=latest),
        event_id=make_id("metric-samples-received", name, digest.hexdigest()),
    )
    return MetricSamplesReceived(metadata=metadata, series=series)
