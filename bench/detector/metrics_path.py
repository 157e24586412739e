"""Metric path benchmark: samples/s and per-sample scoring cost beside an Avro passthrough.

    uv run python bench/detector/metrics_path.py [--series 1000] [--per-event 100]
        [--rounds 60] [--batch 500] [--runs 5] [--default-gc]

Builds remote_write-like MetricSamplesReceived events (`--per-event` series of one sample each;
every series gets a sample per round, `--rounds` rounds per run) and encodes them with the
service's serde. In the same process, on one core, each run times on the same payloads:

- passthrough: decode every payload and re-encode the event (what any consumer must pay);
- metric path: decode a consumer batch of `--batch` events, the metric handler on it (all
  samples of a batch scored together: one compiled TensorFlow call per round across series; the
  state of the series due for a write encoded into an in-memory state store), encode the
  AnomalyDetected it produced, then the store's flush (the loop's before_commit).

The paths alternate which goes first; every run has new samples (later timestamps: no replays).
Prints the median samples/s of both, the median of the runs' ratios (target >= 0.5), and per
sample, pooled over the runs: the scorer's cost (time of each batched scoring step divided by the
samples in it) and the handler's (time of a batch through the handler divided by its samples),
p50 / p99 against the 1 ms target; also the latency of a whole consumer batch, of a batch of a
single event (one scoring round), and the state written (series writes per sample, bytes each).

Before timing, every series runs through the scorer's learning period (WARMUP rounds), and the
garbage collector is tuned as `build_metric_handler` does at the service's start-up
(`tune_gc`; `--default-gc` leaves Python's defaults). Progress on stderr, a table and a JSON
line on stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from anomaly_detector.metrics.handler import MetricHandler, tune_gc
from anomaly_detector.metrics.model import Forecaster
from anomaly_detector.metrics.scoring import WARMUP
from cc.events import MetricSample, MetricSamplesReceived, MetricSeries, Serde, new_metadata
from cc.kafka.state import MemoryStateStore
from cc.platform.runtime import make_serde
from cc.testing.events import received

TOPIC = "metrics.metric-samples-received.v1"
T0 = datetime(2026, 11, 26, tzinfo=UTC)
TARGET_RATIO = 0.5
TARGET_US = 1000.0


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


class CountingStore(MemoryStateStore):
    """The in-memory store, counting the writes and their bytes (what Kafka would carry)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.bytes = 0

    def put(self, key: str, value: bytes | None) -> None:
        """Set or delete a key, counted."""
        self.writes += 1
        self.bytes += len(value or b"")
        super().put(key, value)


class MetricPath:
    """The handler with its costs recorded: per scoring step and per consumer batch."""

    def __init__(self, serde: Serde) -> None:
        self.serde = serde
        self.forecaster = Forecaster()
        self.store = CountingStore()
        self.handler = MetricHandler(self.store, self.forecaster, self.forecaster.version)
        self.step_us: list[float] = []  # scorer cost per sample, per step
        self.handler_us: list[float] = []  # handler cost per sample, per batch
        self.batch_ms: list[float] = []  # decode + handle + encode + flush, per batch
        self.anomalies = 0
        plain_step = self.handler.scorer.step

        def timed_step(idx: Any, values: Any, times: Any = None) -> Any:
            t = time.perf_counter()
            out = plain_step(idx, values, times)
            self.step_us.append((time.perf_counter() - t) / len(idx) * 1e6)
            return out

        self.handler.scorer.step = timed_step  # type: ignore[method-assign]

    def warm(self, events: list[Any], batch: int) -> None:
        """Run events through the handler untimed."""
        for i in range(0, len(events), batch):
            self.handler([received(e, topic=TOPIC) for e in events[i : i + batch]])
        self.store.flush()
        self.step_us.clear()
        self.store.writes = self.store.bytes = 0

    def run(self, payloads: list[bytes], batch: int, samples_per_event: int) -> float:
        """Seconds for the payloads through decode, handler, encode and flush."""
        serde = self.serde
        started = time.perf_counter()
        for i in range(0, len(payloads), batch):
            t = time.perf_counter()
            items = [received(serde.decode(p, TOPIC), topic=TOPIC) for p in payloads[i : i + batch]]
            h = time.perf_counter()
            outs = self.handler(items)
            handled = time.perf_counter() - h
            for out in outs:
                serde.encode(out.event, out.topic)
            self.anomalies += len(outs)
            self.store.flush()
            self.batch_ms.append((time.perf_counter() - t) * 1e3)
            self.handler_us.append(handled / (len(items) * samples_per_event) * 1e6)
        return time.perf_counter() - started


def passthrough(serde: Serde, payloads: list[bytes]) -> float:
    """Seconds to decode and re-encode every payload."""
    started = time.perf_counter()
    for p in payloads:
        serde.encode(serde.decode(p, TOPIC), TOPIC)
    return time.perf_counter() - started


