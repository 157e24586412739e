"""The ingestor's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class IngestMetrics:
    """Per-source counts, rejects by reason, latency, truncated alerts."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.accepted = Counter(
            "cc_ingest_events_total", "Events acknowledged by Kafka", ["source"], registry=registry
        )
        self.requests = Counter(
            "cc_ingest_requests_total",
            "Webhook requests by outcome",
            ["source", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "cc_ingest_request_seconds",
            "Webhook handling time (until Kafka acknowledged)",
            ["source"],
            registry=registry,
        )
        self.series = Counter(
            "cc_ingest_series_total",
            "remote_write series by outcome: forwarded, or dropped and why (allow-list etc.)",
            ["outcome"],
            registry=registry,
        )
        self.samples = Counter(
            "cc_ingest_samples_total",
            "remote_write samples by outcome: forwarded, or dropped and why",
            ["outcome"],
            registry=registry,
        )
        self.unknown_triggers = Counter(
            "cc_ingest_argocd_unknown_triggers_total",
            "Argo CD notifications with a trigger outside the catalog (accepted, labelled)",
            registry=registry,
        )
        self.truncated = Counter(
            "cc_ingest_truncated_alerts_total",
            "Alerts Alertmanager left out (max_alerts): they never arrive",
            ["receiver"],
            registry=registry,
        )
