"""Kafka stops mid-load: the ingestor answers 503 + Retry-After, recovers, and every request it
answered 2xx is on Kafka (checked by event id)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx
import pytest

from cc.testing import infra
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.processes import ServiceProcess
from tests.integration.conftest import INGESTOR_TOKEN

pytestmark = [pytest.mark.kafka]

TOPIC = "alerts.alert-received.v1"


def payload(run_id: str, n: int) -> dict[str, Any]:
    fingerprint = f"{run_id}{n:04d}"[-16:]
    return {
        "version": "4",
        "receiver": "load",
        "status": "firing",
        "groupKey": f"load:{n}",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "Load", "run": run_id, "n": str(n)},
                "startsAt": "2026-11-26T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": fingerprint,
            }
        ],
    }


class Load:
    """Posts one-alert webhooks back to back from a thread, recording every answer."""

    def __init__(self, url: str, run_id: str) -> None:
        self.url, self.run_id = url, run_id
        self.answers: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.stop = threading.Event()
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {INGESTOR_TOKEN}"}
        with httpx.Client(timeout=10) as client:
            n = 0
            while not self.stop.is_set():
                response = client.post(self.url, json=payload(self.run_id, n), headers=headers)
                body = (
                    response.json()
                    if response.headers.get("content-type", "").startswith("application/json")
                    else {}
                )
                with self.changed:
                    self.answers.append((response.status_code, body, dict(response.headers)))
                    self.changed.notify_all()
                n += 1

    def wait_for(self, predicate: Any, timeout: float) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.answers), timeout), Counter(
                a[0] for a in self.answers
            )


def test_outage_mid_load_gives_503_then_recovers_without_losing_an_acknowledged_event(
    ingestor: ServiceProcess, endpoints: infra.Endpoints, run_id: str
) -> None:
    since = end_offsets(endpoints.kafka_bootstrap, TOPIC)
    load = Load(f"{ingestor.url}/webhooks/alertmanager", run_id)
    load.thread.start()
    try:
        load.wait_for(lambda a: sum(s == 202 for s, _, _ in a) >= 50, timeout=30)
        with infra.paused("kafka"):
            before = len(load.answers)
            load.wait_for(lambda a: sum(s == 503 for s, _, _ in a[before:]) >= 3, timeout=30)
        recovered_from = len(load.answers)
        load.wait_for(lambda a: sum(s == 202 for s, _, _ in a[recovered_from:]) >= 50, timeout=60)
    finally:
        load.stop.set()
        load.thread.join(15)

    statuses = Counter(s for s, _, _ in load.answers)
    assert set(statuses) <= {202, 503}, statuses
    assert all(h.get("retry-after") == "1" for s, _, h in load.answers if s == 503)
    acknowledged = {i for s, body, _ in load.answers if s == 202 for i in body["event_ids"]}
    on_kafka = read_events(
        endpoints.kafka_bootstrap,
        TOPIC,
        since,
        until=lambda evs: acknowledged <= {e.metadata.event_id for e in evs},
        timeout=60,
    )
    missing = acknowledged - {e.metadata.event_id for e in on_kafka}
    assert not missing, f"{len(missing)} acknowledged events are not on Kafka"
