"""A real Alertmanager sends to the real ingestor: what lands on Kafka is right, ids stable."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cc.events import AlertReceived, Event
from cc.testing import infra
from cc.testing.alertmanager_process import running_alertmanager
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.processes import ServiceProcess
from tests.integration.conftest import INGESTOR_PORT, INGESTOR_TOKEN

pytestmark = [pytest.mark.kafka, pytest.mark.alertmanager]

TOPIC = "alerts.alert-received.v1"
AM_PORT = 19195
TRUNCATE_AT = 5
CONFIG = f"""
route:
  receiver: ingest
  group_by: ['alertname', 'run']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['truncate="yes"']
      receiver: ingest-truncated
receivers:
  - name: ingest
    webhook_configs:
      - url: http://127.0.0.1:{INGESTOR_PORT}/webhooks/alertmanager
        http_config: {{authorization: {{type: Bearer, credentials: {INGESTOR_TOKEN}}}}}
  - name: ingest-truncated
    webhook_configs:
      - url: http://127.0.0.1:{INGESTOR_PORT}/webhooks/alertmanager
        max_alerts: {TRUNCATE_AT}
        http_config: {{authorization: {{type: Bearer, credentials: {INGESTOR_TOKEN}}}}}
"""


@pytest.fixture(scope="module")
def alertmanager(
    ingestor: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with running_alertmanager(CONFIG, AM_PORT, tmp_path_factory.mktemp("am")) as url:
        yield url


def post_alerts(am_url: str, alerts: list[dict[str, Any]]) -> None:
    response = httpx.post(f"{am_url}/api/v2/alerts", json=alerts, timeout=10)
    assert response.status_code == 200, response.text


def alert(run_id: str, name: str, i: int, **labels: str) -> dict[str, Any]:
    return {
        "labels": {
            "alertname": name,
            "run": run_id,
            "pod": f"pod-{i}",
            "severity": "critical",
            **labels,
        },
        "annotations": {"summary": f"{name} on pod-{i}"},
        "startsAt": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
        "generatorURL": f"http://prometheus.test/graph?g0.expr={name}",
    }


def mine(run_id: str) -> Any:
    return lambda e: isinstance(e, AlertReceived) and e.labels.get("run") == run_id


def collect(
    endpoints: infra.Endpoints, since: dict[int, int], run_id: str, want: Any
) -> list[AlertReceived]:
    events = read_events(
        endpoints.kafka_bootstrap,
        TOPIC,
        since,
        until=lambda evs: want([e for e in evs if mine(run_id)(e)]),
    )
    return [e for e in events if mine(run_id)(e)]  # type: ignore[misc]


def test_firing_then_resolved(alertmanager: str, endpoints: infra.Endpoints, run_id: str) -> None:
    since = end_offsets(endpoints.kafka_bootstrap, TOPIC)
    firing = alert(run_id, "DiskFull", 1)
    post_alerts(alertmanager, [firing])
    [fired] = collect(endpoints, since, run_id, lambda evs: len(evs) >= 1)
    assert fired.status == "firing" and fired.ends_at is None
    assert fired.labels["pod"] == "pod-1"
    assert fired.annotations == {"summary": "DiskFull on pod-1"}
    assert fired.generator_url.startswith("http://prometheus.test/graph")
    assert fired.group is not None and fired.group.receiver == "ingest"
    assert fired.group.group_labels == {"alertname": "DiskFull", "run": run_id}
    assert fired.group.external_url == alertmanager
    assert len(fired.fingerprint) == 16

    post_alerts(alertmanager, [{**firing, "endsAt": datetime.now(UTC).isoformat()}])
    events = collect(endpoints, since, run_id, lambda evs: any(e.status == "resolved" for e in evs))
    resolved = [e for e in events if e.status == "resolved"]
    assert resolved[0].fingerprint == fired.fingerprint
    assert resolved[0].ends_at is not None
    assert resolved[0].metadata.event_id != fired.metadata.event_id


def test_a_storm_of_fifty_in_one_group(
    alertmanager: str, endpoints: infra.Endpoints, run_id: str
) -> None:
    since = end_offsets(endpoints.kafka_bootstrap, TOPIC)
    post_alerts(alertmanager, [alert(run_id, "PodCrashLooping", i) for i in range(50)])
    events = collect(endpoints, since, run_id, lambda evs: len({e.fingerprint for e in evs}) >= 50)
    assert len({e.fingerprint for e in events}) == 50
    assert {e.group.group_key for e in events if e.group} == {events[0].group.group_key}  # type: ignore[union-attr]
    ids_per_state = {(e.fingerprint, e.status): e.metadata.event_id for e in events}
    assert len(set(ids_per_state.values())) == 50, "one event id per alert state"
    for e in events:  # group re-sends give the same id, never a new one
        assert ids_per_state[(e.fingerprint, e.status)] == e.metadata.event_id


def test_truncated_alerts_are_recorded(
    alertmanager: str, endpoints: infra.Endpoints, ingestor: ServiceProcess, run_id: str
) -> None:
    since = end_offsets(endpoints.kafka_bootstrap, TOPIC)
    post_alerts(alertmanager, [alert(run_id, "NodeDown", i, truncate="yes") for i in range(12)])
    left_out = 12 - TRUNCATE_AT

    def whole_group_seen(evs: list[AlertReceived]) -> bool:
        # Alertmanager may flush before it holds all 12 (group_wait 0s), so wait for the
        # notification of the whole group: 5 alerts in it, 7 left out
        return any(e.group is not None and e.group.truncated_alerts == left_out for e in evs)

    events = collect(endpoints, since, run_id, whole_group_seen)
    whole = [e for e in events if e.group is not None and e.group.truncated_alerts == left_out]
    assert len({e.fingerprint for e in whole}) == TRUNCATE_AT
    assert all(e.group is not None and e.group.truncated_alerts <= left_out for e in events)
    metrics = httpx.get(f"{ingestor.url}/metrics", timeout=5).text
    assert 'cc_ingest_truncated_alerts_total{receiver="ingest-truncated"}' in metrics


def _sample_webhook(run_id: str) -> dict[str, Any]:
    path = Path(__file__).resolve().parents[2] / "services/ingestor/tests/sample-webhook.json"
    payload: dict[str, Any] = json.loads(path.read_text())
    payload["alerts"][0]["labels"]["run"] = run_id
    payload["alerts"][0]["fingerprint"] = run_id[:16].ljust(16, "0")
    return payload


def resend_until_accepted(
    url: str, payload: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    """Alertmanager's behaviour: retry a 5xx, after the server's Retry-After, until accepted."""
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(url, json=payload, headers=headers, timeout=10)
        if response.status_code != 503 or time.monotonic() > deadline:
            assert response.status_code == 202, response.text
            return response
        time.sleep(int(response.headers["Retry-After"]))  # the protocol's own wait


def test_a_group_resent_after_503_gives_the_same_event_ids(
    ingestor: ServiceProcess, endpoints: infra.Endpoints, run_id: str
) -> None:
    """What Alertmanager does after a 5xx: send the same group again. Kafka is paused to get
    the 503 for real (the ingestor cannot get an acknowledgement)."""
    since = end_offsets(endpoints.kafka_bootstrap, TOPIC)
    headers = {"Authorization": f"Bearer {INGESTOR_TOKEN}"}
    payload = _sample_webhook(run_id)
    with infra.paused("kafka"):
        refused = httpx.post(
            f"{ingestor.url}/webhooks/alertmanager", json=payload, headers=headers, timeout=10
        )
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    accepted = resend_until_accepted(f"{ingestor.url}/webhooks/alertmanager", payload, headers)
    [event_id] = accepted.json()["event_ids"]
    events: list[Event] = collect(endpoints, since, run_id, lambda evs: len(evs) >= 1)
    assert {e.metadata.event_id for e in events} == {event_id}
