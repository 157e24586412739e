"""The notifier process with a routing file: a critical incident pages a PagerDuty stand-in once
(opened, then resolved) however many updates it gets, and Slack hears of the opening once."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from cc.events import (
    IncidentResolved,
    IncidentUpdated,
    Signature,
    SingleObjectSerde,
    deterministic_id,
    new_metadata,
)
from cc.kafka import EventProducer
from cc.testing import infra
from cc.testing.events import T0, incident_opened
from cc.testing.fake_pagerduty import DEFAULT_ROUTING_KEY, FakePagerDuty
from cc.testing.fake_slack import FakeSlack
from cc.testing.groups import start_at_end
from cc.testing.kafka_reader import end_offsets
from cc.testing.processes import ServiceProcess

pytestmark = [pytest.mark.kafka]

PORT = 18387
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"
OPENED = "incidents.incident-opened.v1"
UPDATED = "incidents.incident-updated.v1"
RESOLVED = "incidents.incident-resolved.v1"
TOPICS = [
    OPENED,
    UPDATED,
    RESOLVED,
    "remediation.remediation-planned.v1",
    "compliance.compliance-violation-found.v1",
]
UPDATES = 300
ROUTING = """
destinations:
  slack:
    type: slack
    settings: NOTIFIER_SLACK_WEBHOOK_URL
  pager:
    type: pagerduty
    settings: IT_PAGERDUTY_ROUTING_KEY
    severities: [critical]
    rate_limit: {per_second: 20, burst: 5}
rules:
  - name: every opening to Slack
    when: {kinds: [incident_opened]}
    to: [slack]
  - name: critical incidents page
    when: {kinds: [incident_opened, incident_updated, incident_resolved]}
    to: [pager]
"""


def updated(incident_id: str, n: int) -> IncidentUpdated:
    """An IncidentUpdated as the remediation-planner would produce it (severity unchanged)."""
    return IncidentUpdated(
        metadata=new_metadata(
            "remediation-planner",
            occurred_at=T0,
            event_id=deterministic_id("iu", incident_id, str(n)),
            incident_id=incident_id,
        ),
        incident_id=incident_id,
        severity="critical",
        anomaly_ids=["a1", f"a{n + 2}"],
        member_fingerprints=["44ff802e930efd3f"],
        change=f"anomaly a{n + 2} joined",
    )


def resolved(incident_id: str) -> IncidentResolved:
    """An IncidentResolved as the remediation-planner would produce it."""
    return IncidentResolved(
        metadata=new_metadata(
            "remediation-planner",
            occurred_at=T0,
            event_id=deterministic_id("ir", incident_id),
            incident_id=incident_id,
        ),
        incident_id=incident_id,
        opened_at=T0,
        resolution="every member alert resolved",
    )


def consumed_up_to(bootstrap: str, group: str, topic: str, ends: dict[int, int]) -> bool:
    """Whether the group committed at least `ends` on every partition of `topic`."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in ends], timeout=10)
        return all(tp.offset >= ends[tp.partition] for tp in tps)
    finally:
        consumer.close()


@pytest.fixture
def notifier(
    endpoints: infra.Endpoints, tmp_path: Path
) -> Iterator[tuple[ServiceProcess, FakePagerDuty, FakeSlack, str]]:
    bootstrap = endpoints.kafka_bootstrap
    group = f"it-notifier-pd-{uuid.uuid4().hex[:6]}"
    for destination in ("slack", "pager"):  # one consumer group per destination
        start_at_end(bootstrap, f"{group}.{destination}", TOPICS)  # earlier runs not replayed
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING)
    with FakePagerDuty() as pagerduty, FakeSlack() as slack:
        env = {
            "CC_KAFKA_BOOTSTRAP": bootstrap,
            "CC_CONSUMER_GROUP": group,
            "NOTIFIER_ROUTING_FILE": str(routing),
            "NOTIFIER_SLACK_WEBHOOK_URL": slack.webhook_url,
            "NOTIFIER_PAGERDUTY_BASE_URL": pagerduty.base_url,
            "IT_PAGERDUTY_ROUTING_KEY": DEFAULT_ROUTING_KEY,
            "NOTIFIER_HTTP_PORT": str(PORT),
            "OTEL_TRACES_EXPORTER": "none",
        }
        process = ServiceProcess("notifier", PORT, LOGS / "notifier-pagerduty.log", env).start()
        try:
            process.wait_ready()
            yield process, pagerduty, slack, group
        finally:
            process.stop()


def test_a_critical_incident_pages_once_and_is_resolved_however_many_updates_it_gets(
    notifier: tuple[ServiceProcess, FakePagerDuty, FakeSlack, str],
    endpoints: infra.Endpoints,
    run_id: str,
) -> None:
    process, pagerduty, slack, group = notifier
    bootstrap = endpoints.kafka_bootstrap
    incident_id = f"inc-pd-{run_id}"
    opening = incident_opened(incident_id, title=f"Checkout errors {run_id}")
    opening = dataclasses.replace(opening, signature=Signature(service="api", namespace="shop"))
    producer = EventProducer(bootstrap, SingleObjectSerde(), client_id="it-notifier-pd")
    try:
        # the three kinds travel on three topics, whose relative order Kafka does not keep:
        # each step waits for the one before, as the planner's minutes between them would
        producer.send(OPENED, incident_id, opening)
        pagerduty.wait_for(1, timeout=60)
        for n in range(UPDATES):
            producer.produce(UPDATED, incident_id, updated(incident_id, n))
        producer.flush()
        ends = end_offsets(bootstrap, UPDATED)
        deadline = time.monotonic() + 60
        while not consumed_up_to(bootstrap, f"{group}.pager", UPDATED, ends):
            assert time.monotonic() < deadline, f"updates not consumed:\n{process.tail()}"
            time.sleep(0.2)  # polling the broker's committed offsets: nothing to wait on
        producer.send(RESOLVED, incident_id, resolved(incident_id))
    finally:
        producer.close()

    pagerduty.wait_for(2, timeout=60)
    events: list[dict[str, Any]] = [e for e in pagerduty.events() if e["dedup_key"] == incident_id]
    assert [(e["json"]["event_action"], e["outcome"]) for e in events] == [
        ("trigger", "opened"),
        ("resolve", "resolved"),
    ]
    [alert] = [i for i in pagerduty.incidents() if i["dedup_key"] == incident_id]
    assert alert["status"] == "resolved" and alert["triggers"] == 1
    assert pagerduty.rejected() == []
    slack.wait_for(1, timeout=60)  # its own loop and group: not ordered with the pager's
    assert len([m for m in slack.received() if run_id in m["json"]["text"]]) == 1