def pct(values: list[float], q: int) -> float:
    """The q-th percentile (q in 1..99)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--per-event", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--default-gc", action="store_true", help="leave the GC untuned")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for both loops
    serde = make_serde(None)
    path = MetricPath(serde)

    say(f"warming {args.series} series through {WARMUP} rounds")
    path.warm(build_events(args.series, args.per_event, WARMUP, 0, seed=1), args.batch)
    gc.collect()
    if not args.default_gc:
        tune_gc()

    samples = args.series * args.rounds
    base: list[float] = []
    metric: list[float] = []
    for run in range(args.runs):
        start = WARMUP + run * args.rounds
        events = build_events(args.series, args.per_event, args.rounds, start, seed=2 + run)
        payloads = [serde.encode(e, TOPIC) for e in events]
        del events
        for which in ("passthrough", "metric") if run % 2 == 0 else ("metric", "passthrough"):
            gc.collect()
            if which == "passthrough":
                base.append(samples / passthrough(serde, payloads))
            else:
                metric.append(samples / path.run(payloads, args.batch, args.per_event))
            say(f"run {run + 1} {which}: {(base if which == 'passthrough' else metric)[-1]:,.0f}/s")

    writes, state_bytes = path.store.writes, path.store.bytes
    # a lone event per batch (a quiet moment): what one scoring round costs end to end
    start = WARMUP + args.runs * args.rounds
    lone: list[float] = []
    for e in build_events(args.series, args.per_event, 10, start, seed=99):
        t = time.perf_counter()
        path.handler([received(e, topic=TOPIC)])
        lone.append((time.perf_counter() - t) * 1e3)

    b, m = statistics.median(base), statistics.median(metric)
    # both paths run back to back in each run: the ratio per run cancels most of the noise of a
    # shared machine, and its median is the figure to watch
    ratio = statistics.median(x / y for x, y in zip(metric, base, strict=True))
    step50, step99 = pct(path.step_us, 50), pct(path.step_us, 99)
    hand50, hand99 = pct(path.handler_us, 50), pct(path.handler_us, 99)
    print(
        f"metric samples: {samples:,} per run ({args.series:,} series x {args.rounds} rounds, "
        f"{args.per_event} series per event), consumer batches of {args.batch} events, median of "
        f"{args.runs} runs, one core, GC {'default' if args.default_gc else 'tuned (tune_gc)'}"
    )
    print(f"{'path':<14}{'samples/s':>12}")
    print(f"{'passthrough':<14}{b:>12,.0f}   decode + re-encode only")
    print(f"{'metric path':<14}{m:>12,.0f}   decode + score + encode anomalies + state")
    print(
        f"ratio metric / passthrough (median of the runs' ratios): {ratio:.3f} "
        f"(target >= {TARGET_RATIO})"
    )
    print(
        f"per sample: scoring step p50 {step50:.2f} us, p99 {step99:.2f} us; whole handler "
        f"p50 {hand50:.2f} us, p99 {hand99:.2f} us (target p99 <= {TARGET_US:.0f} us)"
    )
    print(
        f"consumer batch of {args.batch} events ({args.batch * args.per_event:,} samples): "
        f"p50 {pct(path.batch_ms, 50):.1f} ms, p99 {pct(path.batch_ms, 99):.1f} ms; "
        f"anomalies {path.anomalies}"
    )
    print(
        f"one event per batch ({args.per_event} samples): handler p50 {pct(lone, 50):.2f} ms, "
        f"p99 {pct(lone, 99):.2f} ms per batch"
    )
    print(
        f"state: {writes / (samples * args.runs):.3f} series writes per sample, "
        f"{state_bytes / max(writes, 1):,.0f} bytes per series (checkpoint every "
        f"{path.handler.rules.checkpoint_s:.0f} s of sample time, samples every 15 s)"
    )
    summary: dict[str, Any] = {
        "bench": "detector-metrics",
        "series": args.series,
        "samples_per_run": samples,
        "model": path.forecaster.version,
        "gc": "default" if args.default_gc else "tuned",
        "passthrough_samples_per_s": round(b),
        "metric_path_samples_per_s": round(m),
        "ratio": round(ratio, 3),
        "scoring_us_p50": round(step50, 2),
        "scoring_us_p99": round(step99, 2),
        "handler_us_p50": round(hand50, 2),
        "handler_us_p99": round(hand99, 2),
        "batch_ms_p50": round(pct(path.batch_ms, 50), 1),
        "batch_ms_p99": round(pct(path.batch_ms, 99), 1),
        "meets_targets": ratio >= TARGET_RATIO and max(step99, hand99) <= TARGET_US,
        "anomalies": path.anomalies,
        "lone_event_ms_p50": round(pct(lone, 50), 2),
        "lone_event_ms_p99": round(pct(lone, 99), 2),
        "state_writes_per_sample": round(writes / (samples * args.runs), 4),
        "state_bytes_per_series": round(state_bytes / max(writes, 1)),
        "runs": {"passthrough": [round(x) for x in base], "metric": [round(x) for x in metric]},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
