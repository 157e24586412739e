"""Contract events as routing facts and chat payloads (pure translation, no I/O)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from cc.events import (
    ComplianceViolationFound,
    Event,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    RemediationPlanned,
)
from notifier.domain.messages import SECTION_TEXT_MAX, clip, incident_opened_message
from notifier.domain.routing import Facts

TOPICS = {
    "incident_opened": "incidents.incident-opened.v1",
    "incident_updated": "incidents.incident-updated.v1",
    "incident_resolved": "incidents.incident-resolved.v1",
    "remediation_planned": "remediation.remediation-planned.v1",
    "violation": "compliance.compliance-violation-found.v1",
}


# Highest last: an update "rises" when its severity ranks above every one seen for the incident.
SEVERITY_RANK = {
    s: n for n, s in enumerate(("info", "low", "medium", "warning", "high", "critical"))
}


def rank(severity: str) -> int:
    """Order of a severity; -1 when unknown (so any known severity ranks above it)."""
    return SEVERITY_RANK.get(severity, -1)


@dataclass(frozen=True)
class Notice:
    """One event to tell people about: its facts, a stable subject for dedup keys, the text."""

    facts: Facts
    subject: str
    incident_id: str | None
    payload: dict[str, Any]
    """The Slack payload; other destination types compose their own from `event`."""
    event: Event
    text: str
    """One line for any chat (Slack mrkdwn backticks included)."""
    previous_severity: str = ""
    """Of an IncidentUpdated: the highest severity of the incident seen before it ('' unknown)."""


def notice_for(event: Event, incidents: dict[str, Facts]) -> Notice | None:
    """The notice for a routable event (None otherwise); `incidents` remembers opened incidents.

    Updates, resolutions and plans carry no topology, so they are routed with the facts of the
    IncidentOpened this process saw (severity only, when it did not see it). The remembered
    severity is the highest seen, so a resolution reaches whoever the worst moment reached.
    """
    if isinstance(event, IncidentOpened):
        sig = event.signature
        facts = Facts("incident_opened", event.severity, sig.environment, sig.namespace)
        incidents[event.incident_id] = facts
        payload = incident_opened_message(
            incident_id=event.incident_id,
            title=event.title,
            severity=event.severity,
            where={"service": sig.service, "namespace": sig.namespace, "cluster": sig.cluster},
            plan_hint=None,
        )
        subject = f"{event.incident_id}:opened"
        return Notice(facts, subject, event.incident_id, payload, event, payload["text"])
    if isinstance(event, IncidentUpdated):
        facts = _about(incidents, event.incident_id, "incident_updated", event.severity)
        previous = incidents.get(event.incident_id, Facts("", "")).severity
        if rank(event.severity) > rank(previous):
            incidents[event.incident_id] = dataclasses.replace(
                incidents.get(event.incident_id, facts), severity=event.severity
            )
        text = f"Incident `{event.incident_id}` updated ({event.severity}): {event.change}"
        # one message per update: incoming webhooks cannot reply in the incident's thread
        subject = f"{event.incident_id}:updated:{event.metadata.event_id}"
        return Notice(facts, subject, event.incident_id, _text(text), event, text, previous)
    if isinstance(event, IncidentResolved):
        facts = _about(incidents, event.incident_id, "incident_resolved", None)
        text = f"Incident `{event.incident_id}` resolved: {event.resolution}"
        subject = f"{event.incident_id}:resolved"
        return Notice(facts, subject, event.incident_id, _text(text), event, text)
    if isinstance(event, RemediationPlanned):
        facts = _about(incidents, event.incident_id, "remediation_planned", None)
        text = (
            f"Incident `{event.incident_id}`: proposed {event.action} ({event.gate}): "
            f"{event.rationale}"
        )
        subject = f"{event.incident_id}:planned:{event.plan_id}"
        return Notice(facts, subject, event.incident_id, _text(text), event, text)
    if isinstance(event, ComplianceViolationFound):
        facts = Facts("violation", event.severity, event.environment)
        text = f"Compliance rule `{event.rule_id}` broken ({event.severity}): {event.description}"
        subject = f"{event.violation_id}:violation"
        return Notice(facts, subject, None, _text(text), event, text)
    return None


def _about(incidents: dict[str, Facts], incident_id: str, kind: str, severity: str | None) -> Facts:
    known = incidents.get(incident_id, Facts(kind, ""))
    return Facts(kind, severity or known.severity, known.environment, known.namespace, known.team)


def _text(text: str) -> dict[str, Any]:
    body = clip(text, SECTION_TEXT_MAX)
    return {"text": body, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]}
