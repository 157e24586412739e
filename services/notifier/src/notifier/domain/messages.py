"""What a person sees: Slack text and Block Kit blocks for an incident, within Slack's limits."""

from __future__ import annotations

from typing import Any

SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "warning": ":warning:",
}


def clip(text: str, limit: int) -> str:
    """Cut text to a Block Kit limit, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def incident_opened_message(
    *, incident_id: str, title: str, severity: str, where: dict[str, str], plan_hint: str | None
) -> dict[str, Any]:
    """The Slack payload announcing a new incident."""
    emoji = SEVERITY_EMOJI.get(severity, ":information_source:")
    place = ", ".join(f"{k}={v}" for k, v in where.items() if v) or "unknown scope"
    text = f"{emoji} [{severity.upper()}] {title} ({place})"
    details = f"*Incident* `{incident_id}`\n*Severity* {severity}\n*Scope* {place}"
    if plan_hint:
        details += f"\n*Proposed* {plan_hint}"
    return {
        "text": clip(text, SECTION_TEXT_MAX),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": clip(title, HEADER_TEXT_MAX)},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": clip(details, SECTION_TEXT_MAX)},
            },
        ],
    }
