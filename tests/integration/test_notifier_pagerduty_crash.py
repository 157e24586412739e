"""SIGKILL the notifier after PagerDuty got the trigger but before the offset was committed,
restart it: no second trigger (the delivery log read back at start-up holds the key, and the
dedup_key would fold one into the same alert anyway)."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from cc.events import SingleObjectSerde
from cc.kafka import EventProducer
from cc.testing import infra
from cc.testing.events import incident_opened
from cc.testing.fake_pagerduty import DEFAULT_ROUTING_KEY, FakePagerDuty
from cc.testing.groups import start_at_end
from cc.testing.processes import ServiceProcess
from tests.integration.test_notifier_effectively_once import committed, skipped
from tests.integration.test_notifier_pagerduty import TOPICS

pytestmark = [pytest.mark.kafka]

TOPIC = "incidents.incident-opened.v1"
PORT = 18388
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"
ANSWER_AFTER_S = 5.0
ROUTING = """
destinations:
  pager:
    type: pagerduty
    settings: IT_PAGERDUTY_ROUTING_KEY
rules:
  - name: every incident pages
    when: {kinds: [incident_opened, incident_resolved]}
    to: [pager]
"""


class SlowPagerDuty(FakePagerDuty):
    """Takes the event at once but answers late: the notifier is killed while it waits."""

    def handle_enqueue(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        answer = super().handle_enqueue(raw)
        time.sleep(ANSWER_AFTER_S)  # the crash window we want to hit, made wide on purpose
        return answer


def triggers(pagerduty: FakePagerDuty, incident_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in pagerduty.events()
        if e["json"].get("event_action") == "trigger" and e["dedup_key"] == incident_id
    ]


def test_a_crash_between_paging_and_committing_does_not_page_twice(
    endpoints: infra.Endpoints, run_id: str, tmp_path: Path
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    base = f"it-notifier-pd-crash-{uuid.uuid4().hex[:6]}"
    group = f"{base}.pager"
    start_at_end(bootstrap, group, TOPICS)
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING)
    with SlowPagerDuty() as pagerduty:
        env = {
            "CC_KAFKA_BOOTSTRAP": bootstrap,
            "CC_CONSUMER_GROUP": base,
            "NOTIFIER_ROUTING_FILE": str(routing),
            "NOTIFIER_PAGERDUTY_BASE_URL": pagerduty.base_url,
            "NOTIFIER_PAGERDUTY_TIMEOUT_S": "30",
            "IT_PAGERDUTY_ROUTING_KEY": DEFAULT_ROUTING_KEY,
            "NOTIFIER_HTTP_PORT": str(PORT),
            "CC_CONSUMER_INSTANCE_ID": "notifier-pd-it-0",
            "OTEL_TRACES_EXPORTER": "none",
        }
        log_file = LOGS / "notifier-pd-crash.log"
        notifier = ServiceProcess("notifier", PORT, log_file, env).start()
        try:
            notifier.wait_ready()
            producer = EventProducer(bootstrap, SingleObjectSerde(), client_id="it-notifier-pd")
            incident = incident_opened(f"inc-{run_id}", title=f"Checkout down {run_id}")
            msg = producer.send(TOPIC, incident.incident_id, incident)
            producer.close()
            partition, offset = msg.partition() or 0, msg.offset() or 0

            pagerduty.wait_for(1, timeout=60)
            notifier.stop(signal.SIGKILL)
            assert committed(bootstrap, group, partition) <= offset, "killed after the commit"

            notifier = ServiceProcess("notifier", PORT, log_file, env).start()
            notifier.wait_ready()
            deadline = time.monotonic() + 60
            while committed(bootstrap, group, partition) <= offset:
                assert time.monotonic() < deadline, "the restarted notifier did not catch up"
                time.sleep(0.2)  # polling the broker's committed offset: nothing to wait on
            assert skipped(notifier) >= 1.0
            assert len(triggers(pagerduty, incident.incident_id)) == 1
            [alert] = [i for i in pagerduty.incidents() if i["dedup_key"] == incident.incident_id]
            assert alert["triggers"] == 1
        finally:
            notifier.stop()
