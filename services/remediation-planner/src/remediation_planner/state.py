"""The planner's state in key/value stores (compacted Kafka topics in production).

Incidents store: `i/<incident>` header, `m/<incident>/<fingerprint>` member (1 firing, 0
resolved), `a/<incident>/<anomaly>` anomaly, `d/<application>` latest deploy, `w/<execution>`
verification watch, `p/<plan>` plan. Members and anomalies are keys of their own so a storm
writes one small record per new alert, never the whole member list again.
Outcomes store: `o/<execution>` one verified outcome (tallies are rebuilt from them on start).
Automation store: `r/<service>/<plan>` time of an automatic plan (the hourly limit).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import orjson

from remediation_planner.domain.incidents import Incident, IncidentBook, Suspect
from remediation_planner.domain.learning import Outcomes
from remediation_planner.domain.policy import AutomationLedger
from remediation_planner.domain.suspects import Deploy
from remediation_planner.domain.verification import Watch
from remediation_planner.ports import StateStore

HEADER_FIELDS = (
    "incident_id",
    "signature",
    "title",
    "severity",
    "kinds",
    "labels",
    "updates",
    "planned_actions",
)
TIMES = ("opened_at", "last_activity", "quiet_since", "resolved_at", "last_update_at")


def save_changes(book: IncidentBook, store: StateStore) -> None:
    """Write what changed in the book since the last call (removals included)."""
    for change in book.changes:
        kind, incident_id = change[0], change[1]
        incident = book.incidents.get(incident_id)
        if kind == "incident":
            store.put(f"i/{incident_id}", None if incident is None else encode_incident(incident))
        elif kind == "member":
            firing = None if incident is None else incident.members.get(change[2])
            store.put(
                f"m/{incident_id}/{change[2]}",
                None if firing is None else (b"1" if firing else b"0"),
            )
        elif kind == "anomaly":
            store.put(f"a/{incident_id}/{change[2]}", None if incident is None else b"1")
    book.changes.clear()


def forget(incident: Incident, store: StateStore) -> None:
    """Delete every key of an incident."""
    store.put(f"i/{incident.incident_id}", None)
    for fp in incident.members:
        store.put(f"m/{incident.incident_id}/{fp}", None)
    for anomaly_id in incident.anomalies:
        store.put(f"a/{incident.incident_id}/{anomaly_id}", None)


def encode_incident(incident: Incident) -> bytes:
    """The header of an incident (members and anomalies are separate keys)."""
    data: dict[str, Any] = {name: getattr(incident, name) for name in HEADER_FIELDS}
    data |= {name: getattr(incident, name) for name in TIMES}
    data["pending"] = sorted(incident.pending)
    data["suspect"] = None if incident.suspect is None else asdict(incident.suspect)
    return orjson.dumps(data)


def decode_incident(raw: bytes) -> Incident:
    """An incident header, without members and anomalies."""
    data = orjson.loads(raw)
    suspect = data["suspect"]
    return Incident(
        incident_id=data["incident_id"],
        signature=data["signature"],
        title=data["title"],
        severity=data["severity"],
        kinds=data["kinds"],
        labels=data["labels"],
        updates=data["updates"],
        planned_actions=data["planned_actions"],
        opened_at=datetime.fromisoformat(data["opened_at"]),
        last_activity=datetime.fromisoformat(data["last_activity"]),
        quiet_since=_time(data["quiet_since"]),
        resolved_at=_time(data["resolved_at"]),
        last_update_at=_time(data["last_update_at"]),
        suspect=None if suspect is None else Suspect(**suspect),
        pending=set(data["pending"]),
    )


def load_book(book: IncidentBook, store: StateStore) -> dict[str, int]:
    """Fill the book from the store; returns counts of what was read."""
    incidents: dict[str, Incident] = {}
    members: list[tuple[str, str, bool]] = []
    anomalies: list[tuple[str, str]] = []
    for key, value in store.items():
        kind, _, rest = key.partition("/")
        if kind == "i":
            incidents[rest] = decode_incident(value)
        elif kind == "m":
            incident_id, _, fp = rest.partition("/")
            members.append((incident_id, fp, value == b"1"))
        elif kind == "a":
            incident_id, _, anomaly_id = rest.partition("/")
            anomalies.append((incident_id, anomaly_id))
    for incident_id, fp, firing in members:
        if incident_id in incidents:
            incidents[incident_id].members[fp] = firing
    for incident_id, anomaly_id in anomalies:
        if incident_id in incidents:
            incidents[incident_id].anomalies[anomaly_id] = None
    for incident in incidents.values():
        book.restore(incident)
    book.changes.clear()
    return {"incidents": len(incidents), "members": len(members)}


def encode_deploy(deploy: Deploy) -> bytes:
    """A remembered deploy."""
    return orjson.dumps(asdict(deploy))


def decode_deploy(raw: bytes) -> Deploy:
    """A remembered deploy."""
    data = orjson.loads(raw)
    return Deploy(**{**data, "at": datetime.fromisoformat(data["at"])})


def encode_watch(watch: Watch) -> bytes:
    """A verification in progress."""
    return orjson.dumps(asdict(watch))


def decode_watch(raw: bytes) -> Watch:
    """A verification in progress."""
    data = orjson.loads(raw)
    times = {k: datetime.fromisoformat(data[k]) for k in ("executed_at", "deadline")}
    return Watch(**{**data, **times})


def load_outcomes(outcomes: Outcomes, store: StateStore) -> int:
    """Rebuild the tallies from the stored outcomes; returns how many."""
    count = 0
    for key, value in store.items():
        if key.startswith("o/"):
            data = orjson.loads(value)
            outcomes.add(key[2:], data["signature"], data["action"], success=data["success"])
            count += 1
    return count


def save_outcome(
    store: StateStore, execution_id: str, signature: str, action: str, *, success: bool
) -> None:
    """Keep one verified outcome."""
    value = {"signature": signature, "action": action, "success": success}
    store.put(f"o/{execution_id}", orjson.dumps(value))


def load_ledger(ledger: AutomationLedger, store: StateStore) -> int:
    """Rebuild the automatic actions of the last hour; returns how many."""
    entries = []
    for key, value in store.items():
        if key.startswith("r/"):
            service, _, plan_id = key[2:].rpartition("/")
            entries.append((datetime.fromisoformat(value.decode()), service, plan_id))
    for at, service, plan_id in sorted(entries):
        ledger.add(service, plan_id, at)
    return len(entries)


def ledger_key(service: str, plan_id: str) -> str:
    """Key of one automatic action."""
    return f"r/{service}/{plan_id}"


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
