"""The notifier process with two Slack destinations, one always failing: the healthy one hears of
both incidents promptly, and the failing one's messages end on the dead-letter topic with
Slack's answer in the headers once its attempts are spent (no pause of the whole notifier)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from cc.events import SingleObjectSerde
from cc.kafka import EventProducer
from cc.testing import infra
from cc.testing.events import incident_opened
from cc.testing.fake_slack import FakeSlack
from cc.testing.groups import start_at_end
from cc.testing.kafka_reader import end_offsets
from cc.testing.processes import ServiceProcess
from tests.integration.test_notifier_pagerduty import TOPICS

pytestmark = [pytest.mark.kafka]

PORT = 18388
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"
OPENED = "incidents.incident-opened.v1"
DEAD_LETTERS = "deadletter.notifier.v1"
ROUTING = """
destinations:
  healthy:
    type: slack
    settings: IT_SLACK_HEALTHY_URL
    rate_limit: {per_second: 20, burst: 20}
  down:
    type: slack
    settings: IT_SLACK_DOWN_URL
    rate_limit: {per_second: 20, burst: 20}
rules:
  - name: every opening to both
    when: {kinds: [incident_opened]}
    to: [healthy, down]
"""


def dead_letters(
    bootstrap: str, since: dict[int, int], keys: set[str], timeout: float
) -> list[dict[str, bytes]]:
    """Headers of the dead-lettered messages whose key is one of `keys` (waits for all)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(DEAD_LETTERS, p, o) for p, o in since.items()])
    found: dict[str, dict[str, bytes]] = {}
    deadline = time.monotonic() + timeout
    try:
        while set(found) != keys and time.monotonic() < deadline:
            for msg in consumer.consume(100, 0.2):
                key = (msg.key() or b"").decode()
                if msg.error() is None and key in keys:
                    found[key] = {k: v or b"" for k, v in msg.headers() or []}
    finally:
        consumer.close()
    return list(found.values())


@pytest.fixture
def notifier(
    endpoints: infra.Endpoints, tmp_path: Path
) -> Iterator[tuple[ServiceProcess, FakeSlack, FakeSlack, str]]:
    bootstrap = endpoints.kafka_bootstrap
    group = f"it-notifier-indep-{uuid.uuid4().hex[:6]}"
    for destination in ("healthy", "down"):  # every group the process will use
        start_at_end(bootstrap, f"{group}.{destination}", TOPICS)
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING)
    with FakeSlack() as healthy, FakeSlack() as down:
        down.fail_next(500, "rollup_error", count=10_000)
        env = {
            "CC_KAFKA_BOOTSTRAP": bootstrap,
            "CC_CONSUMER_GROUP": group,
            "NOTIFIER_ROUTING_FILE": str(routing),
            "IT_SLACK_HEALTHY_URL": healthy.webhook_url,
            "IT_SLACK_DOWN_URL": down.webhook_url,
            "NOTIFIER_SLACK_MAX_ATTEMPTS": "3",
            "NOTIFIER_SLACK_BACKOFF_S": "1",
            "NOTIFIER_HTTP_PORT": str(PORT),
            "OTEL_TRACES_EXPORTER": "none",
        }
        log = LOGS / "notifier-independent.log"
        process = ServiceProcess("notifier", PORT, log, env).start()
        try:
            process.wait_ready()
            yield process, healthy, down, group
        finally:
            process.stop()


def test_a_failing_destination_holds_up_no_other_and_is_dead_lettered(
    notifier: tuple[ServiceProcess, FakeSlack, FakeSlack, str],
    endpoints: infra.Endpoints,
    run_id: str,
) -> None:
    process, healthy, down, group = notifier
    bootstrap = endpoints.kafka_bootstrap
    since = end_offsets(bootstrap, DEAD_LETTERS)
    incidents = [incident_opened(f"inc-indep-{run_id}-{n}", title=f"{run_id} {n}") for n in (1, 2)]
    producer = EventProducer(bootstrap, SingleObjectSerde(), client_id="it-notifier-indep")
    started = time.monotonic()
    try:
        for incident in incidents:
            producer.send(OPENED, incident.incident_id, incident)
    finally:
        producer.close()

    # the failing destination spends 3 attempts (waits of 1 + 2 s) on each message before
    # giving up; the healthy one has both messages before the first is given up
    deadline = started + 30
    while len([m for m in healthy.received() if run_id in m["json"]["text"]]) < 2:
        assert time.monotonic() < deadline, f"healthy destination held up:\n{process.tail()}"
        with contextlib.suppress(TimeoutError):  # nothing new yet: check the deadline again
            healthy.wait_for(len(healthy.received()) + 1, timeout=0.2)
    assert len(down.rejected()) < 3, "the healthy destination waited for the failing one"
    assert down.received() == []

    keys = {i.incident_id for i in incidents}
    headers = dead_letters(bootstrap, since, keys, timeout=60)
    assert len(headers) == 2, f"not dead-lettered:\n{process.tail()}"
    for h in headers:
        assert h["cc-dlq-stage"] == b"handle"
        assert h["cc-dlq-error-class"] == b"NotDeliveredError"
        assert b"down: gave up after 3 attempts: HTTP 500 rollup_error" in h["cc-dlq-error-message"]
        assert h["cc-dlq-consumer-group"] == f"{group}.down".encode()
        assert h["cc-dlq-original-topic"] == OPENED.encode()
    assert len(down.rejected()) == 2 * 3
