"""The walking skeleton's rule: firing alerts become anomalies, resolved ones do not."""

from anomaly_detector.handlers import ANOMALIES_TOPIC, on_alert_received
from cc.testing.events import alert, received


def test_firing_alert_becomes_an_anomaly_caused_by_it() -> None:
    event = alert(labels={"severity": "critical"})
    [out] = on_alert_received(received(event))
    assert out.topic == ANOMALIES_TOPIC
    anomaly = out.event
    assert anomaly.kind == "alert_firing"
    assert anomaly.score == 0.9
    assert anomaly.member_fingerprints == [event.fingerprint]
    assert anomaly.signature.service == "api"
    assert anomaly.metadata.causation_id == event.metadata.event_id
    assert anomaly.metadata.correlation_id == event.metadata.event_id


def test_resolved_alert_is_not_an_anomaly() -> None:
    assert on_alert_received(received(alert(status="resolved"))) == []


def test_same_alert_redelivered_gives_the_same_anomaly_event_id() -> None:
    first = on_alert_received(received(alert()))[0].event
    again = on_alert_received(received(alert()))[0].event
    assert first.metadata.event_id == again.metadata.event_id
