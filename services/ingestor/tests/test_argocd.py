"""Argo CD notifications: body -> DeploymentObserved, and the `/webhooks/argocd` route."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from cc.events import DeploymentObserved, SingleObjectSerde
from cc.testing.fakes import RecordingProducer
from ingestor.api import create_app
from ingestor.config import Settings
from ingestor.contracts_argocd import ArgoCDNotification
from ingestor.domain.deployments import deployment_from_notification

APPLICATION = Path(__file__).resolve().parents[3] / "deploy/argocd/testdata/application.json"
TOKEN = "argocd-s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RECEIVED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CURRENT = "84a516841ba77a5b4648de2cd0dfcb30ea46dbb4"
PREVIOUS = "e9d71f5ee7c92d6dc9e92ffdad17b8bd49418f98"
NEXT = "3c363836cf4e16666669a25da280a1865c2d2874"


def body(trigger: str = "on-deployed", **top: Any) -> dict[str, Any]:
    """The documented body around the fixture Application (a fresh copy each time)."""
    app = json.loads(APPLICATION.read_text())
    return {
        "version": 1,
        "trigger": trigger,
        "sentAt": "2026-11-26T11:03:06.123456789Z",
        "context": {"argocdUrl": "https://argocd.example.com", "notificationType": "cc"},
        "app": app,
        **top,
    }


def observe(payload: dict[str, Any]) -> DeploymentObserved:
    return deployment_from_notification(
        ArgoCDNotification.model_validate(payload), received_at=RECEIVED
    )


def failed_sync(payload: dict[str, Any]) -> dict[str, Any]:
    """The fixture after an operation by bob to NEXT failed (history unchanged)."""
    op = payload["app"]["status"]["operationState"]
    op.update(phase="Failed", message="one or more objects failed to apply")
    op.update(startedAt="2026-11-26T13:00:00Z", finishedAt="2026-11-26T13:00:20Z")
    op["operation"]["initiatedBy"] = {"username": "bob"}
    op["operation"]["sync"]["revision"] = NEXT
    op["syncResult"]["revision"] = NEXT
    return payload


# --- mapping ---------------------------------------------------------------------------------


def test_deployed_app_carries_revision_history_and_who_started_it() -> None:
    event = observe(body())
    assert (event.trigger, event.application, event.project) == (
        "on-deployed",
        "checkout",
        "payments",
    )
    assert (event.namespace, event.cluster) == ("checkout", "https://kubernetes.default.svc")
    assert (event.revision, event.history_id) == (CURRENT, 10)
    # id 9 re-synced id 8's revision: the previous *deployment* is the newest different revision
    assert (event.previous_revision, event.previous_history_id) == (PREVIOUS, 9)
    assert (event.operation_phase, event.health_status, event.sync_status) == (
        "Succeeded",
        "Healthy",
        "Synced",
    )
    assert event.started_at == datetime(2026, 11, 26, 11, 2, 11, tzinfo=UTC)
    assert event.finished_at == datetime(2026, 11, 26, 11, 2, 41, tzinfo=UTC)
    assert event.initiator == "automated"
    assert event.metadata.occurred_at == event.finished_at
    assert event.commit_author is None


def test_raw_keeps_the_whole_body_as_received() -> None:
    payload = body(extra={"kept": [1, None]})
    payload["app"]["status"]["operationState"]["syncResult"]["newField"] = None
    assert json.loads(observe(payload).raw) == payload


def test_re_sync_of_the_current_revision_is_not_its_own_predecessor() -> None:
    payload = body()
    history = payload["app"]["status"]["history"]
    history.append({**history[-1], "id": 11, "initiatedBy": {"username": "bob"}})
    payload["app"]["status"]["operationState"]["operation"]["initiatedBy"] = {"username": "bob"}
    event = observe(payload)
    assert (event.history_id, event.previous_history_id) == (11, 9)
    assert (event.previous_revision, event.initiator) == (PREVIOUS, "bob")


def test_history_order_on_the_wire_does_not_matter() -> None:
    payload = body()
    payload["app"]["status"]["history"].reverse()
    event = observe(payload)
    assert (event.history_id, event.previous_history_id) == (10, 9)


def test_failed_sync_has_no_history_entry_and_points_at_what_runs_now() -> None:
    event = observe(failed_sync(body("on-sync-failed")))
    assert (event.revision, event.operation_phase, event.initiator) == (NEXT, "Failed", "bob")
    assert event.history_id is None
    assert (event.previous_revision, event.previous_history_id) == (CURRENT, 10)


def test_running_sync_takes_the_requested_revision_and_its_start_time() -> None:
    payload = body("on-sync-running")
    op = payload["app"]["status"]["operationState"]
    op.update(phase="Running", startedAt="2026-11-26T13:00:00Z")
    del op["finishedAt"], op["syncResult"]
    op["operation"]["sync"]["revision"] = NEXT
    event = observe(payload)
    assert (event.revision, event.history_id, event.previous_history_id) == (NEXT, None, 10)
    assert event.finished_at is None
    assert event.metadata.occurred_at == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def test_created_app_needs_only_a_name() -> None:
    event = observe(
        {
            "trigger": "on-created",
            "app": {"metadata": {"name": "web", "creationTimestamp": "2026-11-26T09:00:00Z"}},
        }
    )
    assert (event.application, event.project, event.revision, event.cluster) == (
        "web",
        "default",
        "",
        "",
    )
    assert (event.history_id, event.previous_revision, event.operation_phase) == (None, None, None)
    assert event.metadata.occurred_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_nulls_count_as_absent() -> None:
    payload = body("on-health-degraded", sentAt=None, commit=None)
    payload["app"]["status"].update(operationState=None, history=None)
    payload["app"]["status"]["health"] = {"status": "Degraded", "lastTransitionTime": None}
    event = observe(payload)
    assert (event.revision, event.health_status, event.history_id) == (CURRENT, "Degraded", None)
    assert event.metadata.occurred_at == datetime(2026, 11, 26, 11, 5, 12, tzinfo=UTC)


def test_multi_source_revisions_are_joined_in_source_order() -> None:
    payload = body()
    status = payload["app"]["status"]
    del status["operationState"]["syncResult"]["revision"]
    del status["operationState"]["operation"]["sync"]["revision"]
    status["operationState"]["syncResult"]["revisions"] = [CURRENT, "v2.14.0"]
    status["history"][-1] = {"id": 10, "revisions": [CURRENT, "v2.14.0"]}
    event = observe(payload)
    assert (event.revision, event.history_id) == (f"{CURRENT},v2.14.0", 10)


def test_cluster_by_name_when_no_server_is_given() -> None:
    payload = body()
    payload["app"]["spec"]["destination"] = {"name": "prod-eu", "namespace": "checkout"}
    assert observe(payload).cluster == "prod-eu"


def test_commit_metadata_is_taken_from_get_commit_metadata_output() -> None:
    commit = {
        "Message": "checkout: raise pool size",
        "Author": "Dana <dana@example.com>",
        "Date": "2026-11-26T10:58:00+01:00",
        "Tags": ["v2.14.0"],
    }
    event = observe(body(commit=commit))
    assert event.commit_author == "Dana <dana@example.com>"
    assert event.commit_message == "checkout: raise pool size"
    assert event.commit_time == datetime(2026, 11, 26, 9, 58, tzinfo=UTC)


def test_redelivery_keeps_the_event_id_and_a_new_operation_changes_it() -> None:
    first = observe(body())
    resent = observe(body(sentAt="2026-11-26T11:09:00Z", context={}))
    later = body()
    later["app"]["status"]["operationState"]["finishedAt"] = "2026-11-26T11:02:42Z"
    assert first.metadata.event_id == resent.metadata.event_id
    assert first.metadata.event_id != observe(later).metadata.event_id
    assert first.metadata.event_id != observe(body("on-sync-succeeded")).metadata.event_id


def test_sync_status_unknown_is_dated_by_the_reconciliation_but_not_identified_by_it() -> None:
    first = body("on-sync-status-unknown")
    first["app"]["status"]["sync"]["status"] = "Unknown"
    later = copy.deepcopy(first)
    later["app"]["status"]["reconciledAt"] = "2026-11-26T11:08:12Z"
    a, b = observe(first), observe(later)
    assert a.metadata.occurred_at == datetime(2026, 11, 26, 11, 5, 12, tzinfo=UTC)
    assert b.metadata.occurred_at == datetime(2026, 11, 26, 11, 8, 12, tzinfo=UTC)
    assert a.metadata.event_id == b.metadata.event_id  # a re-fire after a failed delivery


def test_a_re_created_app_is_a_new_created_event() -> None:
    app = {"metadata": {"name": "web", "creationTimestamp": "2026-11-26T09:00:00Z"}}
    again = {"metadata": {"name": "web", "creationTimestamp": "2026-11-27T09:00:00Z"}}
    first = observe({"trigger": "on-created", "app": app})
    second = observe({"trigger": "on-created", "app": again})
    assert first.metadata.event_id != second.metadata.event_id


def test_without_any_time_in_the_app_sent_at_then_receipt_time_is_used() -> None:
    bare: dict[str, Any] = {"trigger": "on-created", "app": {"metadata": {"name": "web"}}}
    assert observe(bare).metadata.occurred_at == RECEIVED
    sent = observe({**bare, "sentAt": "2026-11-26T11:00:00Z"})
    assert sent.metadata.occurred_at == datetime(2026, 11, 26, 11, 0, tzinfo=UTC)


def test_the_event_encodes_with_the_avro_schema() -> None:
    event = observe(body(commit={"Author": "Dana", "Date": "2026-11-26T10:58:00Z"}))
    serde = SingleObjectSerde()
    assert serde.decode(serde.encode(event, "t"), "t") == event


# --- route -----------------------------------------------------------------------------------


def client_for(producer: RecordingProducer, **overrides: Any) -> TestClient:
    settings = Settings(argocd_token=SecretStr(TOKEN), kafka_ack_timeout_s=0.2, **overrides)
    return TestClient(create_app(settings, producer, CollectorRegistry()))  # type: ignore[arg-type]


def test_notification_is_acknowledged_once_kafka_holds_the_event() -> None:
    producer = RecordingProducer()
    response = client_for(producer).post("/webhooks/argocd", json=body(), headers=AUTH)
    assert response.status_code == 202
    answer = response.json()
    assert (answer["accepted"], answer["trigger"], answer["trigger_known"]) == (
        1,
        "on-deployed",
        True,
    )
    topic, key, event = producer.sent[0]
    assert (topic, key) == ("deployments.deployment-observed.v1", "checkout")
    assert answer["event_ids"] == [event.metadata.event_id]
    assert event.previous_history_id == 9


def test_same_body_twice_gives_the_same_event_id() -> None:
    client = client_for(RecordingProducer())
    first = client.post("/webhooks/argocd", json=body(), headers=AUTH).json()
    second = client.post("/webhooks/argocd", json=body(), headers=AUTH).json()
    assert first["event_ids"] == second["event_ids"]


def test_unknown_trigger_is_accepted_and_labelled() -> None:
    producer = RecordingProducer()
    response = client_for(producer).post(
        "/webhooks/argocd", json=body("on-canary-paused"), headers=AUTH
    )
    assert response.status_code == 202
    assert (response.json()["trigger"], response.json()["trigger_known"]) == (
        "on-canary-paused",
        False,
    )
    assert producer.sent[0][2].trigger == "on-canary-paused"


def test_missing_credentials_are_401_and_wrong_ones_403() -> None:
    producer = RecordingProducer()
    client = client_for(producer)
    missing = client.post("/webhooks/argocd", json=body())
    wrong = client.post("/webhooks/argocd", json=body(), headers={"Authorization": "Bearer no"})
    assert (missing.status_code, wrong.status_code) == (401, 403)
    assert producer.sent == []


def test_basic_auth_is_accepted_when_configured() -> None:
    client = client_for(RecordingProducer(), argocd_basic_auth="argocd:pw")
    assert client.post("/webhooks/argocd", json=body(), auth=("argocd", "pw")).status_code == 202
    assert client.post("/webhooks/argocd", json=body(), auth=("argocd", "x")).status_code == 403


def test_alertmanager_token_does_not_open_the_argocd_route() -> None:
    settings = Settings(alertmanager_token=SecretStr(TOKEN), kafka_ack_timeout_s=0.2)
    app = create_app(settings, RecordingProducer(), CollectorRegistry())  # type: ignore[arg-type]
    assert TestClient(app).post("/webhooks/argocd", json=body(), headers=AUTH).status_code == 403


def test_wrong_content_type_is_415() -> None:
    response = client_for(RecordingProducer()).post(
        "/webhooks/argocd",
        content=json.dumps(body()),
        headers={**AUTH, "Content-Type": "text/plain"},
    )
    assert response.status_code == 415


def test_body_over_the_limit_is_413() -> None:
    response = client_for(RecordingProducer(), max_body_bytes=1000).post(
        "/webhooks/argocd", json=body(), headers=AUTH
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("drop", "loc"),
    [
        (("app", "metadata", "name"), ["body", "app", "metadata", "name"]),
        (("app", "metadata"), ["body", "app", "metadata"]),
        (("trigger",), ["body", "trigger"]),
    ],
)
def test_missing_required_field_is_422_naming_its_path(
    drop: tuple[str, ...], loc: list[Any]
) -> None:
    bad = body()
    parent = bad
    for part in drop[:-1]:
        parent = parent[part]
    del parent[drop[-1]]
    response = client_for(RecordingProducer()).post("/webhooks/argocd", json=bad, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_malformed_time_is_422_naming_its_path() -> None:
    bad = body()
    bad["app"]["status"]["history"][1]["deployedAt"] = "last tuesday"
    response = client_for(RecordingProducer()).post("/webhooks/argocd", json=bad, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == [
        "body",
        "app",
        "status",
        "history",
        1,
        "deployedAt",
    ]


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_kafka_not_acknowledging_is_503_with_retry_after(mode: str) -> None:
    response = client_for(RecordingProducer(mode)).post(
        "/webhooks/argocd", json=body(), headers=AUTH
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_accepted_events_are_counted_for_the_argocd_source() -> None:
    client = client_for(RecordingProducer())
    client.post("/webhooks/argocd", json=body(), headers=AUTH)
    client.post("/webhooks/argocd", json=body(), headers={"Authorization": "Bearer no"})
    metrics = client.get("/metrics").text
    assert 'cc_ingest_events_total{source="argocd"} 1.0' in metrics
    assert 'cc_ingest_requests_total{source="argocd",status="403"} 1.0' in metrics


def test_route_states_its_auth_in_the_openapi_summary() -> None:
    spec = client_for(RecordingProducer()).get("/openapi.json").json()
    summary = spec["paths"]["/webhooks/argocd"]["post"]["summary"]
    assert "bearer token or basic auth" in summary


def test_a_time_that_overflows_in_utc_is_422_not_500() -> None:
    """Found by the OpenAPI fuzz test: the mapping converted it and raised OverflowError."""
    payload = body()
    payload["app"]["status"]["operationState"]["startedAt"] = "0001-01-01T00:00:00+01:00"
    response = client_for(RecordingProducer()).post("/webhooks/argocd", json=payload, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "startedAt"
