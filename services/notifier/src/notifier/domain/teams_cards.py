"""What a person sees in Teams: an Adaptive Card for an incident, clipped under the 28 KB limit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_PAYLOAD_BYTES = 28 * 1024
# Headroom under the limit for what Teams adds around the card (observed 413s below 28 KB).
CARD_BUDGET_BYTES = 24 * 1024
MAX_LINKS = 6
MAX_URL_CHARS = 2000
_FIRST_FIELD_LIMIT, _LAST_FIELD_LIMIT = 4000, 64
SEVERITY_COLOR = {"critical": "attention", "high": "warning", "warning": "warning"}


def clip(text: str, limit: int) -> str:
    """Cut text to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def encode_message(message: Mapping[str, Any]) -> bytes:
    """The exact bytes sent: compact UTF-8 JSON, so the size check measures what Teams sees."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def incident_card(
    *,
    incident_id: str,
    title: str,
    severity: str,
    where: Mapping[str, str],
    since: str | None = None,
    suspect_deploy: str | None = None,
    plan: str | None = None,
    gate: str | None = None,
    links: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Teams message announcing an incident: what, where, since when, suspect, plan, links."""
    place = ", ".join(f"{k}={v}" for k, v in where.items() if v) or "unknown scope"
    facts = {"Incident": incident_id, "Severity": severity, "Scope": place, "Since": since}
    facts |= {"Suspect deploy": suspect_deploy, "Plan": plan, "Gate": gate}
    usable = [(t, u) for t, u in (links or {}).items() if u and len(u) <= MAX_URL_CHARS]
    limit = _FIRST_FIELD_LIMIT
    while True:  # halve every text field until the whole message fits the budget
        message = _message(title, severity, facts, usable[:MAX_LINKS], limit)
        if limit <= _LAST_FIELD_LIMIT or len(encode_message(message)) <= CARD_BUDGET_BYTES:
            return message
        limit //= 2


def _message(
    title: str,
    severity: str,
    facts: dict[str, str | None],
    links: list[tuple[str, str]],
    limit: int,
) -> dict[str, Any]:
    heading = {"type": "TextBlock", "text": clip(title, limit), "weight": "Bolder", "wrap": True}
    heading |= {"size": "Medium", "color": SEVERITY_COLOR.get(severity, "default")}
    fact_set = [{"title": k, "value": clip(v, limit)} for k, v in facts.items() if v]
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [heading, {"type": "FactSet", "facts": fact_set}],
    }
    if links:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": clip(text, 64), "url": url} for text, url in links
        ]
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return {"type": "message", "attachments": [attachment]}


def note_card(text: str, *, title: str | None = None) -> dict[str, Any]:
    """A short Teams message (a resolution, an update, a violation): optional heading, text."""
    body: list[dict[str, Any]] = []
    if title:
        body.append({"type": "TextBlock", "text": clip(title, 256), "weight": "Bolder"})
    body.append({"type": "TextBlock", "text": clip(text, _FIRST_FIELD_LIMIT), "wrap": True})
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": body,
    }
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return {"type": "message", "attachments": [attachment]}
