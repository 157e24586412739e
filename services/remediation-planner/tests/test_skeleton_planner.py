"""Anomalies open one incident per signature and a first plan for it."""

from cc.testing.events import anomaly, received
from remediation_planner.domain.incidents import IncidentBook
from remediation_planner.handlers import OPENED, PLANNED, UPDATED, Planner


def anomaly_for(fingerprint: str, alertname: str = "DiskFull"):  # type: ignore[no-untyped-def]
    return anomaly(fingerprint, alertname)


def test_first_anomaly_opens_an_incident_and_a_plan_needing_approval() -> None:
    out = Planner(IncidentBook()).on_anomaly_detected(received(anomaly_for("a")))
    assert [o.topic for o in out] == [OPENED, PLANNED]
    opened, plan = out[0].event, out[1].event
    assert plan.incident_id == opened.incident_id
    assert plan.gate == "needs_approval" and plan.gate_rule
    assert opened.metadata.incident_id == opened.incident_id


def test_second_anomaly_of_the_same_signature_updates_the_incident() -> None:
    planner = Planner(IncidentBook())
    opened = planner.on_anomaly_detected(received(anomaly_for("a")))[0].event
    [update] = planner.on_anomaly_detected(received(anomaly_for("b")))
    assert update.topic == UPDATED
    assert update.event.incident_id == opened.incident_id
    assert update.event.member_fingerprints == ["a", "b"]


def test_redelivered_anomaly_changes_nothing() -> None:
    planner = Planner(IncidentBook())
    planner.on_anomaly_detected(received(anomaly_for("a")))
    assert planner.on_anomaly_detected(received(anomaly_for("a"))) == []


def test_another_signature_opens_another_incident() -> None:
    planner = Planner(IncidentBook())
    first = planner.on_anomaly_detected(received(anomaly_for("a")))[0].event
    other = planner.on_anomaly_detected(received(anomaly_for("c", "HighLatency")))[0].event
    assert other.incident_id != first.incident_id
