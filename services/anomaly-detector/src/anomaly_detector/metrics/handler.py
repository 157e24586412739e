"""metrics.metric-samples-received.v1 -> AnomalyDetected(kind=metric_anomaly), once per episode.

All samples of a consumer batch are scored together (one model call per round across series).
Per series, the scorer's state and the open episode live in a state store (compacted topic
`anomaly-detector.state.metrics.v1`), so a restarted detector resumes where it stopped and a
replayed sample (timestamp not newer than the series' last) is neither learned nor reported again.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from anomaly_detector.metrics.detector import MetricDetector, Sample, Scored
from anomaly_detector.metrics.replay import series_key
from anomaly_detector.metrics.scoring import DETECTION_THRESHOLD, Forecaster, Params
from cc.events import (
    AnomalyDetected,
    MetricSamplesReceived,
    MetricSeries,
    Signature,
    deterministic_id,
    new_metadata,
)
from cc.kafka import BatchHandler, Outgoing, Received
from cc.kafka.state import StateStore

SERVICE = "anomaly-detector"
ANOMALIES_TOPIC = "anomalies.anomaly-detected.v1"
STATE_TOPIC = "anomaly-detector.state.metrics.v1"
EPISODE = struct.Struct("<dd")
KEY_CACHE = 200_000


@dataclass(frozen=True)
class MetricRules:
    """When a score is an anomaly and when its episode is over."""

    threshold: float = DETECTION_THRESHOLD
    episode_gap_s: float = 1800.0
    """An episode ends after this long (sample time) without an anomalous sample."""


@dataclass
class Episode:
    """The open anomalous episode of a series (start 0 = none)."""

    start: float = 0.0
    last: float = 0.0


class MetricHandler:
    """Scores metric samples per series in batches and reports each anomalous episode once."""

    def __init__(
        self,
        store: StateStore,
        forecaster: Forecaster,
        model_version: str,
        rules: MetricRules | None = None,
        params: Params | None = None,
    ) -> None:
        self.store = store
        self.detector = MetricDetector(forecaster, params)
        self.model_version = model_version
        self.rules = rules or MetricRules()
        self.episodes: dict[str, Episode] = {}
        self._keys: dict[tuple[object, ...], str] = {}

    def __call__(self, items: list[Received]) -> list[Outgoing]:
        """Handle a consumer batch."""
        samples: list[Sample] = []
        origin: list[tuple[Received, MetricSeries]] = []
        for item in items:
            if not isinstance(item.event, MetricSamplesReceived):
                continue
            for series in item.event.series:
                key = self._key(series)
                self._load(key)
                for s in series.samples:
                    samples.append(Sample(key, s.timestamp.timestamp(), s.value))
                    origin.append((item, series))
        out: list[Outgoing] = []
        touched: set[str] = set()
        for scored, (item, series) in zip(self.detector.score(samples), origin, strict=True):
            touched.add(scored.sample.key)
            anomaly = self._observe(scored, series, item)
            if anomaly is not None:
                out.append(anomaly)
        for key in touched:
            ep = self.episodes[key]
            self.store.put(key, EPISODE.pack(ep.start, ep.last) + self.detector.dump(key))
        return out

    def _key(self, series: MetricSeries) -> str:
        # labels arrive in the producer's order: remember the canonical key per that order
        seen = (series.name, *series.labels.items())
        key = self._keys.get(seen)
        if key is None:
            if len(self._keys) > KEY_CACHE:
                self._keys.clear()
            key = self._keys[seen] = series_key(series.name, series.labels)
        return key

    def _load(self, key: str) -> None:
        if key in self.episodes:
            return
        self.episodes[key] = Episode()
        blob = self.store.get(key)
        if blob is None or len(blob) < EPISODE.size:
            return
        if self.detector.restore(key, blob[EPISODE.size :]):
            start, last = EPISODE.unpack(blob[: EPISODE.size])
            self.episodes[key] = Episode(start, last)

    def _observe(self, scored: Scored, series: MetricSeries, item: Received) -> Outgoing | None:
        ep = self.episodes[scored.sample.key]
        at = scored.sample.timestamp
        if ep.start and at - ep.last > self.rules.episode_gap_s:
            ep.start = ep.last = 0.0
        if scored.score < self.rules.threshold or not math.isfinite(scored.expected):
            return None
        ep.last = at
        if ep.start:
            return None
        ep.start = at
        return Outgoing(ANOMALIES_TOPIC, signature_key(series), self._anomaly(scored, series, item))

    def _anomaly(self, scored: Scored, series: MetricSeries, item: Received) -> AnomalyDetected:
        key, at = scored.sample.key, scored.sample.timestamp
        when = datetime.fromtimestamp(at, UTC)
        anomaly_id = deterministic_id("metric-anomaly", key, repr(at))
        value = scored.sample.value
        deviation = (value - scored.expected) / scored.spread if scored.spread else 0.0
        return AnomalyDetected(
            metadata=new_metadata(
                SERVICE,
                occurred_at=when,
                event_id=deterministic_id("anomaly-detected", anomaly_id, "started"),
                caused_by=item.event.metadata,
            ),
            anomaly_id=anomaly_id,
            kind="metric_anomaly",
            phase="started",
            score=min(max(scored.score, 0.0), 1.0),
            signature=Signature(**signature_of(series.labels)),
            window_start=when,
            window_end=when,
            summary=(
                f"{series.name} of {signature_of(series.labels)['service'] or key} is {value:.4g}, "
                f"expected {scored.expected:.4g} ({deviation:+.1f} spreads)"
            ),
            evidence={
                "series": key,
                "metric": series.name,
                "observed": f"{value:.6g}",
                "expected": f"{scored.expected:.6g}",
                "baseline": f"{scored.baseline:.6g}",
                "spread": f"{scored.spread:.6g}",
                "deviation_spreads": f"{deviation:.2f}",
                "model_version": self.model_version,
            },
            member_fingerprints=[],
        )


def signature_of(labels: dict[str, str]) -> dict[str, str]:
    """What a series concerns: service (service / job / app), namespace, cluster, environment."""
    return {
        "service": labels.get("service") or labels.get("job") or labels.get("app", ""),
        "namespace": labels.get("namespace", ""),
        "alertname": "",
        "cluster": labels.get("cluster", ""),
        "environment": labels.get("env") or labels.get("environment", ""),
    }


def signature_key(series: MetricSeries) -> str:
    """Kafka key of the anomaly: service, namespace, metric name."""
    sig = signature_of(series.labels)
    return "|".join((sig["service"], sig["namespace"], series.name))


def build_metric_handler(
    store: StateStore,
    forecaster: Forecaster | None = None,
    *,
    model_version: str | None = None,
    rules: MetricRules | None = None,
) -> BatchHandler:
    """The batch handler for metrics.metric-samples-received.v1 (default model when none given).

    Wire it with `batch_handler=`, the store (a KafkaStateStore on STATE_TOPIC, loaded first)
    and `before_commit=store.flush`.
    """
    if forecaster is None:
        from anomaly_detector.metrics.model import Forecaster as SavedForecaster

        saved = SavedForecaster()
        forecaster, model_version = saved, model_version or saved.version
    handler = MetricHandler(store, forecaster, model_version or "unknown", rules)

    def handle(items: list[Received]) -> Sequence[Outgoing]:
        return handler(items)

    return handle
