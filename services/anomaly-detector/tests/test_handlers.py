"""Handlers: contract events in, `AnomalyDetected` out, state through the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson

from anomaly_detector.domain.detector import AlertDetectors
from anomaly_detector.domain.params import DetectorParams
from anomaly_detector.handlers import ANOMALIES_TOPIC, AlertHandlers
from cc.events import AlertReceived, DeploymentObserved, deterministic_id, new_metadata
from cc.kafka import Outgoing
from cc.kafka.state import MemoryStateStore
from cc.testing.events import alert, received

T0 = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)


def _handlers(store: MemoryStateStore | None = None) -> AlertHandlers:
    handlers = AlertHandlers(AlertDetectors(DetectorParams()), store or MemoryStateStore())
    handlers.restore()
    return handlers


def _alert(i: int, at: datetime, **labels: str) -> AlertReceived:
    return alert(
        "HighErrorRate", fingerprint=f"fp{i:04d}", labels={"pod": f"p{i}", **labels}, at=at
    )


def _deploy(application: str, at: datetime) -> DeploymentObserved:
    return DeploymentObserved(
        metadata=new_metadata(
            "ingestor", occurred_at=at, event_id=deterministic_id("t", application, str(at))
        ),
        trigger="on-deployed",
        application=application,
        namespace="shop",
        revision="9f8e7d6c5b4a",
        started_at=at - timedelta(minutes=1),
        finished_at=at,
    )


def test_a_single_new_critical_alert_is_one_novel_signature_anomaly() -> None:
    """The walking skeleton's case: one firing alert, never seen before."""
    event = alert(labels={"severity": "critical"})
    [out] = _handlers().on_message(received(event))
    anomaly = out.event
    assert out.topic == ANOMALIES_TOPIC and out.key == "api|shop|DiskFull"
    assert (anomaly.kind, anomaly.phase, anomaly.score) == ("rare_signature", "started", 0.9)
    assert anomaly.member_fingerprints == [event.fingerprint]
    assert anomaly.signature.service == "api" and anomaly.signature.alertname == "DiskFull"
    assert anomaly.metadata.causation_id == event.metadata.event_id
    assert anomaly.metadata.correlation_id == event.metadata.event_id
    assert anomaly.evidence["seen_before"] == "never"


def test_a_resolved_alert_says_by_its_own_times_whether_it_was_transient() -> None:
    handlers = _handlers()
    long_one = alert(status="resolved", fingerprint="long", at=T0)
    long_one = replace(long_one, starts_at=T0 - timedelta(hours=2))
    assert handlers.on_message(received(long_one)) == []
    [out] = handlers.on_message(received(alert(status="resolved", fingerprint="short", at=T0)))
    assert (out.event.kind, out.event.evidence["resolved_after"]) == ("transient", "60s")


def test_replayed_input_gives_the_same_event_ids() -> None:
    events = [_alert(i, T0 + timedelta(seconds=i)) for i in range(15)]
    one = [o.event.metadata.event_id for o in _run(events)]
    two = [o.event.metadata.event_id for o in _run(events)]
    assert one == two and len(one) == 2  # the novel signature, then the storm


def _run(events: list[AlertReceived]) -> list[Outgoing]:
    handlers = _handlers()
    return [o for e in events for o in handlers.on_message(received(e))]


def test_storm_after_deploy_names_the_deploy_as_suspect() -> None:
    handlers = _handlers()
    deploy = _deploy("api", T0 - timedelta(minutes=4))
    assert handlers.on_message(received(deploy)) == []
    outs = [
        o
        for i in range(5)
        for o in handlers.on_message(received(_alert(i, T0 + timedelta(seconds=i))))
    ]
    [regression] = [o.event for o in outs if o.event.kind == "deploy_regression"]
    assert regression.suspect is not None
    assert regression.suspect.deployment_event_id == deploy.metadata.event_id
    assert regression.suspect.application == "api"
    assert regression.suspect.revision == "9f8e7d6c5b4a"
    # deployed at T0 - 4 min; the alerts' startsAt (the burst's start) is T0 - 1 min
    assert regression.suspect.seconds_before == 180.0
    assert 0 <= regression.score <= 1


