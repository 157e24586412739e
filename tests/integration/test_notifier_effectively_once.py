"""SIGKILL the notifier after Slack got the message but before the offset was committed, restart
it: the delivery log it reads back at start-up stops a second message."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from cc.events import SingleObjectSerde
from cc.kafka import EventProducer
from cc.testing import infra
from cc.testing.events import incident_opened
from cc.testing.fake_slack import FakeSlack
from cc.testing.kafka_reader import end_offsets
from cc.testing.processes import ServiceProcess

pytestmark = [pytest.mark.kafka]

TOPIC = "incidents.incident-opened.v1"
PORT = 18386
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"
ANSWER_AFTER_S = 5.0


class SlowSlack(FakeSlack):
    """Records the message at once but answers late: the notifier is killed while it waits."""

    def handle_webhook(self, path: str, headers: Any, raw: bytes) -> tuple[int, str, int]:
        answer = super().handle_webhook(path, headers, raw)
        time.sleep(ANSWER_AFTER_S)  # the crash window we want to hit, made wide on purpose
        return answer


def group_consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )


def committed(bootstrap: str, group: str, partition: int) -> int:
    consumer = group_consumer(bootstrap, group)
    try:
        [tp] = consumer.committed([TopicPartition(TOPIC, partition)], timeout=10)
        return int(tp.offset)
    finally:
        consumer.close()


def mine(slack: FakeSlack, run_id: str) -> list[dict[str, Any]]:
    """This test's messages (other services of the session may announce their own incidents)."""
    return [m for m in slack.received() if run_id in m["json"]["text"]]


def skipped(process: ServiceProcess) -> float:
    """Notifications the process did not send because the delivery log held their key."""
    lines = httpx.get(f"{process.url}/metrics", timeout=5).text.splitlines()
    return sum(
        float(line.split()[-1]) for line in lines if line.startswith("notifier_skipped_total{")
    )


def test_a_crash_between_sending_and_committing_does_not_send_twice(
    endpoints: infra.Endpoints, run_id: str
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    group = f"it-notifier-once-{uuid.uuid4().hex[:6]}"
    # start the new group at the topic's end, so earlier runs' incidents are not announced
    starter = group_consumer(bootstrap, group)
    ends = end_offsets(bootstrap, TOPIC)
    starter.commit(
        offsets=[TopicPartition(TOPIC, p, o) for p, o in ends.items()], asynchronous=False
    )
    starter.close()

    with SlowSlack() as slack:
        env = {
            "CC_KAFKA_BOOTSTRAP": bootstrap,
            "NOTIFIER_SLACK_WEBHOOK_URL": slack.webhook_url,
            # the default destination's name: a notifier later started with the default group
            # finds this incident's key in the delivery log instead of announcing a test incident
            "NOTIFIER_SLACK_CHANNEL_NAME": "#incidents",
            "NOTIFIER_SLACK_TIMEOUT_S": "30",
            "NOTIFIER_HTTP_PORT": str(PORT),
            "CC_CONSUMER_GROUP": group,
            # static membership: the restarted notifier takes its partitions back at once
            "CC_CONSUMER_INSTANCE_ID": "notifier-it-0",
            "OTEL_TRACES_EXPORTER": "none",
        }
        log_file = LOGS / "notifier-once.log"
        notifier = ServiceProcess("notifier", PORT, log_file, env).start()
        try:
            notifier.wait_ready()
            producer = EventProducer(bootstrap, SingleObjectSerde(), client_id="it-notifier")
            incident = incident_opened(f"inc-{run_id}", title=f"Disk full {run_id}")
            msg = producer.send(TOPIC, incident.incident_id, incident)
            producer.close()
            partition, offset = msg.partition() or 0, msg.offset() or 0

            deadline = time.monotonic() + 60
            while not mine(slack, run_id):
                assert time.monotonic() < deadline, "the incident never reached Slack"
                slack.wait_for(len(slack.received()) + 1, timeout=30)
            notifier.stop(signal.SIGKILL)
            assert committed(bootstrap, group, partition) <= offset, "killed after the commit"

            notifier = ServiceProcess("notifier", PORT, log_file, env).start()
            notifier.wait_ready()
            deadline = time.monotonic() + 60
            while committed(bootstrap, group, partition) <= offset:
                assert time.monotonic() < deadline, "the restarted notifier did not catch up"
                time.sleep(0.2)  # polling the broker's committed offset: nothing to wait on
            assert skipped(notifier) >= 1.0
            assert len(mine(slack, run_id)) == 1
        finally:
            notifier.stop()
