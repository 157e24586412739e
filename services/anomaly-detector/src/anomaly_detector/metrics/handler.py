"""metrics.metric-samples-received.v1 -> AnomalyDetected(kind=metric_anomaly), once per episode.

All samples of a consumer batch are scored together: the k-th sample of every series in one
scorer step (one model call per round across series), exactly as `MetricDetector.score` does for
`score-csv`, so a CSV scored offline and the same values from Kafka get the same scores. Per
series, the scorer's row, the last timestamp and the open episode live in a state store
(compacted topic `anomaly-detector.state.metrics.v1`, bytes from series_state.py), so a restarted
detector resumes where it stopped, never reports an episode twice, and a replayed sample
(timestamp not newer than the series' last) is neither learned nor reported again. A series'
state is written when its episode changes and otherwise every `MetricRules.checkpoint_s` of
sample time, not after every batch: with many series and a sample or two per batch each, a
write per batch would cost a few KB of Kafka traffic per sample.

Speed: per sample the handler only reads its timestamp and value into lists; slots, rounds,
episodes and state are worked out per batch with numpy, and the state of the series a batch
changed is encoded in one pass.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from anomaly_detector.domain.findings import Suspect
from anomaly_detector.domain.params import DeployParams
from anomaly_detector.handlers import ANOMALIES_TOPIC as ANOMALIES_TOPIC
from anomaly_detector.handlers import SERVICE, suspect_record
from anomaly_detector.metrics.deploys import (
    MetricDeploys,
    OpenShift,
    suspect_evidence,
    suspect_summary,
)
from anomaly_detector.metrics.detector import Sample, Scored
from anomaly_detector.metrics.replay import series_key
from anomaly_detector.metrics.scoring import (
    DETECTION_THRESHOLD,
    Floats,
    Forecaster,
    Params,
    Scorer,
)
from anomaly_detector.metrics.series_state import Header, Ints, SeriesCodec, rounds
from cc.events import (
    AnomalyDetected,
    DeploymentObserved,
    MetricSamplesReceived,
    MetricSeries,
    Signature,
    deterministic_id,
    new_metadata,
)
from cc.kafka import BatchHandler, Outgoing, Received
from cc.kafka.state import StateStore

STATE_TOPIC = "anomaly-detector.state.metrics.v1"
KEY_CACHE = 200_000


@dataclass(frozen=True)
class MetricRules:
    """When a score is an anomaly, when its episode is over and how often state is written."""

    threshold: float = DETECTION_THRESHOLD
    episode_gap_s: float = 1800.0
    """An episode ends after this long (sample time) without an anomalous sample."""
    checkpoint_s: float = 300.0
    """A series' state is written once its samples are this far (sample time) past the last
    write, and at once whenever it has an anomalous sample (0: after every batch)."""


@dataclass
class Batch:
    """The new samples of a consumer batch: per sample its series row, time, value and origin."""

    rows: Ints
    times: list[float]
    values: list[float]
    origin: Ints
    sources: list[tuple[Received, MetricSeries]]


class MetricHandler:
    """Scores metric samples per series in batches and reports each anomalous episode once."""

    def __init__(
        self,
        store: StateStore,
        forecaster: Forecaster,
        model_version: str,
        rules: MetricRules | None = None,
        params: Params | None = None,
        deploys: MetricDeploys | None = None,
    ) -> None:
        self.store = store
        self.deploys = deploys
        self.scorer = Scorer(forecaster, params)
        self.codec = SeriesCodec(self.scorer)
        self.model_version = model_version
        self.rules = rules or MetricRules()
        self.keys: list[str] = []  # per row: the series key (also its state key)
        self.last_seen: list[float] = []
        self.episode_start: list[float] = []  # 0 = no open episode
        self.episode_last: list[float] = []
        self.saved_at: list[float] = []  # per row: the last timestamp its stored state holds
        self._rows: dict[str, int] = {}
        self._idents: dict[tuple[object, ...], int] = {}

    def __call__(self, items: list[Received]) -> list[Outgoing]:
        """Handle a consumer batch (deploys first: a shift in the same batch may follow one)."""
        out: list[Outgoing] = []
        if self.deploys is not None:
            for item in items:
                if isinstance(item.event, DeploymentObserved):
                    self.deploys.observe(item.event)
                    out += self.deploys.blame(item, self.episode_start, self.episode_last)
        batch = self.gather(items)
        if not batch.times:
            return out
        score, expected, baseline, spread = self.score(batch)
        hot = (score >= self.rules.threshold) & np.isfinite(expected)
        episodes: set[int] = set()
        for p in np.flatnonzero(hot).tolist():
            row, at, value = int(batch.rows[p]), batch.times[p], batch.values[p]
            episodes.add(row)
            if self._opens_episode(row, at):
                item, series = batch.sources[int(batch.origin[p])]
                sample = Sample(self.keys[row], at, value)
                found = Scored(
                    sample,
                    float(score[p]),
                    float(expected[p]),
                    float(baseline[p]),
                    float(spread[p]),
                )
                suspect = None
                if self.deploys is not None:
                    shift = OpenShift(
                        self.keys[row],
                        series.name,
                        dict(series.labels),
                        signature_of(series.labels),
                        found.score,
                    )
                    suspect = self.deploys.opened(row, shift, at)
                anomaly = self._anomaly(found, series, item, suspect)
                out.append(Outgoing(ANOMALIES_TOPIC, signature_key(series), anomaly))
        self._save(np.unique(batch.rows), episodes)
        return out

    def gather(self, items: list[Received]) -> Batch:
        """The batch's new samples: replayed (not newer than the series' last) or non-finite
        ones are dropped, and each series' last timestamp moves on."""
        times: list[float] = []
        values: list[float] = []
        counts: list[int] = []
        entry_rows: list[int] = []
        sources: list[tuple[Received, MetricSeries]] = []
        last_seen, isfinite = self.last_seen, math.isfinite
        for item in items:
            if not isinstance(item.event, MetricSamplesReceived):
                continue
            for series in item.event.series:
                row = self._idents.get((series.name, *series.labels.items()))
                if row is None:
                    row = self._open(series)
                last = last_seen[row]
                before = len(times)
                for s in series.samples:
                    at = s.timestamp.timestamp()
                    if at > last and isfinite(s.value):
                        last = at
                        times.append(at)
                        values.append(s.value)
                if len(times) > before:
                    last_seen[row] = last
                    counts.append(len(times) - before)
                    entry_rows.append(row)
                    sources.append((item, series))
        repeat = np.asarray(counts, dtype=np.int64)
        rows = np.repeat(np.asarray(entry_rows, dtype=np.int64), repeat)
        origin = np.repeat(np.arange(len(counts), dtype=np.int64), repeat)
        return Batch(rows, times, values, origin, sources)

    def score(self, batch: Batch) -> tuple[Floats, Floats, Floats, Floats]:
        """Score, expected value, baseline and spread of every sample of the batch."""
        n = len(batch.times)
        values = np.asarray(batch.values, dtype=np.float64)
        times = np.asarray(batch.times, dtype=np.float64)
        score, expected, baseline, spread = (np.zeros(n) for _ in range(4))
        for members in rounds(batch.rows):
            r = self.scorer.step(batch.rows[members], values[members], times[members])
            score[members] = r.score
            expected[members] = r.expected
            baseline[members] = r.baseline
            spread[members] = r.spread
        return score, expected, baseline, spread

    def _opens_episode(self, row: int, at: float) -> bool:
        """Note an anomalous sample; True when it starts an episode (none open, or the last
        anomalous sample is more than the gap ago: the old episode ended quietly)."""
        start, last = self.episode_start[row], self.episode_last[row]
        self.episode_last[row] = at
        if start and at - last <= self.rules.episode_gap_s:
            return False
        self.episode_start[row] = at
        return True

    def _open(self, series: MetricSeries) -> int:
        """The row of a series first seen in this process: its known row, or a new one restored
        from the store (labels may arrive in another order: rows go by the canonical key)."""
        key = series_key(series.name, series.labels)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = len(self.keys)
            if row >= len(self.scorer.bank):  # grow by doubling: new series stay cheap
                self.scorer.grow(max(64, len(self.scorer.bank)))
            self.keys.append(key)
            blob = self.store.get(key)
            head = None if blob is None else self.codec.restore(row, blob)
            head = head or Header(-math.inf, 0.0, 0.0)
            self.last_seen.append(head.last_seen)
            self.episode_start.append(head.episode_start)
            self.episode_last.append(head.episode_last)
            self.saved_at.append(head.last_seen)
        if len(self._idents) > KEY_CACHE:
            self._idents.clear()
        self._idents[(series.name, *series.labels.items())] = row
        return row

    def _save(self, touched: Ints, episodes: set[int]) -> None:
        """Write the state of the series that are due: an episode changed (at once, so that a
        restart never reports it twice) or their samples moved `checkpoint_s` past the last
        write. Between writes a crash loses only some learning: committed samples after the
        last write are not delivered again, and the scorer sees a gap, as after a missed scrape.
        """
        every = self.rules.checkpoint_s
        rows = [
            r
            for r in touched.tolist()
            if r in episodes or self.last_seen[r] - self.saved_at[r] >= every
        ]
        if not rows:
            return
        heads = [
            Header(self.last_seen[r], self.episode_start[r], self.episode_last[r]) for r in rows
        ]
        blobs = self.codec.encode(np.asarray(rows, dtype=np.int64), heads)
        for r, blob in zip(rows, blobs, strict=True):
            self.store.put(self.keys[r], blob)
            self.saved_at[r] = self.last_seen[r]

    def _anomaly(
        self, scored: Scored, series: MetricSeries, item: Received, suspect: Suspect | None
    ) -> AnomalyDetected:
        key, at = scored.sample.key, scored.sample.timestamp
        when = datetime.fromtimestamp(at, UTC)
        anomaly_id = deterministic_id("metric-anomaly", key, repr(at))
        value = scored.sample.value
        deviation = (value - scored.expected) / scored.spread if scored.spread else 0.0
        summary = (
            f"{series.name} of {signature_of(series.labels)['service'] or key} is {value:.4g}, "
            f"expected {scored.expected:.4g} ({deviation:+.1f} spreads)"
        )
        evidence = {
            "series": key,
            "metric": series.name,
            "observed": f"{value:.6g}",
            "expected": f"{scored.expected:.6g}",
            "baseline": f"{scored.baseline:.6g}",
            "spread": f"{scored.spread:.6g}",
            "deviation_spreads": f"{deviation:.2f}",
            "model_version": self.model_version,
        }
        if suspect is not None:
            summary += suspect_summary(suspect)
            evidence |= suspect_evidence(suspect)
        return AnomalyDetected(
            metadata=new_metadata(
                SERVICE,
                occurred_at=when,
                event_id=deterministic_id("anomaly-detected", anomaly_id, "started"),
                caused_by=item.event.metadata,
            ),
            anomaly_id=anomaly_id,
            kind="metric_anomaly" if suspect is None else "deploy_regression",
            phase="started",
            score=min(max(scored.score, 0.0), 1.0),
            signature=Signature(**signature_of(series.labels)),
            window_start=when,
            window_end=when,
            summary=summary,
            evidence=evidence,
            member_fingerprints=[],
            suspect=None if suspect is None else suspect_record(suspect),
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


def tune_gc() -> None:
    """Keep the collector off start-up objects and out of each batch (call once, after loading).

    TensorFlow leaves about a million long-lived objects, and a consumer batch keeps tens of
    thousands of decoded samples alive for a moment, which triggers full collections over all
    of them: in bench/detector/metrics_path.py those took about 40 % of the metric path. Objects
    built at start-up are frozen out of the collector's way and young collections run less often.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def build_metric_handler(
    store: StateStore,
    forecaster: Forecaster | None = None,
    *,
    model_version: str | None = None,
    rules: MetricRules | None = None,
    deploy: DeployParams | None = None,
) -> BatchHandler:
    """The batch handler for metrics.metric-samples-received.v1 (default model when none given).

    Wire it with `batch_handler=`, the store (a KafkaStateStore on STATE_TOPIC, loaded first)
    and `before_commit=store.flush`. With `deploy` (the detector file's deploy rules) it also
    takes DeploymentObserved events and names the deploy a shift follows (kind
    deploy_regression). Tunes the garbage collector once the model is loaded (see
    `tune_gc`): the service builds its loops at start-up.
    """
    if forecaster is None:
        from anomaly_detector.metrics.model import Forecaster as SavedForecaster

        saved = SavedForecaster()
        forecaster, model_version = saved, model_version or saved.version
    deploys = None if deploy is None else MetricDeploys(deploy, store)
    handler = MetricHandler(store, forecaster, model_version or "unknown", rules, None, deploys)
    tune_gc()

    def handle(items: list[Received]) -> Sequence[Outgoing]:
        return handler(items)

    return handle
