"""Metric path benchmark: samples/s and per-sample scoring latency beside an Avro passthrough.

    uv run python bench/detector/metrics_path.py [--series 1000] [--per-event 100]
        [--rounds 60] [--batch 500]

Builds remote_write-like MetricSamplesReceived events (`--per-event` series of one sample each;
every series gets a sample per round, `--rounds` rounds) and encodes them with the service's
serde. In the same process and run, on one core:

- passthrough: decode every payload and re-encode the event (what any consumer must pay);
- metric path: decode, then the metric handler on consumer batches of `--batch` events (all
  samples of a batch scored together: one compiled TensorFlow call per round across series,
  the state of every touched series written to an in-memory state store), then encode the
  AnomalyDetected it produced.

Prints samples/s of both and their ratio, the per-sample scoring latency (time of each batched
scoring step divided by the samples in it: p50 / p99 against the 1 ms target) and the latency of
a whole consumer batch through the handler. Warm-up: the first 200 rounds of every series (the
scorer's learning period) run before timing. Progress on stderr, a table and a JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from anomaly_detector.metrics.handler import MetricHandler
from anomaly_detector.metrics.model import Forecaster
from anomaly_detector.metrics.scoring import WARMUP
from cc.events import MetricSample, MetricSamplesReceived, MetricSeries, new_metadata
from cc.kafka.state import MemoryStateStore
from cc.platform.runtime import make_serde
from cc.testing.events import received

TOPIC = "metrics.metric-samples-received.v1"
T0 = datetime(2026, 11, 26, tzinfo=UTC)


def say(message: str) -> None:
    sys.stderr.write(f"[bench/detector/metrics] {message}\n")
    sys.stderr.flush()


def build_events(series: int, per_event: int, rounds: int, start: int, seed: int) -> list[Any]:
    """Events for `rounds` rounds: each round, every series gets one sample."""
    level = np.random.default_rng(0).lognormal(3, 1, series)  # the same series in every call
    rng = np.random.default_rng(seed)
    events = []
    for r in range(start, start + rounds):
        at = T0 + timedelta(seconds=15 * r)
        values = level * (1 + 0.1 * np.sin(r / 8 + np.arange(series))) + rng.normal(0, 1, series)
        for first in range(0, series, per_event):
            batch = [
                MetricSeries(
                    name="http_requests_per_second",
                    labels={"job": f"svc-{i}", "namespace": "shop", "cluster": "prod-eu-1"},
                    samples=[MetricSample(timestamp=at, value=float(values[i]))],
                )
                for i in range(first, min(first + per_event, series))
            ]
            events.append(
                MetricSamplesReceived(
                    metadata=new_metadata("ingestor", occurred_at=at), series=batch
                )
            )
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--per-event", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for both loops
    serde = make_serde(None)
    forecaster = Forecaster()
    store = MemoryStateStore()
    handler = MetricHandler(store, forecaster, forecaster.version)

    say(f"warming {args.series} series through {WARMUP} rounds")
    warm = build_events(args.series, args.per_event, WARMUP, 0, seed=1)
    for i in range(0, len(warm), args.batch):
        handler([received(e, topic=TOPIC) for e in warm[i : i + args.batch]])

    events = build_events(args.series, args.per_event, args.rounds, WARMUP, seed=2)
    payloads = [serde.encode(e, TOPIC) for e in events]
    samples = args.series * args.rounds
    say(f"{len(payloads)} payloads, {samples} samples")

    started = time.perf_counter()
    for p in payloads:
        serde.encode(serde.decode(p, TOPIC), TOPIC)
    passthrough_s = time.perf_counter() - started

    step_costs: list[float] = []
    scorer = handler.scorer
    plain_step = scorer.step

    def timed_step(idx: Any, values: Any) -> Any:
        t = time.perf_counter()
        out = plain_step(idx, values)
        step_costs.append((time.perf_counter() - t) / len(idx))
        return out

    scorer.step = timed_step  # type: ignore[method-assign]
    batch_s: list[float] = []
    produced = 0
    started = time.perf_counter()
    for i in range(0, len(payloads), args.batch):
        t = time.perf_counter()
        items = [
            received(serde.decode(p, TOPIC), topic=TOPIC) for p in payloads[i : i + args.batch]
        ]
        for out in handler(items):
            serde.encode(out.event, out.topic)
            produced += 1
        batch_s.append(time.perf_counter() - t)
    metric_s = time.perf_counter() - started

    q = statistics.quantiles(step_costs, n=100)
    bq = statistics.quantiles(batch_s, n=100) if len(batch_s) > 1 else [batch_s[0]] * 99
    result = {
        "series": args.series,
        "samples": samples,
        "model": forecaster.version,
        "passthrough_samples_per_s": round(samples / passthrough_s),
        "metric_path_samples_per_s": round(samples / metric_s),
        "ratio": round(passthrough_s / metric_s, 3),
        "per_sample_us_p50": round(q[49] * 1e6, 2),
        "per_sample_us_p99": round(q[98] * 1e6, 2),
        "batch_ms_p50": round(bq[49] * 1e3, 1),
        "batch_ms_p99": round(bq[98] * 1e3, 1),
        "anomalies": produced,
    }
    print(f"{'path':34s} {'samples/s':>12s}")
    print(f"{'passthrough (decode + re-encode)':34s} {result['passthrough_samples_per_s']:12,d}")
    print(f"{'metric path (decode+score+encode)':34s} {result['metric_path_samples_per_s']:12,d}")
    print(f"ratio metric/passthrough: {result['ratio']:.3f}")
    print(
        f"per-sample scoring: p50 {result['per_sample_us_p50']} us, p99 "
        f"{result['per_sample_us_p99']} us (target p99 <= 1000 us); consumer batch of "
        f"{args.batch} events: p50 {result['batch_ms_p50']} ms, p99 {result['batch_ms_p99']} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
