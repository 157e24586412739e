"""One Slack thread per incident: which updates deserve a reply, and where a root's ts is kept.

A storm of 1,000 alerts must not become 1,000 replies. An update is worth a reply when its
severity rises above every severity seen for the incident, or when its member count enters a new
milestone bucket: 2, 10, 50, 100, then every 100 (200, 300, ...). The bucket is part of the dedup
subject, so each bucket is announced once per incident, by the first update that reaches it.
"""

from __future__ import annotations

FIRST_MILESTONES = (2, 10, 50, 100)
MILESTONE_STEP = 100
TS_PREFIX = "ts="
"""`Delivery.response` of a chat.postMessage success: `ts=<message ts> channel=<channel id>`."""


def member_milestone(members: int) -> int | None:
    """The largest milestone at or below `members`; None below the first one."""
    if members >= MILESTONE_STEP:
        return members - members % MILESTONE_STEP
    reached = [m for m in FIRST_MILESTONES if m <= members]
    return reached[-1] if reached else None


def delivered_response(ts: str, channel: str) -> str:
    """What a chat.postMessage success records in `NotificationSent.response`."""
    return f"{TS_PREFIX}{ts} channel={channel}"


def ts_of(response: str) -> str | None:
    """The message ts recorded in a `NotificationSent.response`, None when it holds none."""
    first = response.split(" ", 1)[0]
    return first.removeprefix(TS_PREFIX) if first.startswith(TS_PREFIX) else None
