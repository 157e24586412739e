"""Read a MetricSamplesReceived topic from the start to its end, as one value array per series."""

from __future__ import annotations

import sys
import uuid

import numpy as np
from confluent_kafka import Consumer, TopicPartition

from anomaly_detector.metrics.scoring import Floats
from cc.events import MetricSamplesReceived
from cc.platform.runtime import make_serde


def series_key(name: str, labels: dict[str, str]) -> str:
    """Stable identity of a series: name{k=v,...} with sorted labels."""
    inner = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def replay_series(bootstrap: str, topic: str, registry_url: str | None = None) -> list[Floats]:
    """Every series on the topic, samples in timestamp order (progress on stderr)."""
    serde = make_serde(registry_url)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"anomaly-detector-train-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    ends: dict[int, int] = {}
    parts = []
    for p in meta.partitions:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = high
        parts.append(TopicPartition(topic, p, 0))
    consumer.assign(parts)
    total = sum(ends.values())
    seen = 0
    samples: dict[str, list[tuple[int, float]]] = {}
    done = {p for p, end in ends.items() if end == 0}
    while len(done) < len(ends):
        msg = consumer.poll(1.0)
        if msg is None or msg.error():
            continue
        seen += 1
        partition, offset, value = msg.partition(), msg.offset(), msg.value()
        if partition is None or offset is None or value is None:
            continue
        event = serde.decode(value, topic)
        if isinstance(event, MetricSamplesReceived):
            for s in event.series:
                rows = samples.setdefault(series_key(s.name, s.labels), [])
                rows += [(int(x.timestamp.timestamp() * 1e6), x.value) for x in s.samples]
        if offset + 1 >= ends[partition]:
            done.add(partition)
        if seen % 1000 == 0 or len(done) == len(ends):
            sys.stderr.write(f"\rreplayed {seen}/{total} messages, {len(samples)} series")
    sys.stderr.write("\n")
    consumer.close()
    return [np.array([v for _, v in sorted(rows)]) for rows in samples.values()]
