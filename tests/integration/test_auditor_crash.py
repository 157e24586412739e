"""SIGKILL the compliance-auditor mid-stream and restart it: no audit document lost or doubled."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import pytest

from cc.events import SingleObjectSerde
from cc.kafka import EventProducer
from cc.testing import audit, infra
from cc.testing.events import notification_sent
from cc.testing.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch]

EVENTS = 6000
TOPIC = "notifications.notification-sent.v1"
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"


def mine(run_id: str) -> dict[str, object]:
    """This run's documents."""
    return {"term": {"commandcenter.payload.destination": run_id}}


def wait_for_count(es_url: str, run_id: str, at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        found = audit.count(es_url, mine(run_id))
        if found >= at_least:
            return found
        time.sleep(0.1)  # Elasticsearch offers nothing to wait on
    raise TimeoutError(f"{found} of {at_least} audit documents after {timeout}s")


def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    endpoints: infra.Endpoints, run_id: str
) -> None:
    producer = EventProducer(endpoints.kafka_bootstrap, SingleObjectSerde(), client_id="it-crash")
    # NotificationSent: a topic only the auditor reads, so no other service is flooded
    futures = [
        producer.produce(TOPIC, f"k{i}", notification_sent(f"{run_id}-{i}", run_id=run_id))
        for i in range(EVENTS)
    ]
    for future in futures:
        future.result(30)
    producer.close()

    env = {
        "CC_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "COMPLIANCE_AUDITOR_ELASTICSEARCH_URL": endpoints.elasticsearch_url,
        "COMPLIANCE_AUDITOR_HTTP_PORT": "18284",
        "CC_CONSUMER_GROUP": f"it-auditor-crash-{uuid.uuid4().hex[:6]}",
        "CC_CONSUMER_BATCH_SIZE": "100",
        # static membership: the restarted auditor takes its partitions back without waiting
        # for the killed one's session to time out
        "CC_CONSUMER_INSTANCE_ID": "auditor-0",
        "OTEL_TRACES_EXPORTER": "none",
    }
    auditor = ServiceProcess("compliance-auditor", 18284, LOGS / "auditor-crash.log", env).start()
    try:
        wait_for_count(endpoints.elasticsearch_url, run_id, 300, timeout=60)
        auditor.stop(signal.SIGKILL)
        at_kill = audit.count(endpoints.elasticsearch_url, mine(run_id))
        assert at_kill < EVENTS, "the auditor finished before it was killed: not a mid-stream crash"

        auditor = ServiceProcess(
            "compliance-auditor", 18284, LOGS / "auditor-crash.log", env
        ).start()
        wait_for_count(endpoints.elasticsearch_url, run_id, EVENTS, timeout=120)
        assert auditor.stop(signal.SIGTERM) == 0, "SIGTERM is a graceful stop, exit code 0"
    finally:
        auditor.stop()

    docs = audit.search(
        endpoints.elasticsearch_url,
        mine(run_id),
        size=EVENTS + 10,
    )
    ids = [d["_id"] for d in docs]
    assert len(ids) == EVENTS
    assert len(set(ids)) == EVENTS
