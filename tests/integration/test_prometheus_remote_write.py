"""A real Prometheus (Debian package) scrapes known gauges and remote-writes them to the ingestor,
running as a process against the real Kafka: allow-listed series arrive with their values and
timestamps; the rest never reaches the topic."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from cc.events import MetricSamplesReceived
from cc.platform.runtime import make_serde
from cc.testing.infra_common import InfraError
from cc.testing.infra_prometheus import fetch, running_prometheus
from cc.testing.local_server import LocalServer
from cc.testing.processes import ServiceProcess

pytestmark = pytest.mark.kafka

PORT = 18280
TOKEN = "it-prometheus-token"
TOPIC = "metrics.metric-samples-received.v1"
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"
ALLOWLIST = """\
- metric: cc_test_queue_depth
  labels:
    service: checkout
"""


class MetricsTarget(LocalServer):
    """A /metrics endpoint with fixed gauges, tagged with this run's id."""

    def __init__(self, run: str) -> None:
        super().__init__()
        self.exposition = (
            "# TYPE cc_test_queue_depth gauge\n"
            f'cc_test_queue_depth{{service="checkout",run="{run}"}} 42\n'
            f'cc_test_queue_depth{{service="billing",run="{run}"}} 7\n'
            "# TYPE cc_test_not_allowed gauge\n"
            f'cc_test_not_allowed{{service="checkout",run="{run}"}} 13\n'
        ).encode()


class _Exposition(BaseHTTPRequestHandler):
    app: MetricsTarget  # set on the per-server subclass made in LocalServer.start()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(self.app.exposition)))
        self.end_headers()
        self.wfile.write(self.app.exposition)

    def log_message(self, *_: object) -> None:
        pass


MetricsTarget.handler_class = _Exposition


@pytest.fixture(scope="module")
def prometheus_binary() -> Path:
    """The Debian package unpacked; in CI a failure, elsewhere a visible skip without apt."""
    try:
        return fetch()
    except InfraError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Prometheus could not be fetched: {exc}")
        pytest.skip(f"Prometheus could not be fetched (apt-get/dpkg): {exc}")


@pytest.fixture(scope="module")
def ingestor(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ingestor as a process, with the Prometheus token and the allow-list above."""
    allowlist = tmp_path_factory.mktemp("remote-write") / "allowlist.yml"
    allowlist.write_text(ALLOWLIST)
    env = {
        "CC_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "INGESTOR_HTTP_PORT": str(PORT),
        "INGESTOR_PROMETHEUS_TOKEN": TOKEN,
        "INGESTOR_REMOTE_WRITE_ALLOWLIST": str(allowlist),
        "OTEL_TRACES_EXPORTER": "none",
    }
    process = ServiceProcess("ingestor", PORT, LOGS / "ingestor-remote-write.log", env).start()
    try:
        process.wait_ready()
        yield process.url
    finally:
        process.stop()


def end_offsets(bootstrap: str) -> dict[int, int]:
    """Every partition's high watermark: where this test's events will start."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex})
    try:
        partitions = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def read_until(
    bootstrap: str,
    since: dict[int, int],
    done: Callable[[list[tuple[str, MetricSamplesReceived]]], bool],
    timeout: float,
) -> list[tuple[str, MetricSamplesReceived]]:
    """(key, event) after `since` until `done` holds or the deadline passes."""
    serde = make_serde(os.environ.get("CC_SCHEMA_REGISTRY_URL"))  # as the ingestor encodes
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(TOPIC, p, o) for p, o in since.items()])
    events: list[tuple[str, MetricSamplesReceived]] = []
    deadline = time.monotonic() + timeout
    try:
        while not done(events) and time.monotonic() < deadline:
            for msg in consumer.consume(100, 0.2):
                value, key = msg.value(), msg.key()
                if msg.error() is None and value is not None:
                    event = serde.decode(value, TOPIC)
                    assert isinstance(event, MetricSamplesReceived)
                    events.append(((key or b"").decode(), event))
    finally:
        consumer.close()
    return events


def metric_total(metrics_text: str, name: str, labels: str = "") -> float:
    """Sum of one metric's series in a text exposition (those containing `labels`)."""
    pattern = re.compile(rf"^{name}(\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(m[2]) for m in pattern.finditer(metrics_text) if labels in (m[1] or ""))


@pytest.mark.usefixtures("prometheus_binary")
def test_allow_listed_series_arrive_with_their_values_and_timestamps(
    kafka_bootstrap: str, ingestor: str, run_id: str
) -> None:
    since = end_offsets(kafka_bootstrap)
    started = datetime.now(UTC) - timedelta(milliseconds=1)  # Prometheus stamps in whole ms

    def ours(
        events: list[tuple[str, MetricSamplesReceived]],
    ) -> list[tuple[dict[str, str], datetime, float]]:
        return [
            (series.labels, sample.timestamp, sample.value)
            for _, event in events
            for series in event.series
            if series.labels.get("run") == run_id
            for sample in series.samples
        ]

    with (
        MetricsTarget(run_id) as target,
        running_prometheus(
            f"{ingestor}/api/v1/write", TOKEN, [f"{target.base_url}/metrics"]
        ) as prom,
    ):
        # three scrapes' worth: the dropped series were sent beside them more than once
        events = read_until(kafka_bootstrap, since, lambda e: len(ours(e)) >= 3, timeout=90)
        finished = datetime.now(UTC)
        prometheus_metrics = httpx.get(f"{prom}/metrics").text
        instance = target.base_url.removeprefix("http://")
    ingestor_metrics = httpx.get(f"{ingestor}/metrics").text

    samples = ours(events)
    assert len(samples) >= 3, f"only {samples} arrived; see .run/logs/prometheus.log"
    for labels, timestamp, value in samples:
        assert value == 42.0
        assert started <= timestamp <= finished
        assert labels["service"] == "checkout"
        assert labels["job"] == "target-0"
        assert labels["instance"] == instance
    assert len({t for _, t, _ in samples}) == len(samples)  # one sample per scrape

    everything = {(s.name, s.labels.get("service")) for _, e in events for s in e.series}
    assert everything == {("cc_test_queue_depth", "checkout")}  # no billing, no not_allowed, no up
    assert {key for key, _ in events} == {"cc_test_queue_depth"}
    assert metric_total(prometheus_metrics, "prometheus_remote_storage_samples_failed_total") == 0
    assert metric_total(ingestor_metrics, "cc_ingest_requests_total", 'status="2xx"') >= 1
