"""PagerDuty Events API v2 bodies for an incident (contracts.md §6), pure and within its limits."""

from __future__ import annotations

from typing import Any

SUMMARY_MAX = 1024  # §6.4; Alertmanager truncates at 1,024 runes, as Python's len() counts
DEDUP_KEY_MAX = 255
SEVERITY = {"critical": "critical", "high": "error", "warning": "warning", "info": "info"}
# An unknown severity pages as "error": a missed page costs more than a noisy one.
FALLBACK_SEVERITY = "error"


def clip(text: str, limit: int) -> str:
    """Cut text to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dedup_key(incident_id: str) -> str:
    # Clipping would let two incidents share one alert, so a too-long id is refused instead.
    if not incident_id or len(incident_id) > DEDUP_KEY_MAX:
        raise ValueError(f"incident id must be 1..{DEDUP_KEY_MAX} chars to serve as dedup_key")
    return incident_id


def trigger_event(
    routing_key: str,
    *,
    incident_id: str,
    summary: str,
    source: str,
    severity: str,
    component: str | None = None,
    group: str | None = None,
    event_class: str | None = None,
    timestamp: str | None = None,
    suspect_deploy: object = None,
    plan: object = None,
    evidence: object = None,
    approval_url: str | None = None,
    trace_url: str | None = None,
    audit_url: str | None = None,
) -> dict[str, Any]:
    """A trigger whose dedup_key is the incident id, so retries and repeats hit one alert."""
    payload: dict[str, Any] = {
        "summary": clip(summary, SUMMARY_MAX),
        "source": source,
        "severity": SEVERITY.get(severity, FALLBACK_SEVERITY),
    }
    optional = {"component": component, "group": group, "class": event_class}
    payload |= {k: v for k, v in (optional | {"timestamp": timestamp}).items() if v}
    details = {"suspect_deploy": suspect_deploy, "plan": plan, "evidence": evidence}
    payload["custom_details"] = {"incident_id": incident_id} | {
        k: v for k, v in details.items() if v is not None
    }
    named = (("Approve or reject the plan", approval_url), ("Trace", trace_url))
    links = [{"href": href, "text": text} for text, href in (*named, ("Audit", audit_url)) if href]
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": _dedup_key(incident_id),
        "payload": payload,
        "client": "Command Center",
    }
    if links:
        event["links"] = links
    return event


def acknowledge_event(routing_key: str, incident_id: str) -> dict[str, Any]:
    """Acknowledge the open alert of this incident (PagerDuty drops it if none is open)."""
    return _follow_up(routing_key, incident_id, "acknowledge")


def resolve_event(routing_key: str, incident_id: str) -> dict[str, Any]:
    """Resolve the open alert of this incident; a later trigger opens a new alert."""
    return _follow_up(routing_key, incident_id, "resolve")


def _follow_up(routing_key: str, incident_id: str, action: str) -> dict[str, Any]:
    # §6.1: acknowledge and resolve need only these three fields.
    key = _dedup_key(incident_id)
    return {"routing_key": routing_key, "event_action": action, "dedup_key": key}
