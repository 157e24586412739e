"""Planning: rank an incident's candidates by what was learned, gate the best one by policy.

Candidates are ranked by posterior success rate for this incident signature (highest first; the
runbook's order breaks ties). The plan is the best candidate the policy does not forbid (a
forbidden one is proposed only when nothing else is left, so people see it; it is never run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from remediation_planner.domain.incidents import Incident
from remediation_planner.domain.learning import Outcomes, explain, posterior_mean
from remediation_planner.domain.policy import AutomationLedger, Decision, Policy, decide
from remediation_planner.domain.runbooks import Candidate, Runbook, Situation, candidates


@dataclass(frozen=True)
class Draft:
    """A plan before it becomes a RemediationPlanned event."""

    candidate: Candidate
    decision: Decision
    rationale: str
    expires_at: datetime | None
    signature: str


def learning_signature(incident: Incident) -> str:
    """Which incidents count as similar: same place, and whether a deploy is suspected."""
    change = "suspect-deploy" if incident.suspect is not None else "no-suspect"
    return f"{incident.topology}|{change}"


def situation_of(incident: Incident) -> Situation:
    """What runbooks see of an incident."""
    suspect = incident.suspect
    return Situation(
        incident_id=incident.incident_id,
        kinds=frozenset(incident.kinds),
        environment=incident.environment,
        labels=incident.labels,
        signature=incident.signature,
        suspect_application=None if suspect is None else suspect.application,
        suspect_revision=None if suspect is None else suspect.revision,
        members=len(incident.members),
    )


def rank(found: list[Candidate], outcomes: Outcomes, signature: str) -> list[Candidate]:
    """Best first: posterior success rate, then runbook order."""
    return sorted(
        found,
        key=lambda c: (-posterior_mean(outcomes.tally(signature, c.action), c.prior), c.order),
    )


def draft_plan(
    incident: Incident,
    *,
    runbooks: tuple[Runbook, ...],
    policy: Policy,
    outcomes: Outcomes,
    ledger: AutomationLedger,
    at: datetime,
    exclude: frozenset[str] = frozenset(),
) -> Draft | None:
    """The plan for an incident now, or None when no runbook offers an untried action."""
    signature = learning_signature(incident)
    ranked = [
        c
        for c in rank(candidates(runbooks, situation_of(incident)), outcomes, signature)
        if c.action not in exclude
    ]
    if not ranked:
        return None
    service = incident.topology
    decisions = [
        decide(
            policy,
            environment=incident.environment,
            action=c.action,
            blast_radius=c.blast_radius,
            at=at,
            automatic_last_hour=ledger.count(service, at),
            service=service,
        )
        for c in ranked
    ]
    chosen = next((i for i, d in enumerate(decisions) if d.gate != "forbidden"), 0)
    best, decision = ranked[chosen], decisions[chosen]
    lines = [
        f"Runbook '{best.runbook}' proposes {best.action}.",
        explain(best.action, outcomes.tally(signature, best.action), best.prior) + ".",
    ]
    if incident.suspect is not None:
        s = incident.suspect
        lines.append(
            f"Suspect change: {s.application} at {s.revision}, deployed "
            f"{s.seconds_before:.0f}s before the incident (score {s.score:.2f})."
        )
    if best.action == "argocd_rollback":
        lines.append(_auto_sync_note(best.parameters.get("restore_auto_sync", "false")))
    skipped = [
        f"{c.action} ({d.rule})" for c, d in zip(ranked[:chosen], decisions[:chosen], strict=True)
    ]
    if skipped:
        lines.append("Forbidden by policy, not proposed: " + ", ".join(skipped) + ".")
    others = [
        explain(c.action, outcomes.tally(signature, c.action), c.prior)
        for c in ranked
        if c is not best
    ]
    if others:
        lines.append("Alternatives: " + "; ".join(others) + ".")
    lines.append(f"Gate: {decision.gate} by {decision.reason}.")
    expires = at + policy.approval_ttl if decision.gate == "needs_approval" else None
    return Draft(best, decision, " ".join(lines), expires, signature)


def _auto_sync_note(restore: str) -> str:
    if restore == "true":
        return (
            "Auto-sync is recorded and switched off for the rollback (Argo CD refuses a rollback "
            "while it is on), then restored to the recorded policy once the application is "
            "healthy."
        )
    return (
        "Auto-sync is recorded and switched off for the rollback (Argo CD refuses a rollback "
        "while it is on) and left off, so it cannot re-apply the bad commit: turn it back on "
        "once Git is reverted."
    )
