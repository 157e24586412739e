"""The Alertmanager webhook: auth, limits, validation, and 202 only once Kafka holds the events."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from cc.testing.fakes import RecordingProducer
from ingestor.api import create_app
from ingestor.config import Settings

TOKEN = "s3cret-token"
PAYLOAD: dict[str, Any] = {
    "version": "4",
    "receiver": "hook",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "service": "api", "severity": "critical"},
            "annotations": {"summary": "disk full"},
            "startsAt": "2026-11-26T11:05:58.482837889Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prom/graph",
            "fingerprint": "44ff802e930efd3f",
        }
    ],
    "groupLabels": {"alertname": "DiskFull"},
    "commonLabels": {"alertname": "DiskFull"},
    "commonAnnotations": {},
    "externalURL": "http://127.0.0.1:19095",
    "groupKey": '{}:{alertname="DiskFull"}',
    "truncatedAlerts": 0,
}


def client_for(producer: RecordingProducer, **overrides: Any) -> TestClient:
    settings = Settings(alertmanager_token=TOKEN, kafka_ack_timeout_s=0.2, **overrides)
    return TestClient(create_app(settings, producer, CollectorRegistry()))  # type: ignore[arg-type]


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_firing_alert_is_acknowledged_after_kafka_holds_it() -> None:
    producer = RecordingProducer()
    response = client_for(producer).post("/webhooks/alertmanager", json=PAYLOAD, headers=AUTH)
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    topic, key, event = producer.sent[0]
    assert (topic, key) == ("alerts.alert-received.v1", "44ff802e930efd3f")
    assert event.ends_at is None  # Go zero time means still firing
    assert event.group.group_key == '{}:{alertname="DiskFull"}'


def test_same_alert_state_twice_gives_the_same_event_id() -> None:
    client = client_for(RecordingProducer())
    first = client.post("/webhooks/alertmanager", json=PAYLOAD, headers=AUTH).json()
    second = client.post("/webhooks/alertmanager", json=PAYLOAD, headers=AUTH).json()
    assert first["event_ids"] == second["event_ids"]


def test_resolve_of_the_same_alert_gets_a_new_event_id() -> None:
    client = client_for(RecordingProducer())
    resolved = copy.deepcopy(PAYLOAD)
    resolved["alerts"][0].update(status="resolved", endsAt="2026-11-26T11:15:00Z")
    first = client.post("/webhooks/alertmanager", json=PAYLOAD, headers=AUTH).json()
    second = client.post("/webhooks/alertmanager", json=resolved, headers=AUTH).json()
    assert first["event_ids"] != second["event_ids"]


def test_missing_token_is_401_and_wrong_token_is_403() -> None:
    producer = RecordingProducer()
    client = client_for(producer)
    missing = client.post("/webhooks/alertmanager", json=PAYLOAD)
    wrong = client.post(
        "/webhooks/alertmanager", json=PAYLOAD, headers={"Authorization": "Bearer nope"}
    )
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 403
    assert producer.sent == []


def test_basic_auth_is_accepted_when_configured() -> None:
    producer = RecordingProducer()
    client = client_for(producer, alertmanager_basic_auth="am:pa:ss")
    good = client.post("/webhooks/alertmanager", json=PAYLOAD, auth=("am", "pa:ss"))
    bad = client.post("/webhooks/alertmanager", json=PAYLOAD, auth=("am", "nope"))
    assert good.status_code == 202
    assert bad.status_code == 403


def test_tokens_from_a_file_allow_rotation(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("old-token\nnew-token\n")
    client = client_for(RecordingProducer(), alertmanager_token_file=tokens)
    for token in ("old-token", "new-token", TOKEN):
        headers = {"Authorization": f"Bearer {token}"}
        assert (
            client.post("/webhooks/alertmanager", json=PAYLOAD, headers=headers).status_code == 202
        )


def test_a_source_without_credentials_refuses_everyone() -> None:
    settings = Settings(kafka_ack_timeout_s=0.2)
    app = create_app(settings, RecordingProducer(), CollectorRegistry())  # type: ignore[arg-type]
    response = TestClient(app).post("/webhooks/alertmanager", json=PAYLOAD, headers=AUTH)
    assert response.status_code == 403


def test_wrong_content_type_is_415() -> None:
    response = client_for(RecordingProducer()).post(
        "/webhooks/alertmanager", content=b"x=1", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415


def test_body_over_the_limit_is_413() -> None:
    response = client_for(RecordingProducer(), max_body_bytes=100).post(
        "/webhooks/alertmanager", json=PAYLOAD, headers=AUTH
    )
    assert response.status_code == 413


def test_invalid_field_is_422_naming_its_path() -> None:
    bad = copy.deepcopy(PAYLOAD)
    bad["alerts"][0]["startsAt"] = "yesterday"
    response = client_for(RecordingProducer()).post(
        "/webhooks/alertmanager", json=bad, headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "alerts", 0, "startsAt"]


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_kafka_not_acknowledging_is_503_with_retry_after(mode: str) -> None:
    response = client_for(RecordingProducer(mode)).post(
        "/webhooks/alertmanager", json=PAYLOAD, headers=AUTH
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_truncated_alerts_are_counted_in_metrics() -> None:
    truncated = {**PAYLOAD, "truncatedAlerts": 7}
    client = client_for(RecordingProducer())
    assert client.post("/webhooks/alertmanager", json=truncated, headers=AUTH).status_code == 202
    metrics = client.get("/metrics").text
    assert 'cc_ingest_truncated_alerts_total{receiver="hook"} 7.0' in metrics


def test_readyz_reflects_kafka() -> None:
    assert client_for(RecordingProducer("fail")).get("/readyz").status_code == 503
    assert client_for(RecordingProducer()).get("/readyz").status_code == 200


def test_a_time_that_overflows_in_utc_is_422_not_500() -> None:
    """Found by the OpenAPI fuzz test: year 1 with a positive offset is before year 1 in UTC."""
    bad = copy.deepcopy(PAYLOAD)
    bad["alerts"][0]["startsAt"] = "0001-01-01T00:00:00+01:00"
    response = client_for(RecordingProducer()).post(
        "/webhooks/alertmanager", json=bad, headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "alerts", 0, "startsAt"]
