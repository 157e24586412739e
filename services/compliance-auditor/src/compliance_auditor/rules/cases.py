"""What the rules remember per case (plan, incident, failed sync) and how each case is judged.

Pure: a case is a JSON-able dict; judging takes the case, the rules and a clock and returns the
violations. Events from different topics arrive in any order, so a case is judged whenever any
of its events arrives, and an absence (no approval, no acknowledgement, no fix) only once the
clock is `settle` past the moment it would have had to happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cc.events import deterministic_id
from compliance_auditor.rules.model import (
    FAILED_SYNC_UNRESOLVED,
    FOUR_EYES,
    INCIDENT_NOT_ACKNOWLEDGED,
    INCIDENT_NOT_RESOLVED,
    REMEDIATION_WITHOUT_APPROVAL,
    RulesConfig,
    RuleSettings,
)

Case = dict[str, Any]


@dataclass(frozen=True)
class Violation:
    """One broken rule, with the ids of the events that show it."""

    violation_id: str
    rule_id: str
    severity: str
    description: str
    service: str
    environment: str
    evidence: tuple[str, ...]
    at: datetime
    """When the violation became a fact (event time or deadline: the same on every replay)."""
    incident_id: str | None = None


def violation(
    rule_id: str,
    settings: RuleSettings,
    key: tuple[str, ...],
    case: Case,
    description: str,
    evidence: list[str],
    at: datetime,
) -> Violation:
    """A violation whose id depends only on the rule and the case, so replays repeat it."""
    return Violation(
        violation_id=deterministic_id("compliance-violation", rule_id, *key),
        rule_id=rule_id,
        severity=settings.severity,
        description=description,
        service=case.get("service", ""),
        environment=case.get("environment", ""),
        evidence=tuple(e for e in evidence if e),
        at=at,
        incident_id=case.get("incident_id") or None,
    )


def ts(value: str | None) -> datetime | None:
    """A stored ISO time back as a datetime."""
    return None if value is None else datetime.fromisoformat(value)


def applies(config: RulesConfig, rule_id: str, case: Case, *, timed: bool = False) -> bool:
    """The rule is on, has a deadline if it needs one, and covers the case's environment."""
    settings = config.rule(rule_id)
    if not settings.enabled or (timed and settings.within <= timedelta(0)):
        return False
    return not settings.production_only or config.is_production(case.get("environment", ""))


def judge_plan(config: RulesConfig, plan_id: str, case: Case, clock: datetime) -> list[Violation]:
    """Four eyes on approvals; executed plans that needed an approval they did not get."""
    if "gate" not in case:
        return []  # the plan itself has not arrived yet
    found: list[Violation] = []
    proposer = case["proposer"]
    human = proposer.lower() not in config.automation_names
    if human and applies(config, FOUR_EYES, case):
        for decided_by, at, event_id in case.get("approvals", []):
            if decided_by.lower() == proposer.lower():
                found.append(
                    violation(
                        FOUR_EYES,
                        config.rule(FOUR_EYES),
                        (plan_id, decided_by),
                        case,
                        f"plan {plan_id} ({case['action']}) was proposed and approved by "
                        f"the same person, {decided_by}",
                        [case["planned_id"], event_id],
                        ts(at) or clock,
                    )
                )
    if case["gate"] in ("needs_approval", "forbidden") and applies(
        config, REMEDIATION_WITHOUT_APPROVAL, case
    ):
        found += _unapproved_executions(config, plan_id, case, clock)
    return found


def _unapproved_executions(
    config: RulesConfig, plan_id: str, case: Case, clock: datetime
) -> list[Violation]:
    found = []
    approvals = [ts(at) for _, at, _ in case.get("approvals", [])]
    for status, at, event_id in case.get("executions", []):
        executed = ts(at)
        if status == "skipped" or executed is None:
            continue
        if case["gate"] == "needs_approval":
            if any(a is not None and a <= executed for a in approvals):
                continue
            if clock < executed + config.settle:
                continue  # the approval may still be on its way from another topic
            what = "without the approval its policy rule requires"
        else:
            what = "although its policy rule forbids it"
        found.append(
            violation(
                REMEDIATION_WITHOUT_APPROVAL,
                config.rule(REMEDIATION_WITHOUT_APPROVAL),
                (plan_id, event_id),
                case,
                f"{case['action']} on {case.get('service') or '?'} ({case.get('environment')}) "
                f"was executed ({status}) {what} ({case.get('gate_rule', '')})",
                [case["planned_id"], event_id],
                executed,
            )
        )
    return found


def judge_incident(
    config: RulesConfig, incident_id: str, case: Case, clock: datetime
) -> list[Violation]:
    """Critical incidents acknowledged and resolved within their targets."""
    opened = ts(case.get("opened_at"))
    if opened is None:
        return []
    found = []
    resolved = ts(case.get("resolved_at"))
    acked = ts(case.get("ack_at"))
    checks = (
        (INCIDENT_NOT_ACKNOWLEDGED, acked, "acknowledged", case.get("ack_id")),
        (INCIDENT_NOT_RESOLVED, resolved, "resolved", case.get("resolved_id")),
    )
    for rule_id, stop, verb, stop_id in checks:
        settings = config.rule(rule_id)
        if not applies(config, rule_id, case, timed=True):
            continue
        if not set(case.get("severities", [])) & settings.incident_severities:
            continue
        deadline = opened + settings.within
        if resolved is not None and resolved <= deadline:
            continue  # resolved in time: nobody needed to acknowledge it after that
        if stop is not None and stop <= deadline:
            continue
        if stop is None and clock < deadline + config.settle:
            continue  # an absence: judged only once the clock is safely past the deadline
        late = "not" if stop is None else f"only {stop - opened} after opening,"
        found.append(
            violation(
                rule_id,
                settings,
                (incident_id,),
                case,
                f"incident {incident_id} ({case.get('title', '')}) was {late} {verb} "
                f"within its target of {settings.within}",
                [case.get("opened_id", ""), stop_id or case.get("resolved_id", "")],
                deadline,
            )
        )
    return found


def judge_sync(
    config: RulesConfig, application: str, case: Case, clock: datetime
) -> list[Violation]:
    """A failed sync or degraded app must be rolled back or fixed within the limit."""
    failed = ts(case.get("failed_at"))
    if failed is None or not applies(config, FAILED_SYNC_UNRESOLVED, case, timed=True):
        return []
    settings = config.rule(FAILED_SYNC_UNRESOLVED)
    deadline = failed + settings.within
    fixed = ts(case.get("fixed_at"))
    if fixed is None and clock < deadline + config.settle:
        return []
    if fixed is not None and fixed <= deadline:
        return []
    state = "still not" if fixed is None else f"only {fixed - failed} later"
    return [
        violation(
            FAILED_SYNC_UNRESOLVED,
            settings,
            (application, case["failed_id"]),
            case,
            f"{application} failed ({case.get('failure', '')}) at revision "
            f"{case.get('revision', '')} and was {state} rolled back or fixed "
            f"within {settings.within}",
            [case["failed_id"], case.get("fixed_id", "")],
            deadline,
        )
    ]
