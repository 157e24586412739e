"""Alert-detector benchmark: alert events/s through the detectors beside an Avro passthrough.

    uv run python bench/detector/alerts.py [--events 60000] [--runs 5]

Single thread, in this process, the same pre-encoded events both ways, in batches of 500 as the
consumer loop hands them over:

- *passthrough*: decode each event (Avro single-object) and encode it again.
- *detectors*: decode, `AlertHandlers.on_message` (storms with the seasonal baseline, deploy
  regressions, flapping/transient, rare signatures), encode every `AnomalyDetected` produced,
  then per batch a `tick` and the loop's `before_commit` (changed state -> JSON -> an in-memory
  state store).

The workload: 1,000 signatures (250 services x 4 alert names) over two days of event time with
a daily rhythm, 12 storms of 400 alerts, flapping alerts, resolves (a third of them within
minutes), Alertmanager re-sends of firing alerts, and deploys (some just before a storm).
Median of the runs, paths alternating; the ratio is the median of each run's ratio. Table on
stdout, then one JSON line; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opentelemetry import trace

from anomaly_detector.config import load_detector_file
from anomaly_detector.domain.detector import AlertDetectors
from anomaly_detector.handlers import ALERTS_TOPIC, DEPLOYMENTS_TOPIC, AlertHandlers
from cc.events import AlertReceived, AnomalyDetected, DeploymentObserved, Event, SingleObjectSerde
from cc.kafka import Received
from cc.kafka.state import MemoryStateStore
from cc.testing.incidents import deployed, firing

ROOT = Path(__file__).resolve().parents[2]
BATCH = 500
T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday
TARGET_PER_S, TARGET_RATIO = 10_000, 0.5


def say(message: str) -> None:
    sys.stderr.write(f"[bench/detector] {message}\n")
    sys.stderr.flush()


def _alert(
    fp: str, labels: dict[str, str], starts: datetime, ends: datetime | None
) -> AlertReceived:
    """A firing alert, or (with `ends`) its resolution."""
    if ends is None:
        return firing(fp, labels, at=starts, alertname=labels["alertname"])
    resolved = firing(fp, labels, at=ends, alertname=labels["alertname"], status="resolved")
    return replace(resolved, starts_at=starts)


def _deploy(app: str, namespace: str, at: datetime, n: int) -> DeploymentObserved:
    return replace(
        deployed(app, f"{n:040x}", namespace=namespace, at=at), started_at=at - timedelta(minutes=1)
    )


def workload(total: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """(topic, encoded event), in event-time order; see the module docstring."""
    rng = random.Random(seed)
    names = ("HighLatency", "ErrorRate", "PodRestarts", "DiskPressure")
    sigs = [
        {
            "alertname": names[i % 4],
            "service": f"svc{i // 4}",
            "namespace": f"ns{i // 40}",
            "severity": ("critical", "warning", "info")[i % 3],
            "cluster": "prod-eu-1",
        }
        for i in range(1000)
    ]
    rows: list[tuple[datetime, str, Event]] = []
    span_s = 2 * 86400
    storms = 12
    background = total - storms * 400 - 1000
    n = 0
    while len(rows) < background:
        # a daily rhythm: twice the alerts at midday as at midnight
        t = rng.uniform(0, span_s)
        if rng.random() > 0.5 + 0.5 * math.sin(math.pi * (t % 86400) / 86400):
            continue
        sig = sigs[int(rng.paretovariate(1.2)) % len(sigs)]
        starts = T0 + timedelta(seconds=t)
        fp = f"{n:016x}"
        n += 1
        labels = {**sig, "pod": f"{sig['service']}-{n % 7}"}
        rows.append((starts, ALERTS_TOPIC, _alert(fp, labels, starts, None)))
        roll = rng.random()
        if roll < 0.3:  # resolves: a third of them within minutes (transient)
            ends = starts + timedelta(seconds=rng.choice((90, 240, 1800, 7200)))
            rows.append((ends, ALERTS_TOPIC, _alert(fp, labels, starts, ends)))
        elif roll < 0.4:  # Alertmanager re-sends of the same firing
            rows.append(
                (starts + timedelta(minutes=5), ALERTS_TOPIC, _alert(fp, labels, starts, None))
            )
    for f in range(100):  # flapping: 4 fire/resolve cycles within an hour each
        sig = sigs[rng.randrange(len(sigs))]
        labels = {**sig, "pod": f"flappy-{f}"}
        first = rng.uniform(0, span_s - 3600)
        for c in range(4):
            starts = T0 + timedelta(seconds=first + c * 900)
            ends = starts + timedelta(minutes=10)
            rows.append((starts, ALERTS_TOPIC, _alert(f"flap{f:012d}", labels, starts, None)))
            rows.append((ends, ALERTS_TOPIC, _alert(f"flap{f:012d}", labels, starts, ends)))
    for s in range(storms):
        sig = sigs[rng.randrange(len(sigs))]
        begin = T0 + timedelta(seconds=rng.uniform(3600, span_s - 3600))
        if s % 2 == 0:  # every other storm right after a deploy of its service
            at = begin - timedelta(minutes=4)
            rows.append((at, DEPLOYMENTS_TOPIC, _deploy(sig["service"], sig["namespace"], at, s)))
        for a in range(400):
            starts = begin + timedelta(seconds=a * 0.3)
            labels = {**sig, "pod": f"storm-{a}"}
            rows.append((starts, ALERTS_TOPIC, _alert(f"st{s:02d}{a:012d}", labels, starts, None)))
    for d in range(200):  # other deploys, not followed by storms
        sig = sigs[rng.randrange(len(sigs))]
        at = T0 + timedelta(seconds=rng.uniform(0, span_s))
        rows.append((at, DEPLOYMENTS_TOPIC, _deploy(sig["service"], sig["namespace"], at, 100 + d)))
    rows.sort(key=lambda r: r[0])
    serde = SingleObjectSerde()
    return [(topic, serde.encode(event, topic)) for _, topic, event in rows]


def _received(topic: str, event: Event, offset: int) -> Received:
    return Received(event, topic, 0, offset, "", [], trace.INVALID_SPAN)


def passthrough(events: list[tuple[str, bytes]]) -> float:
    """Decode every event and encode it again."""
    serde = SingleObjectSerde()
    started = time.perf_counter()
    for i in range(0, len(events), BATCH):
        for topic, raw in events[i : i + BATCH]:
            serde.encode(serde.decode(raw, topic), topic)
    return len(events) / (time.perf_counter() - started)


def detectors_path(events: list[tuple[str, bytes]]) -> tuple[float, dict[str, int], int]:
    """Decode, detect, encode the anomalies; tick and write state per batch."""
    serde = SingleObjectSerde()
    params = load_detector_file(ROOT / "deploy" / "anomaly-detector" / "detector.yaml")
    store = MemoryStateStore()
    handlers = AlertHandlers(AlertDetectors(replace(params, lateness_seconds=0)), store)
    kinds: dict[str, int] = {}
    started = time.perf_counter()
    for i in range(0, len(events), BATCH):
        batch = events[i : i + BATCH]
        outputs = []
        last = T0
        for j, (topic, raw) in enumerate(batch):
            event = serde.decode(raw, topic)
            last = event.metadata.occurred_at
            outputs += handlers.on_message(_received(topic, event, i + j))
        outputs += handlers.tick(last)
        for out in outputs:
            serde.encode(out.event, out.topic)
            anomaly = out.event
            assert isinstance(anomaly, AnomalyDetected)
            key = f"{anomaly.kind}/{anomaly.phase}"
            kinds[key] = kinds.get(key, 0) + 1
        handlers.flush()
    rate = len(events) / (time.perf_counter() - started)
    return rate, kinds, sum(1 for _ in store.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    say(f"building {args.events} events")
    events = workload(args.events)
    say(f"{len(events)} events; warm-up")
    passthrough(events[:3000])
    detectors_path(events[:3000])
    base: list[float] = []
    detect: list[float] = []
    kinds: dict[str, int] = {}
    keys = 0
    for run in range(args.runs):
        for path in ("passthrough", "detectors") if run % 2 == 0 else ("detectors", "passthrough"):
            if path == "passthrough":
                base.append(passthrough(events))
            else:
                rate, kinds, keys = detectors_path(events)
                detect.append(rate)
            say(
                f"run {run + 1} {path}: {(base if path == 'passthrough' else detect)[-1]:,.0f} events/s"
            )
    b, d = statistics.median(base), statistics.median(detect)
    # each run measures both paths back to back: the ratio per run cancels most of the noise of
    # a shared machine, and its median is the figure to watch
    ratio = statistics.median(x / y for x, y in zip(detect, base, strict=True))
    print(
        f"alert events: {len(events):,} ({sum(t == ALERTS_TOPIC for t, _ in events):,} alerts, "
        f"{sum(t == DEPLOYMENTS_TOPIC for t, _ in events):,} deploys), batches of {BATCH}, "
        f"median of {args.runs} runs, one thread"
    )
    print(f"{'path':<14}{'events/s':>12}")
    print(f"{'passthrough':<14}{b:>12,.0f}   decode + encode only")
    print(f"{'detectors':<14}{d:>12,.0f}   decode + detect + encode anomalies + state")
    print(
        f"ratio detectors / passthrough (median of the runs' ratios): {ratio:.2f} "
        f"(target >= {TARGET_RATIO}); "
        f"detectors {d:,.0f} events/s per core (target >= {TARGET_PER_S:,})"
    )
    print(
        f"anomalies: {', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}; state keys {keys:,}"
    )
    summary: dict[str, Any] = {
        "bench": "detector-alerts",
        "events": len(events),
        "passthrough_per_s": round(b),
        "detectors_per_s": round(d),
        "ratio": round(ratio, 3),
        "meets_targets": d >= TARGET_PER_S and ratio >= TARGET_RATIO,
        "anomalies": kinds,
        "state_keys": keys,
        "runs": {"passthrough": [round(x) for x in base], "detectors": [round(x) for x in detect]},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
