"""What each destination type is sent for a notice (pure: no I/O, secrets passed in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from cc.events import (
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    RemediationPlanned,
    SuspectDeployment,
)
from notifier.domain import pagerduty_events, teams_cards
from notifier.domain.messages import SECTION_TEXT_MAX, clip
from notifier.domain.slack_threads import member_milestone
from notifier.notices import Notice, rank

SOURCE = "command-center"


@dataclass(frozen=True)
class Message:
    """One request to a destination; `subject` ends its dedup key (one send per subject)."""

    subject: str
    payload: dict[str, Any]
    thread: str | None = None
    """Subject of the root message this one replies to (its thread); None: not a reply."""


class Composer(Protocol):
    """Turns a notice into the message a destination type understands, or None (nothing to say)."""

    def compose(self, notice: Notice) -> Message | None: ...


class SlackComposer:
    """Block Kit for an opening, one line for anything else."""

    def compose(self, notice: Notice) -> Message | None:
        """The notice's own Slack payload."""
        return Message(notice.subject, notice.payload)


class SlackThreadComposer:
    """chat.postMessage, one thread per incident: the opening is the root (today's Block Kit),
    worthwhile updates, plans and the resolution are replies (`domain/slack_threads.py`)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def compose(self, notice: Notice) -> Message | None:
        """The root for an opening or a violation, a reply or None for the rest."""
        event = notice.event
        root = f"{notice.incident_id}:opened"
        if isinstance(event, IncidentUpdated):
            members = len(event.member_fingerprints)
            if rank(event.severity) > rank(notice.previous_severity):
                text = f"Severity now *{event.severity}* ({members} alerts): {event.change}"
                subject = f"{event.incident_id}:severity:{event.severity}"
            elif (milestone := member_milestone(members)) is not None:
                text = f"{members} alerts grouped ({event.severity}): {event.change}"
                subject = f"{event.incident_id}:members:{milestone}"
            else:
                return None  # nothing a reader of the thread needs
            return Message(subject, self._reply(text), thread=root)
        if isinstance(event, IncidentResolved):
            text = f":white_check_mark: Resolved: {event.resolution}"
            return Message(notice.subject, self._reply(text), thread=root)
        if isinstance(event, RemediationPlanned):
            return Message(notice.subject, self._reply(notice.text), thread=root)
        return Message(notice.subject, {**notice.payload, "channel": self.channel})

    def _reply(self, text: str) -> dict[str, Any]:
        body = clip(text, SECTION_TEXT_MAX)
        block = {"type": "section", "text": {"type": "mrkdwn", "text": body}}
        return {"channel": self.channel, "text": body, "blocks": [block]}


class TeamsComposer:
    """An Adaptive Card for an opening, a short card for anything else."""

    def compose(self, notice: Notice) -> Message | None:
        """The card for this notice."""
        event = notice.event
        if isinstance(event, IncidentOpened):
            sig = event.signature
            suspect = event.suspect
            card = teams_cards.incident_card(
                incident_id=event.incident_id,
                title=event.title,
                severity=event.severity,
                where={"service": sig.service, "namespace": sig.namespace, "cluster": sig.cluster},
                since=event.metadata.occurred_at.isoformat(),
                suspect_deploy=None
                if suspect is None
                else f"{suspect.application}@{suspect.revision}",
            )
            return Message(notice.subject, card)
        title = "Resolved" if isinstance(event, IncidentResolved) else None
        return Message(notice.subject, teams_cards.note_card(notice.text, title=title))


class PagerDutyComposer:
    """One PagerDuty alert per incident (dedup_key = incident id): trigger, re-trigger on a
    severity rise, resolve. Plans and violations are not pages: nothing is sent for them."""

    def __init__(
        self,
        routing_key: str,
        *,
        trace_url_template: str | None = None,
        audit_url_template: str | None = None,
    ) -> None:
        self._routing_key = routing_key
        self.trace_url_template = trace_url_template
        self.audit_url_template = audit_url_template

    def compose(self, notice: Notice) -> Message | None:
        """trigger for an opening or a rise, resolve for a resolution, None otherwise."""
        event = notice.event
        if isinstance(event, IncidentOpened):
            sig = event.signature
            return Message(
                notice.subject,
                self._trigger(
                    event.incident_id,
                    summary=event.title,
                    severity=event.severity,
                    component=sig.service or None,
                    group=sig.namespace or None,
                    event_class=sig.alertname or None,
                    timestamp=event.metadata.occurred_at.isoformat(),
                    suspect=event.suspect,
                    anomaly_ids=event.anomaly_ids,
                ),
            )
        if isinstance(event, IncidentUpdated):
            if rank(event.severity) <= rank(notice.previous_severity):
                return None  # same or lower: the open alert already says as much
            # the same dedup_key: PagerDuty appends this trigger to the incident's open alert
            subject = f"{event.incident_id}:escalated:{event.severity}"
            return Message(
                subject,
                self._trigger(
                    event.incident_id,
                    summary=f"Incident {event.incident_id} is now {event.severity}: {event.change}",
                    severity=event.severity,
                    timestamp=event.metadata.occurred_at.isoformat(),
                    suspect=event.suspect,
                    anomaly_ids=event.anomaly_ids,
                ),
            )
        if isinstance(event, IncidentResolved):
            payload = pagerduty_events.resolve_event(self._routing_key, event.incident_id)
            return Message(notice.subject, payload)
        return None

    def _trigger(
        self,
        incident_id: str,
        *,
        suspect: SuspectDeployment | None,
        anomaly_ids: list[str],
        **fields: Any,
    ) -> dict[str, Any]:
        deploy = None
        if suspect is not None:
            deploy = {
                "application": suspect.application,
                "revision": suspect.revision,
                "deployment_event_id": suspect.deployment_event_id,
                "score": suspect.score,
            }
        return pagerduty_events.trigger_event(
            self._routing_key,
            incident_id=incident_id,
            source=SOURCE,
            suspect_deploy=deploy,
            evidence={"anomaly_ids": list(anomaly_ids)},
            trace_url=_url(self.trace_url_template, incident_id),
            audit_url=_url(self.audit_url_template, incident_id),
            **fields,
        )


def _url(template: str | None, incident_id: str) -> str | None:
    return template.replace("{incident_id}", incident_id) if template else None
