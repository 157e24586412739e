"""The notifier process with a `slack_bot` destination: an incident storm (1 opening, 1,000
updates with growing membership, 1 resolution) is one Slack thread, not 1,002 messages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cc.events import IncidentUpdated, SingleObjectSerde, deterministic_id, new_metadata
from cc.kafka import EventProducer
from cc.testing import infra
from cc.testing.events import T0, incident_opened
from cc.testing.fake_slack_api import DEFAULT_CHANNEL, DEFAULT_TOKEN, FakeSlackApi
from cc.testing.groups import start_at_end
from cc.testing.kafka_reader import end_offsets
from cc.testing.processes import ServiceProcess
from tests.integration.test_notifier_pagerduty import consumed_up_to, resolved

pytestmark = [pytest.mark.kafka]

PORT = 18388
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
UPDATES = 1000
# members 2..1,001: replies at the milestones 2, 10, 50, 100, 200, ..., 1,000 (13), no severity
# rise (all critical, as opened), then the resolution
EXPECTED_REPLIES = 13 + 1
ROUTING = f"""
destinations:
  incidents-bot:
    type: slack_bot
    settings: IT_SLACK_BOT_TOKEN
    channel: {DEFAULT_CHANNEL}
    rate_limit: {{per_second: 20, burst: 20}}
rules:
  - name: incidents to the thread
    when: {{kinds: [incident_opened, incident_updated, incident_resolved]}}
    to: [incidents-bot]
"""


def updated(incident_id: str, n: int) -> IncidentUpdated:
    """The n-th update of a growing storm: n + 2 member alerts, severity unchanged."""
    return IncidentUpdated(
        metadata=new_metadata(
            "remediation-planner",
            occurred_at=T0,
            event_id=deterministic_id("iu-thread", incident_id, str(n)),
            incident_id=incident_id,
        ),
        incident_id=incident_id,
        severity="critical",
        anomaly_ids=["a1"],
        member_fingerprints=[f"fp{i:04d}" for i in range(n + 2)],
        change=f"alert fp{n + 1:04d} joined",
    )


@pytest.fixture
def notifier(
    endpoints: infra.Endpoints, tmp_path: Path
) -> Iterator[tuple[ServiceProcess, FakeSlackApi, str]]:
    bootstrap = endpoints.kafka_bootstrap
    group = f"it-notifier-thread-{uuid.uuid4().hex[:6]}"
    # the destination's own consumer group; earlier runs' incidents are not replayed
    start_at_end(bootstrap, f"{group}.incidents-bot", TOPICS)
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING)
    # the fake's own limit (1/s per channel) stays on: a burst of 50 covers the thread's 15
    with FakeSlackApi(burst=50) as slack:
        env = {
            "CC_KAFKA_BOOTSTRAP": bootstrap,
            "CC_CONSUMER_GROUP": group,
            "NOTIFIER_ROUTING_FILE": str(routing),
            "NOTIFIER_SLACK_API_URL": slack.api_url,
            "IT_SLACK_BOT_TOKEN": DEFAULT_TOKEN,
            "NOTIFIER_HTTP_PORT": str(PORT),
            "OTEL_TRACES_EXPORTER": "none",
        }
        process = ServiceProcess("notifier", PORT, LOGS / "notifier-slack-thread.log", env).start()
        try:
            process.wait_ready()
            yield process, slack, group
        finally:
            process.stop()


def test_an_incident_storm_is_one_thread_ending_with_resolved(
    notifier: tuple[ServiceProcess, FakeSlackApi, str],
    endpoints: infra.Endpoints,
    run_id: str,
) -> None:
    process, slack, group = notifier
    bootstrap = endpoints.kafka_bootstrap
    incident_id = f"inc-thread-{run_id}"
    producer = EventProducer(bootstrap, SingleObjectSerde(), client_id="it-notifier-thread")
    try:
        # three topics, no order between them: each step waits for the one before
        producer.send(OPENED, incident_id, incident_opened(incident_id, title=f"Storm {run_id}"))
        slack.wait_for(1, timeout=60)
        for n in range(UPDATES):
            producer.produce(UPDATED, incident_id, updated(incident_id, n))
        producer.flush()
        ends = end_offsets(bootstrap, UPDATED)
        deadline = time.monotonic() + 90
        while not consumed_up_to(bootstrap, f"{group}.incidents-bot", UPDATED, ends):
            assert time.monotonic() < deadline, f"updates not consumed:\n{process.tail()}"
            time.sleep(0.2)  # polling the broker's committed offsets: nothing to wait on
        producer.send(RESOLVED, incident_id, resolved(incident_id))
    finally:
        producer.close()

    messages = slack.wait_for(1 + EXPECTED_REPLIES, timeout=60)
    [root] = [m for m in messages if m["thread_ts"] is None]
    assert run_id in root["text"] and root["json"]["blocks"][0]["type"] == "header"
    threads = slack.threads()
    assert list(threads) == [root["ts"]]
    replies = threads[root["ts"]]
    assert len(replies) == EXPECTED_REPLIES == len(messages) - 1
    assert replies[0]["text"].startswith("2 alerts grouped")
    assert "Resolved" in replies[-1]["text"]
    assert slack.rejected() == []
