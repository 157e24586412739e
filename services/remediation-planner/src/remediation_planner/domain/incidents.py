"""Incidents: anomalies and alerts grouped by topology, time and shared suspect change.

An anomaly joins, in this order: the open incident that already holds one of its alerts; the
open incident blamed on the same suspect change (one bad deploy breaking several services is one
incident); the open incident of the same topology (cluster, namespace, service) whose last
activity is within the grouping window, unless the two name different suspect changes (a new
deploy is a new cause). Otherwise it opens an incident. Firing alerts of an open incident's
topology join it as members too.

Members are kept in dicts and counted as they change, so a storm of hundreds of alerts costs
O(1) per event; the book records which keys changed (`changes`) so that only those are written
to the state store. An incident resolves once every member alert has resolved and stayed
resolved for the quiet period (`due_resolutions`, driven by the clock of the tick).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from remediation_planner.domain.openings import Openings

SEVERITIES = ("info", "warning", "high", "critical")
ANOMALY_MEMBER = "anomaly:"  # pseudo-member of an anomaly without alerts; resolves on "ended"


def severity_for(score: float) -> str:
    """Incident severity from an anomaly score."""
    if score >= 0.85:
        return "critical"
    if score >= 0.7:
        return "high"
    if score >= 0.4:
        return "warning"
    return "info"


def topology_key(cluster: str, namespace: str, service: str) -> str:
    """The grouping key of a place: cluster/namespace/service."""
    return f"{cluster}/{namespace}/{service}"


@dataclass(frozen=True)
class Suspect:
    """A deploy named as the probable cause."""

    application: str
    revision: str
    deployment_event_id: str
    seconds_before: float
    score: float

    @property
    def key(self) -> str:
        """Identity of the change: application at revision."""
        return f"{self.application}@{self.revision}"


@dataclass(frozen=True)
class AnomalyIn:
    """What grouping needs of an AnomalyDetected."""

    anomaly_id: str
    kind: str
    phase: str
    score: float
    at: datetime
    signature: dict[str, str]
    summary: str
    fingerprints: tuple[str, ...]
    suspect: Suspect | None = None
    pages: bool = True
    """False for what the detector marks as not worth a page (transient, flapping): it joins an
    open incident of its place but never opens one."""

    @property
    def topology(self) -> str:
        """cluster/namespace/service of the anomaly."""
        s = self.signature
        return topology_key(s.get("cluster", ""), s.get("namespace", ""), s.get("service", ""))


@dataclass
class Incident:
    """An incident and what it groups."""

    incident_id: str
    opened_at: datetime
    last_activity: datetime
    signature: dict[str, str]
    title: str
    severity: str
    kinds: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    suspect: Suspect | None = None
    anomalies: dict[str, None] = field(default_factory=dict)
    members: dict[str, bool] = field(default_factory=dict)  # fingerprint -> firing
    firing: int = 0
    quiet_since: datetime | None = None
    resolved_at: datetime | None = None
    pending: set[str] = field(default_factory=set)  # unpublished changes: members/severity/suspect
    updates: int = 0
    last_update_at: datetime | None = None
    planned_actions: list[str] = field(default_factory=list)

    @property
    def topology(self) -> str:
        """cluster/namespace/service of the incident."""
        s = self.signature
        return topology_key(s.get("cluster", ""), s.get("namespace", ""), s.get("service", ""))

    @property
    def environment(self) -> str:
        """The environment from the signature, else the env/environment label."""
        s = self.signature
        return s.get("environment") or self.labels.get("env") or self.labels.get("environment", "")

    @property
    def open(self) -> bool:
        """Not resolved yet."""
        return self.resolved_at is None


@dataclass(frozen=True)
class RecentAlert:
    """An alert state seen while no incident held the alert."""

    labels: dict[str, str]
    firing: bool
    at: datetime
    place: str


@dataclass(frozen=True)
class Change:
    """What an input did to an incident: opened it, or changed these things (maybe nothing)."""

    incident: Incident
    opened: bool
    reasons: frozenset[str]


class IncidentBook:
    """Every incident the planner keeps, with indexes for O(1) grouping."""

    def __init__(self, *, window: timedelta, recent_alerts: int = 100_000) -> None:
        self.window = window
        self.incidents: dict[str, Incident] = {}
        self._by_fingerprint: dict[str, str] = {}  # open incidents only
        self._by_topology: dict[str, str] = {}
        self._by_suspect: dict[str, str] = {}
        self._quiet: set[str] = set()
        # alert states seen before any incident held them, bounded, and by place: an incident
        # opening adopts the firing alerts of its place that came just before its anomaly
        self._recent: OrderedDict[str, RecentAlert] = OrderedDict()
        self._recent_by_place: dict[str, dict[str, None]] = {}
        self._recent_capacity = recent_alerts
        self.openings = Openings(window, known=self.incidents)  # ids for a replay to reuse
        self.changes: set[tuple[str, ...]] = set()
        """Changed state keys since the last drain: ('incident', id), ('member', id, fp),
        ('anomaly', id, anomaly_id)."""

    def add_anomaly(self, anomaly: AnomalyIn, *, new_incident_id: str) -> Change | None:
        """Group an anomaly; None when it belongs to no incident (an end of something unknown)."""
        members = anomaly.fingerprints or (ANOMALY_MEMBER + anomaly.anomaly_id,)
        incident = self._home_of(anomaly, members)
        if anomaly.phase == "ended":
            if incident is not None and not anomaly.fingerprints:
                self._set_member(incident, members[0], firing=False, at=anomaly.at)
            return None if incident is None else Change(incident, False, frozenset())
        opened = incident is None
        if incident is None:
            if not anomaly.pages:
                return None
            incident = self._open(anomaly, new_incident_id)
        reasons: set[str] = set()
        if anomaly.anomaly_id not in incident.anomalies:
            incident.anomalies[anomaly.anomaly_id] = None
            self.changes.add(("anomaly", incident.incident_id, anomaly.anomaly_id))
        if anomaly.kind not in incident.kinds:
            incident.kinds.append(anomaly.kind)
        for fp in members:
            if self._add_member(incident, fp, at=anomaly.at):
                reasons.add("members")
        severity = severity_for(anomaly.score)
        if SEVERITIES.index(severity) > SEVERITIES.index(incident.severity):
            incident.severity = severity
            reasons.add("severity")
        if anomaly.suspect is not None and incident.suspect is None:
            self.set_suspect(incident, anomaly.suspect)
            reasons.add("suspect")
        incident.last_activity = max(incident.last_activity, anomaly.at)
        self._touch(incident)
        if opened:
            return Change(incident, True, frozenset())
        incident.pending |= reasons
        return Change(incident, False, frozenset(reasons))

    def observe_alert(
        self, fingerprint: str, *, firing: bool, at: datetime, labels: dict[str, str]
    ) -> Change | None:
        """Track a member alert's state; a firing alert of an open incident's place joins it."""
        incident_id = self._by_fingerprint.get(fingerprint)
        if incident_id is not None:
            incident = self.incidents[incident_id]
            self._set_member(incident, fingerprint, firing=firing, at=at)
            return Change(incident, False, frozenset())
        place = topology_of(labels)
        candidate = self.incidents.get(self._by_topology.get(place, ""))
        if firing and candidate is not None and self._recent_enough(candidate, at):
            self._add_member(candidate, fingerprint, at=at)
            candidate.last_activity = max(candidate.last_activity, at)
            candidate.pending.add("members")
            self._touch(candidate)
            return Change(candidate, False, frozenset({"members"}))
        self._forget_recent(fingerprint)
        self._recent[fingerprint] = RecentAlert(labels, firing, at, place)
        self._recent_by_place.setdefault(place, {})[fingerprint] = None
        if len(self._recent) > self._recent_capacity:
            self._forget_recent(next(iter(self._recent)))
        return None

    def set_suspect(self, incident: Incident, suspect: Suspect) -> None:
        """Name the suspect change of an incident (callers publish the change)."""
        if incident.suspect is not None:
            self._by_suspect.pop(incident.suspect.key, None)
        incident.suspect = suspect
        self._by_suspect[suspect.key] = incident.incident_id
        incident.pending.add("suspect")
        self._touch(incident)

    def open_incidents(self, topology: str) -> Incident | None:
        """The open incident of a place, if any."""
        incident = self.incidents.get(self._by_topology.get(topology, ""))
        return incident if incident is not None and incident.open else None

    def due_resolutions(self, now: datetime, quiet: timedelta) -> list[Incident]:
        """Resolve the incidents whose members all stayed resolved for `quiet`; return them."""
        done = []
        for incident_id in list(self._quiet):
            incident = self.incidents[incident_id]
            if incident.quiet_since is not None and now - incident.quiet_since >= quiet:
                self._quiet.discard(incident_id)
                incident.resolved_at = now
                self._unindex(incident)
                self._touch(incident)
                done.append(incident)
        return done

    def due_updates(self, now: datetime, interval: timedelta) -> list[Incident]:
        """Open incidents with unpublished changes, at most one update per `interval` each."""
        due = []
        for incident in self.incidents.values():
            if not incident.pending or not incident.open:
                continue
            quiet_enough = incident.last_update_at is None or (
                now - incident.last_update_at >= interval
            )
            # severity and suspect changes are news at once; member counts can wait
            if quiet_enough or incident.pending & {"severity", "suspect"}:
                due.append(incident)
        return due

    def mark_published(self, incident: Incident, now: datetime) -> frozenset[str]:
        """Record that the pending changes were published; returns what they were."""
        reasons = frozenset(incident.pending)
        incident.pending.clear()
        incident.updates += 1
        incident.last_update_at = now
        self._touch(incident)
        return reasons

    def expired(self, now: datetime, retention: timedelta) -> list[Incident]:
        """Forget incidents resolved longer ago than `retention`; return them (to delete)."""
        gone = [
            i
            for i in self.incidents.values()
            if i.resolved_at is not None and now - i.resolved_at >= retention
        ]
        for incident in gone:
            del self.incidents[incident.incident_id]
        return gone

    def restore(self, incident: Incident) -> None:
        """Put back an incident read from the state store (members and anomalies included)."""
        incident.firing = sum(1 for firing in incident.members.values() if firing)
        self.incidents[incident.incident_id] = incident
        if incident.open:
            self._index(incident)
            if incident.firing == 0 and incident.quiet_since is not None:
                self._quiet.add(incident.incident_id)

    # -- internals ------------------------------------------------------------------------

    def _home_of(self, anomaly: AnomalyIn, members: tuple[str, ...]) -> Incident | None:
        for fp in members:
            if (found := self._by_fingerprint.get(fp)) is not None:
                return self.incidents[found]
        if anomaly.suspect is not None and (found := self._by_suspect.get(anomaly.suspect.key)):
            return self.incidents[found]
        candidate = self.incidents.get(self._by_topology.get(anomaly.topology, ""))
        if candidate is None or not self._recent_enough(candidate, anomaly.at):
            return None
        if candidate.suspect and anomaly.suspect and candidate.suspect.key != anomaly.suspect.key:
            return None
        return candidate

    def _recent_enough(self, incident: Incident, at: datetime) -> bool:
        return incident.open and at - incident.last_activity <= self.window

    def _open(self, anomaly: AnomalyIn, new_id: str) -> Incident:
        suspect = anomaly.suspect.key if anomaly.suspect else ""
        incident_id = self.openings.open(new_id, anomaly.topology, suspect, anomaly.at)
        labels: dict[str, str] = {}
        for fp in anomaly.fingerprints:
            if fp in self._recent:
                labels = dict(self._recent[fp].labels)
                break
        incident = Incident(
            incident_id=incident_id,
            opened_at=anomaly.at,
            last_activity=anomaly.at,
            signature=dict(anomaly.signature),
            title=anomaly.summary,
            severity=severity_for(anomaly.score),
            labels=labels,
        )
        self.incidents[incident_id] = incident
        self._index(incident)
        for fp in list(self._recent_by_place.get(anomaly.topology, ())):
            seen = self._recent[fp]
            if seen.firing and anomaly.at - seen.at <= self.window:
                incident.labels = incident.labels or dict(seen.labels)
                self._add_member(incident, fp, at=anomaly.at)
        return incident

    def _add_member(self, incident: Incident, fingerprint: str, *, at: datetime) -> bool:
        if fingerprint in incident.members:
            return False
        # an alert seen resolved before the anomaly that names it arrived stays resolved
        known = self._forget_recent(fingerprint)
        firing = True if known is None else known.firing
        incident.members[fingerprint] = False
        self._by_fingerprint[fingerprint] = incident.incident_id
        self._set_member(incident, fingerprint, firing=firing, at=at, force=True)
        return True

    def _set_member(
        self, incident: Incident, fp: str, *, firing: bool, at: datetime, force: bool = False
    ) -> None:
        if incident.members.get(fp) == firing and not force:
            return
        was = incident.members.get(fp, False)
        incident.members[fp] = firing
        incident.firing += int(firing) - int(was)
        self.changes.add(("member", incident.incident_id, fp))
        if incident.firing == 0 and incident.open:
            incident.quiet_since = at
            self._quiet.add(incident.incident_id)
        elif firing:
            incident.quiet_since = None
            self._quiet.discard(incident.incident_id)
        self._touch(incident)

    def _forget_recent(self, fingerprint: str) -> RecentAlert | None:
        known = self._recent.pop(fingerprint, None)
        if known is not None:
            place = self._recent_by_place.get(known.place, {})
            place.pop(fingerprint, None)
            if not place:
                self._recent_by_place.pop(known.place, None)
        return known

    def _index(self, incident: Incident) -> None:
        self._by_topology[incident.topology] = incident.incident_id
        if incident.suspect is not None:
            self._by_suspect[incident.suspect.key] = incident.incident_id
        for fp in incident.members:
            self._by_fingerprint[fp] = incident.incident_id

    def _unindex(self, incident: Incident) -> None:
        if self._by_topology.get(incident.topology) == incident.incident_id:
            del self._by_topology[incident.topology]
        if incident.suspect and self._by_suspect.get(incident.suspect.key) == incident.incident_id:
            del self._by_suspect[incident.suspect.key]
        for fp in incident.members:
            if self._by_fingerprint.get(fp) == incident.incident_id:
                del self._by_fingerprint[fp]

    def _touch(self, incident: Incident) -> None:
        self.changes.add(("incident", incident.incident_id))


def topology_of(labels: dict[str, str]) -> str:
    """cluster/namespace/service of an alert's labels (service, else app, else job)."""
    service = labels.get("service") or labels.get("app") or labels.get("job", "")
    return topology_key(labels.get("cluster", ""), labels.get("namespace", ""), service)
