"""Grouping anomalies and alerts into incidents; updates on real change; resolution; restarts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from cc.events import (
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    SuspectDeployment,
    deterministic_id,
)
from cc.kafka import Outgoing
from cc.kafka.state import MemoryStateStore
from cc.testing.events import T0, received
from cc.testing.incidents import anomaly_of, deployed, firing, place_labels
from remediation_planner.domain.incidents import AnomalyIn, Change
from remediation_planner.domain.openings import Openings, decode
from remediation_planner.handlers import OPENED, PLANNED, RESOLVED, UPDATED, Planner, Stores

MakePlanner = Callable[..., Planner]


WEB = place_labels("web", "shop", "prod")
API = place_labels("api", "shop", "prod")


def of(out: list[Outgoing], topic: str) -> list[Outgoing]:
    return [o for o in out if o.topic == topic]


def storm(planner, labels, n, *, start=T0, prefix="fp"):  # type: ignore[no-untyped-def]
    """n alerts and their anomalies, each batch one alert and one anomaly, a second apart."""
    out: list[Outgoing] = []
    for i in range(n):
        at = start + timedelta(seconds=i)
        fp = f"{prefix}{i}"
        out += planner.on_batch([received(firing(fp, labels, at=at))])
        out += planner.on_batch([received(anomaly_of([fp], labels, at=at))])
    return out


def test_a_storm_of_hundreds_of_alerts_is_one_incident(make_planner: MakePlanner) -> None:
    planner = make_planner()
    out = storm(planner, WEB, 300)
    opened = of(out, OPENED)
    assert len(opened) == 1
    assert len(of(out, PLANNED)) == 1
    incident = planner.book.incidents[opened[0].event.incident_id]
    assert len(incident.members) == 300 and incident.firing == 300


def test_member_changes_are_coalesced_into_few_updates(make_planner: MakePlanner) -> None:
    planner = make_planner()
    out = storm(planner, WEB, 200)
    assert of(out, UPDATED) == []  # members only: they wait for the tick
    [update] = planner.tick(T0 + timedelta(seconds=200))
    assert isinstance(update.event, IncidentUpdated)
    assert len(update.event.member_fingerprints) == 200
    assert planner.tick(T0 + timedelta(seconds=201)) == []  # nothing new: nothing published


def test_a_redelivered_anomaly_changes_nothing(make_planner: MakePlanner) -> None:
    planner = make_planner()
    anomaly = anomaly_of(["a"], WEB)
    assert of(planner.on_batch([received(anomaly)]), OPENED)
    assert planner.on_batch([received(anomaly)]) == []
    assert planner.tick(T0 + timedelta(minutes=1)) == []


def test_severity_rise_is_published_at_once(make_planner: MakePlanner) -> None:
    planner = make_planner()
    planner.on_batch([received(anomaly_of(["a"], WEB, score=0.5))])
    [update] = planner.on_batch([received(anomaly_of(["b"], WEB, score=0.95))])
    assert isinstance(update.event, IncidentUpdated)
    assert update.event.severity == "critical" and "severity" in update.event.change


def test_anomalies_marked_not_to_page_join_incidents_but_never_open_one(
    make_planner: MakePlanner,
) -> None:
    planner = make_planner()
    transient = anomaly_of(["t"], WEB, kind="transient")
    transient.evidence["page"] = "false"
    assert planner.on_batch([received(transient)]) == []
    assert planner.book.incidents == {}
    [opened] = of(planner.on_batch([received(anomaly_of(["a"], WEB))]), OPENED)
    flapping = anomaly_of(["f"], WEB, kind="flapping", at=T0 + timedelta(seconds=5))
    flapping.evidence["page"] = "false"
    planner.on_batch([received(flapping)])
    incident = planner.book.incidents[opened.event.incident_id]
    assert "f" in incident.members and "flapping" in incident.kinds


def test_other_service_opens_another_incident(make_planner: MakePlanner) -> None:
    planner = make_planner()
    first = of(planner.on_batch([received(anomaly_of(["a"], WEB))]), OPENED)
    other = of(planner.on_batch([received(anomaly_of(["b"], API))]), OPENED)
    assert first and other and first[0].key != other[0].key


def test_an_anomaly_long_after_the_last_activity_opens_a_new_incident(
    make_planner: MakePlanner,
) -> None:
    planner = make_planner()
    planner.on_batch([received(anomaly_of(["a"], WEB))])
    later = anomaly_of(["b"], WEB, at=T0 + timedelta(minutes=16))
    assert of(planner.on_batch([received(later)]), OPENED)


def test_services_broken_by_the_same_deploy_share_one_incident(make_planner: MakePlanner) -> None:
    planner = make_planner()
    suspect = SuspectDeployment(
        application="shop",
        revision="abc123",
        deployment_event_id="d1",
        seconds_before=60,
        score=0.9,
    )
    first = planner.on_batch([received(anomaly_of(["a"], WEB, suspect=suspect))])
    second = planner.on_batch([received(anomaly_of(["b"], API, suspect=suspect))])
    assert len(of(first, OPENED)) == 1 and of(second, OPENED) == []
    incident = planner.book.incidents[of(first, OPENED)[0].key]
    assert set(incident.members) == {"a", "b"}


def test_a_new_deploy_of_the_same_service_is_a_new_incident(make_planner: MakePlanner) -> None:
    planner = make_planner()
    one = SuspectDeployment(
        application="web", revision="r1", deployment_event_id="d1", seconds_before=60, score=0.9
    )
    two = SuspectDeployment(
        application="web", revision="r2", deployment_event_id="d2", seconds_before=30, score=0.9
    )
    planner.on_batch([received(anomaly_of(["a"], WEB, suspect=one))])
    out = planner.on_batch(
        [received(anomaly_of(["b"], WEB, suspect=two, at=T0 + timedelta(minutes=3)))]
    )
    assert len(of(out, OPENED)) == 1


def test_the_planner_names_a_recent_deploy_of_the_service_as_suspect(
    make_planner: MakePlanner,
) -> None:
    planner = make_planner()
    planner.on_batch([received(deployed("web", "bad42", at=T0 - timedelta(minutes=3)))])
    planner.on_batch([received(deployed("other", "zzz", namespace="elsewhere"))])
    [opened] = of(planner.on_batch([received(anomaly_of(["a"], WEB))]), OPENED)
    assert isinstance(opened.event, IncidentOpened)
    assert opened.event.suspect is not None
    assert (opened.event.suspect.application, opened.event.suspect.revision) == ("web", "bad42")
    assert 170 < opened.event.suspect.seconds_before < 190


def test_a_deploy_long_before_is_not_a_suspect(make_planner: MakePlanner) -> None:
    planner = make_planner()
    planner.on_batch([received(deployed("web", "old", at=T0 - timedelta(hours=2)))])
    [opened] = of(planner.on_batch([received(anomaly_of(["a"], WEB))]), OPENED)
    assert opened.event.suspect is None


def test_a_deploy_that_arrives_late_is_named_in_an_update(make_planner: MakePlanner) -> None:
    planner = make_planner()
    planner.on_batch([received(anomaly_of(["a"], WEB))])
    out = planner.on_batch([received(deployed("web", "late1", at=T0 - timedelta(minutes=1)))])
    [update] = of(out, UPDATED)
    assert update.event.suspect.revision == "late1"
    [plan] = of(out, PLANNED)  # the suspect makes a rollback the better plan
    assert plan.event.action == "argocd_rollback"


def test_firing_alerts_of_the_incidents_place_join_it(make_planner: MakePlanner) -> None:
    planner = make_planner()
    [opened] = of(planner.on_batch([received(anomaly_of(["a"], WEB))]), OPENED)
    planner.on_batch([received(firing("late-alert", WEB, at=T0 + timedelta(seconds=5)))])
    assert "late-alert" in planner.book.incidents[opened.key].members


def resolve_all(planner, fps, at):  # type: ignore[no-untyped-def]
    planner.on_batch([received(firing(fp, WEB, at=at, status="resolved")) for fp in fps])


def test_incident_resolves_after_the_quiet_period_only(make_planner: MakePlanner) -> None:
    planner = make_planner()
    storm(planner, WEB, 3)
    resolve_all(planner, ["fp0", "fp1", "fp2"], T0 + timedelta(minutes=1))
    assert of(planner.tick(T0 + timedelta(minutes=5, seconds=59)), RESOLVED) == []
    [resolved] = of(planner.tick(T0 + timedelta(minutes=6)), RESOLVED)
    assert isinstance(resolved.event, IncidentResolved)
    assert of(planner.tick(T0 + timedelta(minutes=7)), RESOLVED) == []  # once


def test_an_alert_firing_again_restarts_the_quiet_period(make_planner: MakePlanner) -> None:
    planner = make_planner()
    storm(planner, WEB, 2)
    resolve_all(planner, ["fp0", "fp1"], T0 + timedelta(minutes=1))
    planner.on_batch([received(firing("fp1", WEB, at=T0 + timedelta(minutes=3)))])
    assert of(planner.tick(T0 + timedelta(minutes=6)), RESOLVED) == []
    resolve_all(planner, ["fp1"], T0 + timedelta(minutes=4))
    assert of(planner.tick(T0 + timedelta(minutes=8)), RESOLVED) == []
    assert of(planner.tick(T0 + timedelta(minutes=9)), RESOLVED)


def test_one_alert_still_firing_keeps_the_incident_open(make_planner: MakePlanner) -> None:
    planner = make_planner()
    storm(planner, WEB, 3)
    resolve_all(planner, ["fp0", "fp1"], T0 + timedelta(minutes=1))
    assert of(planner.tick(T0 + timedelta(hours=1)), RESOLVED) == []


def test_after_a_restart_the_storm_goes_on_in_the_same_incident(make_planner: MakePlanner) -> None:
    stores = Stores(MemoryStateStore(), MemoryStateStore(), MemoryStateStore())
    first = make_planner(stores)
    out = storm(first, WEB, 50)
    restarted = make_planner(stores)
    out += storm(restarted, WEB, 50, start=T0 + timedelta(seconds=50), prefix="more")
    assert len(of(out, OPENED)) == 1
    [incident] = restarted.book.incidents.values()
    assert len(incident.members) == 100 and incident.firing == 100


def test_a_new_alert_writes_a_constant_amount_of_state(make_planner: MakePlanner) -> None:
    incidents = MemoryStateStore()
    planner = make_planner(Stores(incidents, MemoryStateStore(), MemoryStateStore()))
    storm(planner, WEB, 100)
    incidents.flush()
    incidents.flushed.clear()
    storm(planner, WEB, 1, start=T0 + timedelta(seconds=100), prefix="one-more")
    incidents.flush()
    written = incidents.flushed
    assert len(written) <= 3  # header, member, anomaly: never the 100 members again
    assert max(len(v or b"") for v in written.values()) < 2000


def test_an_opening_incident_adopts_the_firing_alerts_of_its_place(
    make_planner: MakePlanner,
) -> None:
    planner = make_planner()
    old = firing("long-ago", WEB, at=T0 - timedelta(minutes=30))
    recent = [firing(f"r{i}", WEB, at=T0 - timedelta(seconds=i)) for i in range(50)]
    elsewhere = firing("api-alert", API, at=T0)
    gone = firing("r7", WEB, at=T0, status="resolved")
    planner.on_batch([received(e) for e in [old, *recent, elsewhere, gone]])
    [opened] = of(planner.on_batch([received(anomaly_of(["r0"], WEB))]), OPENED)
    members = planner.book.incidents[opened.key].members
    assert set(members) == {f"r{i}" for i in range(50) if i != 7}


def test_a_message_the_planner_cannot_handle_is_marked_for_dead_letters_alone(
    make_planner: MakePlanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    planner = make_planner()
    broken, good = received(anomaly_of(["a"], WEB)), received(anomaly_of(["b"], API))
    add = planner.book.add_anomaly

    def failing(anomaly: AnomalyIn, **kw: str) -> Change | None:
        if anomaly.fingerprints == ("a",):
            raise ValueError("a bug met a strange anomaly")
        return add(anomaly, **kw)

    monkeypatch.setattr(planner.book, "add_anomaly", failing)
    out = planner.on_batch([broken, good])
    assert isinstance(broken.error, ValueError) and good.error is None
    assert len(of(out, OPENED)) == 1


def test_a_replay_after_a_crash_reopens_the_incident_under_the_published_id(
    make_planner: MakePlanner,
) -> None:
    """IncidentOpened went out, the planner died before it saved the incident; the replay
    (anomalies of several partitions, in another order) must not open a second incident."""
    openings = MemoryStateStore()
    first = make_planner(
        Stores(MemoryStateStore(), MemoryStateStore(), MemoryStateStore(), openings)
    )
    batch = [anomaly_of([f"fp{i}"], WEB, at=T0 + timedelta(milliseconds=i)) for i in range(3)]
    [published] = of(first.on_batch([received(e) for e in batch]), OPENED)
    assert published.event.incident_id == deterministic_id("incident", batch[0].anomaly_id)
    # the crash: only what was flushed before publishing survives (the incidents store not)
    kept = MemoryStateStore({k: v for k, v in openings.flushed.items() if v is not None})
    restarted = make_planner(
        Stores(MemoryStateStore(), MemoryStateStore(), MemoryStateStore(), kept)
    )
    [replayed] = of(restarted.on_batch([received(e) for e in reversed(batch)]), OPENED)
    assert replayed.event.incident_id == published.event.incident_id
    assert replayed.event.metadata.event_id == published.event.metadata.event_id
    [incident] = restarted.book.incidents.values()
    assert set(incident.members) == {"fp0", "fp1", "fp2"}


def test_an_opening_id_is_reused_only_near_in_time_unheld_and_for_the_same_cause() -> None:
    held: dict[str, None] = {}
    openings = Openings(timedelta(minutes=15), known=held)
    assert openings.open("x", "c/ns/web", "web@1", T0) == "x"
    assert openings.reserved("c/ns/web", "", T0 + timedelta(minutes=10)) == "x"
    assert openings.reserved("c/ns/api", "web@1", T0) == "x"  # one bad deploy, one incident
    assert openings.reserved("c/ns/web", "web@2", T0) is None  # a new deploy is a new cause
    assert openings.reserved("c/ns/web", "", T0 + timedelta(minutes=16)) is None
    held["x"] = None  # the incident was saved: its anomalies find it, a new one is new
    assert openings.reserved("c/ns/web", "", T0) is None
    restored = Openings(timedelta(minutes=15), known={})
    for _, value in openings.drain():
        restored.restore(decode(value))
    assert restored.reserved("c/ns/web", "", T0) == "x"
    assert sorted(restored.drop("x")) == ["s/web@1", "t/c/ns/web"]
    assert restored.reserved("c/ns/web", "", T0) is None
