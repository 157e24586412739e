"""A real Alertmanager alert travels the whole pipeline: one Slack message, a complete audit trail,
one trace across the five services."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cc.testing import audit, infra
from cc.testing.fake_slack import FakeSlack
from cc.testing.otlp_receiver import OtlpReceiver, Span
from cc.testing.processes import ServiceProcess

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.kafka,
    pytest.mark.elasticsearch,
    pytest.mark.alertmanager,
]

CHAIN = [
    "AlertReceived",
    "AnomalyDetected",
    "IncidentOpened",
    "RemediationPlanned",
    "NotificationSent",
]
FIVE = {"ingestor", "anomaly-detector", "remediation-planner", "notifier", "compliance-auditor"}


def wait_until(condition: Any, timeout: float, what: str) -> Any:
    """Poll an outside system (Elasticsearch) until the condition holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)  # Elasticsearch offers nothing to wait on for "these documents exist"
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def test_alert_reaches_slack_audit_and_one_trace(
    endpoints: infra.Endpoints,
    services: dict[str, ServiceProcess],
    slack: FakeSlack,
    otlp: OtlpReceiver,
    run_id: str,
) -> None:
    alertname = f"E2EDiskFull{run_id}"
    before = len(slack.received())
    response = httpx.post(
        f"{endpoints.alertmanager_url}/api/v2/alerts",
        json=[
            {
                "labels": {
                    "alertname": alertname,
                    # a service of its own: the planner groups a service's alerts into one
                    # incident, and an earlier run's alert may still be firing
                    "service": f"checkout-{run_id}",
                    "namespace": "shop",
                    "severity": "critical",
                    "run_id": run_id,
                },
                "annotations": {"summary": "disk full on checkout"},
                "startsAt": datetime.now(UTC).isoformat(),
                "generatorURL": "http://prometheus.local/graph",
            }
        ],
        timeout=10,
    )
    assert response.status_code == 200, response.text

    messages = slack.wait_for(before + 1, timeout=60)[before:]
    assert len([m for m in messages if alertname in m["json"]["text"]]) == 1

    def chain_documents() -> list[dict[str, Any]]:
        first = audit.search(endpoints.elasticsearch_url, {"term": {"labels.run_id": run_id}})
        if not first or "trace" not in first[0]["_source"]:
            return []
        trace_id = first[0]["_source"]["trace"]["id"]
        docs = audit.search(endpoints.elasticsearch_url, {"term": {"trace.id": trace_id}})
        return docs if len(docs) >= len(CHAIN) else []

    docs = wait_until(chain_documents, 60, "the run's five events in Elasticsearch")
    records = sorted(d["_source"]["commandcenter"]["record"] for d in docs)
    assert records == sorted(CHAIN), "every event of the run exactly once"
    assert all(d["_id"] == d["_source"]["event"]["id"] for d in docs)
    trace_id = docs[0]["_source"]["trace"]["id"]
    assert {d["_source"]["trace"]["id"] for d in docs} == {trace_id}
    for doc in docs:
        assert audit.count(endpoints.elasticsearch_url, {"ids": {"values": [doc["_id"]]}}) == 1

    def five_services(spans: list[Span]) -> bool:
        return {s.service_name for s in spans if s.trace_id == trace_id} >= FIVE

    spans = [s for s in otlp.wait_for(five_services, timeout=30) if s.trace_id == trace_id]
    assert {s.service_name for s in spans} >= FIVE
    ingest = [s for s in spans if s.service_name == "ingestor" and s.kind == "SERVER"]
    assert len(ingest) == 1 and ingest[0].parent_span_id == ""
