"""Prometheus metrics of the consumer loop."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class ConsumerMetrics:
    """What the loop counts: consumed, duplicates skipped, dead-lettered, retries, commits."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumed = Counter(
            "cc_consumed_total", "Messages consumed", ["topic"], registry=registry
        )
        self.duplicates = Counter(
            "cc_duplicates_skipped_total",
            "Messages skipped as already handled",
            ["topic"],
            registry=registry,
        )
        self.dead_lettered = Counter(
            "cc_dead_lettered_total",
            "Messages sent to the dead-letter topic",
            ["topic", "stage"],
            registry=registry,
        )
        self.retries = Counter(
            "cc_batch_retries_total",
            "Batches retried because a dependency was down",
            registry=registry,
        )
        self.committed = Counter(
            "cc_offsets_committed_total", "Partition offsets committed", registry=registry
        )
        self.handle_seconds = Histogram(
            "cc_handle_batch_seconds", "Time to handle one batch", registry=registry
        )
