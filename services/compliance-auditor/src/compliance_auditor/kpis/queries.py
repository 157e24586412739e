"""Elasticsearch query and aggregation bodies for the KPIs (pure: dicts in, dicts out).

Field names are those of the audit index template: `commandcenter.record` (event type),
`commandcenter.service` / `.environment` (what the event concerns), `commandcenter.payload.*`
(the event's own fields, a `flattened` field: keyword semantics, usable in terms/composite).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from compliance_auditor.kpis.model import Scope

Query = dict[str, Any]
P = "commandcenter.payload."
AUTOMATION = ["remediation-planner", "policy", "automated"]
GROUP_SOURCES = [
    {"service": {"terms": {"field": "commandcenter.service", "missing_bucket": True}}},
    {"environment": {"terms": {"field": "commandcenter.environment", "missing_bucket": True}}},
]


def record(*names: str) -> Query:
    """Documents of these event types."""
    return {"terms": {"commandcenter.record": list(names)}}


def field_is(name: str, *values: str) -> Query:
    """A payload field with one of these values."""
    return {"terms": {P + name: list(values)}}


def both(*queries: Query, but_not: list[Query] | None = None) -> Query:
    """All of the queries (and none of `but_not`)."""
    body: dict[str, Any] = {"filter": list(queries)}
    if but_not:
        body["must_not"] = but_not
    return {"bool": body}


DEPLOY = both(record("DeploymentObserved"), field_is("trigger", "on-deployed"))
EXECUTED = both(record("RemediationExecuted"), but_not=[field_is("status", "skipped")])
HUMAN_ACK = {
    "bool": {
        "should": [
            both(
                record("RemediationDecided"),
                field_is("decision", "approved", "rejected"),
                but_not=[{"terms": {"user.name": AUTOMATION}}],
            ),
            both(record("RemediationPlanned"), but_not=[field_is("proposer", *AUTOMATION)]),
        ],
        "minimum_should_match": 1,
    }
}
PAGE = both(
    record("NotificationSent"), field_is("channel", "pagerduty"), field_is("status", "delivered")
)


def in_time(start: datetime, end: datetime) -> Query:
    """@timestamp in [start, end)."""
    return {"range": {"@timestamp": {"gte": start.isoformat(), "lt": end.isoformat()}}}


def scoped(scope: Scope) -> list[Query]:
    """The period and the service/environment asked for."""
    found = [in_time(scope.period.start, scope.period.end)]
    if scope.service:
        found.append({"term": {"commandcenter.service": scope.service}})
    if scope.environment:
        found.append({"term": {"commandcenter.environment": scope.environment}})
    return found


def _lead_time() -> dict[str, Any]:
    field = "commandcenter.lead_time_seconds"
    return {
        "lead_avg": {"avg": {"field": field}},
        "lead_n": {"value_count": {"field": field}},
        "lead_pct": {"percentiles": {"field": field, "percents": [50, 90]}},
    }


def group_counts(scope: Scope) -> tuple[Query, list[dict[str, Any]], dict[str, Any], Query]:
    """Per (service, environment): deploys with lead time, executions, violations, alerts,
    incidents. Returns (query, composite sources, sub-aggregations, whole-scope aggregations)."""
    query = both(*scoped(scope))
    sub = {
        "deploys": {"filter": DEPLOY, "aggs": _lead_time()},
        "executions": {"filter": EXECUTED},
        "violations": {"filter": record("ComplianceViolationFound")},
        "alerts": {"filter": both(record("AlertReceived"), field_is("status", "firing"))},
        "incidents": {"filter": record("IncidentOpened")},
    }
    whole = {
        "deploys": {
            "filter": DEPLOY,
            "aggs": {
                **_lead_time(),
                "by_day": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day"}},
            },
        }
    }
    return query, GROUP_SOURCES, sub, whole


def failure_evidence(scope: Scope) -> tuple[Query, list[dict[str, Any]], dict[str, Any]]:
    """Per plan or suspect deploy: incidents naming a deploy and rollbacks that were executed."""
    window = in_time(scope.period.start, scope.period.end + scope.lookahead)
    naming = both(
        record("IncidentOpened", "IncidentUpdated"),
        {"exists": {"field": P + "suspect.deployment_event_id"}},
    )
    rollback = both(
        record("RemediationPlanned", "RemediationExecuted"), field_is("action", "argocd_rollback")
    )
    query = both(window, {"bool": {"should": [naming, rollback], "minimum_should_match": 1}})
    sources = [
        {"deploy": {"terms": {"field": P + "suspect.deployment_event_id", "missing_bucket": True}}},
        {"plan": {"terms": {"field": P + "plan_id", "missing_bucket": True}}},
    ]
    sub = {
        "executed": {"filter": EXECUTED},
        "application": {"terms": {"field": P + "target.application", "size": 1}},
        "revision": {"terms": {"field": P + "parameters.suspect_revision", "size": 1}},
    }
    return query, sources, sub


def failed_deploys(scope: Scope, deploy_ids: list[str], rollbacks: list[tuple[str, str]]) -> Query:
    """Deploys in scope that an incident named or that were rolled back (application, revision)."""
    named: list[Query] = [{"terms": {"event.id": deploy_ids}}] if deploy_ids else []
    named += [
        both(field_is("application", app), field_is("revision", revision))
        for app, revision in rollbacks
    ]
    return both(*scoped(scope), DEPLOY, {"bool": {"should": named, "minimum_should_match": 1}})


def incidents(scope: Scope) -> tuple[Query, list[dict[str, Any]], dict[str, Any]]:
    """Per incident: opened (with its service, environment and suspect), acknowledged,
    resolved, pages. Not scoped by service: decisions and pages do not name one."""
    window = in_time(scope.period.start, scope.period.end + scope.lookahead)
    kinds = record(
        "IncidentOpened",
        "IncidentResolved",
        "RemediationDecided",
        "RemediationPlanned",
        "NotificationSent",
    )
    query = both(window, kinds, {"exists": {"field": "commandcenter.incident_id"}})
    sources = [{"incident": {"terms": {"field": "commandcenter.incident_id"}}}]
    first = {"at": {"min": {"field": "@timestamp"}}}
    sub = {
        "opened": {
            "filter": record("IncidentOpened"),
            "aggs": {
                **first,
                "service": {"terms": {"field": "commandcenter.service", "size": 1}},
                "environment": {"terms": {"field": "commandcenter.environment", "size": 1}},
                "suspect": {"terms": {"field": P + "suspect.deployment_event_id", "size": 1}},
            },
        },
        "acknowledged": {"filter": HUMAN_ACK, "aggs": first},
        "resolved": {"filter": record("IncidentResolved"), "aggs": first},
        "pages": {"filter": PAGE},
    }
    return query, sources, sub


def plans(scope: Scope) -> tuple[Query, list[dict[str, Any]], dict[str, Any]]:
    """Per plan: when and how it was gated (with its service, environment), execution status,
    verification outcome."""
    window = in_time(scope.period.start, scope.period.end + scope.lookahead)
    query = both(window, record("RemediationPlanned", "RemediationExecuted", "RemediationVerified"))
    sources = [{"plan": {"terms": {"field": P + "plan_id"}}}]
    sub = {
        "planned": {
            "filter": record("RemediationPlanned"),
            "aggs": {
                "at": {"min": {"field": "@timestamp"}},
                "gate": {"terms": {"field": P + "gate", "size": 1}},
                "service": {"terms": {"field": "commandcenter.service", "size": 1}},
                "environment": {"terms": {"field": "commandcenter.environment", "size": 1}},
            },
        },
        "executed": {
            "filter": record("RemediationExecuted"),
            "aggs": {"status": {"terms": {"field": P + "status", "size": 3}}},
        },
        "verified": {
            "filter": record("RemediationVerified"),
            "aggs": {"outcome": {"terms": {"field": P + "outcome", "size": 3}}},
        },
    }
    return query, sources, sub