def test_the_end_comes_from_the_tick_linked_to_the_start() -> None:
    handlers = _handlers()
    outs = [
        o
        for i in range(12)
        for o in handlers.on_message(received(_alert(i, T0 + timedelta(seconds=i))))
    ]
    [started] = [o.event for o in outs if o.event.kind == "alert_storm"]
    quiet = T0 + timedelta(hours=1)
    assert handlers.tick(quiet) == [], "events were flowing: event time has not moved on"
    assert handlers.tick(quiet) == [], "nothing since the last tick: idle from now on"
    assert handlers.tick(quiet + timedelta(seconds=59)) == [], "idle, but not for a minute yet"
    [out] = handlers.tick(quiet + timedelta(seconds=60))
    ended = out.event
    assert (ended.kind, ended.phase) == ("alert_storm", "ended")
    assert ended.anomaly_id == started.anomaly_id
    assert ended.metadata.causation_id == started.metadata.event_id
    assert ended.metadata.event_id != started.metadata.event_id
    assert ended.window_start == started.window_start < ended.window_end
    assert out.cause is None


def test_while_events_flow_ends_follow_event_time_not_the_clock() -> None:
    """A backlog replayed long after the fact (a restart) extends the storm, not ends it."""
    handlers = _handlers()
    late = T0 + timedelta(hours=2)  # the wall clock during the replay
    for i in range(0, 600, 5):  # alerts every 5 s for 10 minutes, in batches between ticks
        handlers.on_message(received(_alert(i, T0 + timedelta(seconds=i))))
        if i % 50 == 0:
            assert handlers.tick(late) == []
    storms = [o for o in handlers.tick(late) if o.event.kind == "alert_storm"]
    assert storms == []


def test_state_written_on_flush_restores_an_open_storm_after_a_restart() -> None:
    store = MemoryStateStore()
    handlers = _handlers(store)
    for i in range(12):
        handlers.on_message(received(_alert(i, T0 + timedelta(seconds=i))))
    assert handlers.flush() == []
    assert any(k.startswith("s|") for k in store.flushed)
    assert (
        orjson.loads(store.get("m") or b"{}")["first_seen"]
        == (T0 - timedelta(minutes=1)).timestamp()
    )

    restarted = _handlers(MemoryStateStore(dict(store.items())))
    assert restarted.tick(T0 + timedelta(hours=1)) == [], "joining the group: no end yet"
    again = [
        o
        for i in range(12, 30)
        for o in restarted.on_message(received(_alert(i, T0 + timedelta(seconds=i))))
    ]
    assert again == [], "the storm is still open: no second start, no second novel signature"
    assert restarted.tick(T0 + timedelta(hours=1)) == []
    assert restarted.tick(T0 + timedelta(hours=1)) == []
    [ended] = restarted.tick(T0 + timedelta(hours=2))  # idle for over a minute
    assert ended.event.phase == "ended" and ended.event.evidence["total"] == "30"


def test_a_deploy_arriving_after_its_storm_began_is_published_as_caused_by_the_deploy() -> None:
    handlers = _handlers()
    for i in range(12):
        handlers.on_message(received(_alert(i, T0 + timedelta(seconds=i))))
    deploy = _deploy("api", T0 - timedelta(minutes=3))
    [out] = handlers.on_message(received(deploy))
    regression = out.event
    assert (regression.kind, regression.phase) == ("deploy_regression", "started")
    assert regression.suspect is not None
    assert regression.suspect.deployment_event_id == deploy.metadata.event_id
    assert regression.metadata.causation_id == deploy.metadata.event_id
