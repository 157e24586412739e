"""Incident ids chosen when incidents open, kept durable before their IncidentOpened goes out.

An incident's id comes from the anomaly that opened it. After a crash between publishing
IncidentOpened and saving the incident, the inputs are replayed, and with anomalies spread over
several partitions another anomaly of the storm may come first: it would open a second incident
under its own id. So the planner writes an opening (place, suspect change, id, time) and waits
for it to be stored before anything of the batch is published; on replay an anomaly that finds
no incident but an opening of its place (or suspect change) within the grouping window reopens
the incident under the id already published, and the replayed IncidentOpened is the same event.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson


@dataclass(frozen=True)
class Opening:
    """The id an incident of a place (and suspect change) opened under."""

    incident_id: str
    topology: str
    suspect: str  # Suspect.key, or "" without a suspect
    at: datetime

    @property
    def keys(self) -> list[str]:
        """Where the opening is found: by place, and by suspect change if it names one."""
        return [f"t/{self.topology}", *([f"s/{self.suspect}"] if self.suspect else [])]


class Openings:
    """Openings by place and suspect change; `new` holds those not written yet."""

    def __init__(self, window: timedelta, known: Container[str]) -> None:
        self.window = window
        self.known = known  # ids of the incidents held (a reserved id of one is not reused)
        self._by_key: dict[str, Opening] = {}
        self.new: list[Opening] = []

    def reserved(self, topology: str, suspect: str, at: datetime) -> str | None:
        """The id an incident opening now must reuse: one opened here, near `at`, not held."""
        for key in [*([f"s/{suspect}"] if suspect else []), f"t/{topology}"]:
            opening = self._by_key.get(key)
            if opening is None or opening.incident_id in self.known:
                continue
            if abs(at - opening.at) > self.window:
                continue
            if key.startswith("t/") and suspect and opening.suspect not in ("", suspect):
                continue  # a new deploy is a new cause: a new incident
            return opening.incident_id
        return None

    def open(self, new_id: str, topology: str, suspect: str, at: datetime) -> str:
        """The id of an incident opening now (reserved, else `new_id`), remembered as new."""
        incident_id = self.reserved(topology, suspect, at) or new_id
        opening = Opening(incident_id, topology, suspect, at)
        self.restore(opening)
        self.new.append(opening)
        return incident_id

    def restore(self, opening: Opening) -> None:
        """Put back an opening read from the state store."""
        for key in opening.keys:
            self._by_key[key] = opening

    def drain(self) -> list[tuple[str, bytes]]:
        """The keys and values of the openings not written yet."""
        written = [(key, encode(o)) for o in self.new for key in o.keys]
        self.new.clear()
        return written

    def drop(self, incident_id: str) -> list[str]:
        """Forget the openings of an incident; returns their keys (to delete)."""
        keys = [k for k, o in self._by_key.items() if o.incident_id == incident_id]
        for key in keys:
            del self._by_key[key]
        return keys


def encode(opening: Opening) -> bytes:
    """An opening as stored."""
    return orjson.dumps(
        {
            "incident_id": opening.incident_id,
            "topology": opening.topology,
            "suspect": opening.suspect,
            "at": opening.at.isoformat(),
        }
    )


def decode(raw: bytes) -> Opening:
    """An opening as stored."""
    data = orjson.loads(raw)
    return Opening(
        incident_id=data["incident_id"],
        topology=data["topology"],
        suspect=data["suspect"],
        at=datetime.fromisoformat(data["at"]),
    )
