"""Verification: after a successful action, watch the incident's alerts for a period.

At the end of the period: `resolved` when no member alert fires (or the incident resolved);
`regressed` when it got worse than at the action (more alerts firing, new alerts joined, or the
severity rose); `not_resolved` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from remediation_planner.domain.incidents import SEVERITIES, Incident


@dataclass(frozen=True)
class Watch:
    """An executed action being verified."""

    execution_id: str
    plan_id: str
    incident_id: str
    action: str
    signature: str
    executed_at: datetime
    deadline: datetime
    firing_before: int
    members_before: int
    severity_before: str


def watch_for(
    incident: Incident,
    *,
    execution_id: str,
    plan_id: str,
    action: str,
    signature: str,
    executed_at: datetime,
    deadline: datetime,
) -> Watch:
    """Start watching an incident after an action."""
    return Watch(
        execution_id=execution_id,
        plan_id=plan_id,
        incident_id=incident.incident_id,
        action=action,
        signature=signature,
        executed_at=executed_at,
        deadline=deadline,
        firing_before=incident.firing,
        members_before=len(incident.members),
        severity_before=incident.severity,
    )


def verdict(watch: Watch, incident: Incident | None) -> tuple[str, dict[str, str]]:
    """The outcome and the evidence, at the end of the watch."""
    evidence = {
        "period_seconds": f"{(watch.deadline - watch.executed_at).total_seconds():.0f}",
        "firing_before": str(watch.firing_before),
        "signature": watch.signature,
        "action": watch.action,
    }
    if incident is None:
        return "resolved", {**evidence, "firing_after": "0", "incident": "resolved and forgotten"}
    new_members = len(incident.members) - watch.members_before
    evidence |= {
        "firing_after": str(incident.firing),
        "new_alerts": str(new_members),
        "severity_before": watch.severity_before,
        "severity_after": incident.severity,
        "incident": "resolved" if not incident.open else "open",
    }
    if not incident.open or incident.firing == 0:
        return "resolved", evidence
    worse = SEVERITIES.index(incident.severity) > SEVERITIES.index(watch.severity_before)
    if incident.firing > watch.firing_before or new_members > 0 or worse:
        return "regressed", evidence
    return "not_resolved", evidence
