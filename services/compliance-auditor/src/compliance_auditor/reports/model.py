"""The change-management report: production changes, violations and KPIs of a period (pure).

Built from audit documents (`_source` dicts of the audit index), so it shows exactly what the
trail holds. A change is a deploy (DeploymentObserved `on-deployed`) or an executed
remediation (RemediationExecuted, not skipped) in a production environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from compliance_auditor.kpis.model import KpiReport, Period

Doc = dict[str, Any]


@dataclass(frozen=True)
class Links:
    """Where to look further: URL templates with {trace_id} and {event_id}."""

    trace: str = ""
    """E.g. 'https://jaeger.example/trace/{trace_id}'; empty: the trace id alone."""
    record: str = "/audit/records/{event_id}"
    """The audit API's record endpoint (prefix with the API's base URL)."""

    def to_trace(self, trace_id: str) -> str:
        """A link to the trace, or the trace id when no template is set."""
        if not trace_id:
            return ""
        return self.trace.format(trace_id=trace_id) if self.trace else trace_id

    def to_record(self, event_id: str) -> str:
        """A link to the audit record."""
        return self.record.format(event_id=event_id)


@dataclass
class Change:
    """One production change, with everything an auditor asks about it."""

    at: datetime
    kind: str
    """deploy | remediation"""
    service: str
    environment: str
    what: str
    who: str
    approval: str
    outcome: str
    event_id: str
    trace_id: str
    related: list[str] = field(default_factory=list)
    """Other records: the plan, its decisions, verification, incidents naming the deploy."""
    violations: list[str] = field(default_factory=list)
    """Rule ids of violations whose evidence includes this change."""


@dataclass
class ViolationRow:
    """A ComplianceViolationFound of the period."""

    at: datetime
    rule_id: str
    severity: str
    service: str
    environment: str
    description: str
    event_id: str
    evidence: list[str]


@dataclass
class ChangeReport:
    """Everything the report shows."""

    period: Period
    generated_at: datetime
    changes: list[Change]
    violations: list[ViolationRow]
    kpis: KpiReport
    links: Links = field(default_factory=Links)


def payload(doc: Doc) -> Doc:
    """The event's own fields inside an audit document."""
    found: Doc = doc.get("commandcenter", {}).get("payload", {})
    return found


def when(doc: Doc) -> datetime:
    """The document's @timestamp."""
    return datetime.fromisoformat(str(doc["@timestamp"]).replace("Z", "+00:00"))


def deploy_change(doc: Doc, failures: dict[str, list[str]], rolled_back: set[str]) -> Change:
    """A deploy as a change; `failures` maps deploy ids to incident ids naming them,
    `rolled_back` holds 'application@revision' keys of executed rollbacks."""
    p = payload(doc)
    event_id = doc["event"]["id"]
    app, revision = p.get("application", ""), p.get("revision", "")
    message = p.get("commit_message") or ""
    what = f"deploy {app}@{revision[:12]}" + (f": {message.splitlines()[0]}" if message else "")
    outcome = f"sync {p.get('sync_status') or '?'}, health {p.get('health_status') or '?'}"
    incidents = failures.get(event_id, [])
    if incidents:
        outcome += "; failed: incident " + ", ".join(incidents)
    if f"{app}@{revision}" in rolled_back:
        outcome += "; rolled back"
    cc = doc.get("commandcenter", {})
    return Change(
        at=when(doc),
        kind="deploy",
        service=cc.get("service", ""),
        environment=cc.get("environment", ""),
        what=what,
        who=p.get("initiator") or "unknown",
        approval="through Git (merge of the commit); not in the trail",
        outcome=outcome,
        event_id=event_id,
        trace_id=doc.get("trace", {}).get("id", ""),
        related=list(incidents),
    )


def remediation_change(doc: Doc, plan_docs: list[Doc]) -> Change:
    """An executed remediation as a change; `plan_docs` are its plan, decisions, verification."""
    p = payload(doc)
    cc = doc.get("commandcenter", {})
    planned = next((d for d in plan_docs if record_of(d) == "RemediationPlanned"), None)
    decisions = [d for d in plan_docs if record_of(d) == "RemediationDecided"]
    verified = next((d for d in plan_docs if record_of(d) == "RemediationVerified"), None)
    target = p.get("target", {})
    what = f"{p.get('action', '')} on {target.get('service') or target.get('application', '?')}"
    approval = "plan not in the trail"
    who = "unknown"
    if planned is not None:
        pp = payload(planned)
        who = f"proposed by {pp.get('proposer', '?')}"
        gate, rule = pp.get("gate", "?"), pp.get("gate_rule", "")
        approval = f"{gate} ({rule})"
        for d in decisions:
            dp = payload(d)
            approval += f"; {dp.get('decision')} by {dp.get('decided_by')} at {when(d).isoformat()}"
        if gate == "needs_approval" and not decisions:
            approval += "; no decision recorded"
    outcome = f"execution {p.get('status', '?')}"
    if verified is not None:
        outcome += f", verified {payload(verified).get('outcome', '?')}"
    return Change(
        at=when(doc),
        kind="remediation",
        service=cc.get("service", ""),
        environment=cc.get("environment", ""),
        what=what,
        who=who,
        approval=approval,
        outcome=outcome,
        event_id=doc["event"]["id"],
        trace_id=doc.get("trace", {}).get("id", ""),
        related=[d["event"]["id"] for d in plan_docs],
    )


def violation_row(doc: Doc) -> ViolationRow:
    """A ComplianceViolationFound document as a row."""
    p = payload(doc)
    evidence = p.get("evidence_event_ids", [])
    return ViolationRow(
        at=when(doc),
        rule_id=p.get("rule_id", ""),
        severity=p.get("severity", ""),
        service=p.get("service", ""),
        environment=p.get("environment", ""),
        description=p.get("description", ""),
        event_id=doc["event"]["id"],
        evidence=list(evidence) if isinstance(evidence, list) else [str(evidence)],
    )


def attach_violations(changes: list[Change], violations: list[ViolationRow]) -> None:
    """Name on each change the rules whose violations cite it (or its related records)."""
    by_record: dict[str, list[str]] = {}
    for v in violations:
        for event_id in v.evidence:
            by_record.setdefault(event_id, []).append(v.rule_id)
    for change in changes:
        rules = {r for e in (change.event_id, *change.related) for r in by_record.get(e, [])}
        change.violations = sorted(rules)


def record_of(doc: Doc) -> str:
    """The event type of an audit document."""
    return str(doc.get("commandcenter", {}).get("record", ""))
