"""Gather a period's change-management evidence from the audit alias.

Every production change is listed, so the changes (and the records around them) are read as
documents, page by page with `search_after` on (@timestamp, event.id): a report must not stop at
an aggregation's bucket limit. The KPIs come from `KpiReader` (aggregations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from compliance_auditor.kpis import queries as q
from compliance_auditor.kpis.model import Period, Scope
from compliance_auditor.kpis.reader import KpiReader
from compliance_auditor.reports.model import (
    ChangeReport,
    Doc,
    Links,
    attach_violations,
    deploy_change,
    payload,
    record_of,
    remediation_change,
    violation_row,
)

Progress = Callable[[str, int, int], None]
"""(stage, done, total)"""
PAGE = 2000
CHUNK = 1000  # ids per terms query
# only what the report shows: the whole documents (a deploy carries Argo CD's full body) made
# JSON decoding most of a large report's time
COMMON = [
    "@timestamp",
    "event.id",
    "trace.id",
    "commandcenter.record",
    "commandcenter.service",
    "commandcenter.environment",
]
CHANGE_FIELDS = COMMON + [
    f"{q.P}{name}"
    for name in (
        "application",
        "revision",
        "commit_message",
        "sync_status",
        "health_status",
        "initiator",
        "plan_id",
        "action",
        "target",
        "status",
    )
]
PLAN_FIELDS = COMMON + [
    f"{q.P}{name}"
    for name in ("plan_id", "proposer", "gate", "gate_rule", "decision", "decided_by", "outcome")
]
NAMING_FIELDS = [q.P + "suspect.deployment_event_id", q.P + "incident_id"]
ROLLBACK_FIELDS = [q.P + "plan_id", q.P + "parameters.suspect_revision", q.P + "target.application"]


class ReportCollector:
    """Builds a ChangeReport for a period."""

    def __init__(
        self,
        client: Elasticsearch,
        alias: str = "cc-audit",
        *,
        production: tuple[str, ...] = ("production", "prod"),
        links: Links | None = None,
    ) -> None:
        self.client = client
        self.alias = alias
        self.production = list(production)
        self.links = links or Links()

    def build(
        self, period: Period, now: datetime, progress: Progress | None = None
    ) -> ChangeReport:
        """The report: KPIs, every production change, every violation of the period."""
        say = progress or (lambda _stage, _done, _total: None)
        steps = iter(range(1, 8))
        kpis = KpiReader(self.client, self.alias).report(
            Scope(period), progress=lambda stage: say(f"KPIs: {stage}", next(steps), 7)
        )
        window = q.in_time(period.start, period.end)
        production = {"terms": {"commandcenter.environment": self.production}}
        change_docs = list(
            self.scan(
                q.both(
                    window,
                    production,
                    {"bool": {"should": [q.DEPLOY, q.EXECUTED], "minimum_should_match": 1}},
                ),
                "changes",
                say,
                CHANGE_FIELDS,
            )
        )
        deploys = [d for d in change_docs if record_of(d) == "DeploymentObserved"]
        executions = [d for d in change_docs if record_of(d) == "RemediationExecuted"]
        lookahead = q.in_time(period.start, period.end + Scope(period).lookahead)
        failures = self._incidents_naming([d["event"]["id"] for d in deploys], lookahead, say)
        rolled_back = self._rollbacks(lookahead, say)
        plans = self._plan_records([payload(d).get("plan_id", "") for d in executions], say)
        changes = [deploy_change(d, failures, rolled_back) for d in deploys]
        changes += [
            remediation_change(d, plans.get(payload(d).get("plan_id", ""), [])) for d in executions
        ]
        changes.sort(key=lambda c: (c.at, c.event_id))
        violations = [
            violation_row(d)
            for d in self.scan(
                q.both(window, q.record("ComplianceViolationFound")), "violations", say
            )
        ]
        attach_violations(changes, violations)
        return ChangeReport(period, now, changes, violations, kpis, self.links)

    def scan(
        self, query: dict[str, Any], stage: str, say: Progress, fields: list[str] | None = None
    ) -> Iterator[Doc]:
        """Every matching document (only `fields`, if given), oldest first, by search_after."""
        after: list[Any] | None = None
        done = 0
        while True:
            extra: dict[str, Any] = {} if after is None else {"search_after": after}
            response = self.client.search(
                index=self.alias,
                query=query,
                sort=[{"@timestamp": "asc"}, {"event.id": "asc"}],
                size=PAGE,
                track_total_hits=True,
                source_includes=fields,
                ignore_unavailable=True,
                allow_no_indices=True,
                **extra,
            )
            hits = response["hits"]["hits"]
            total = response["hits"]["total"]["value"]
            for hit in hits:
                yield hit["_source"]
            done += len(hits)
            say(stage, done, total)
            if len(hits) < PAGE:
                return
            after = hits[-1]["sort"]

    def _by_terms(
        self,
        field: str,
        values: list[str],
        also: list[dict[str, Any]],
        stage: str,
        say: Progress,
        fields: list[str],
    ) -> Iterator[Doc]:
        wanted = sorted({v for v in values if v})
        for i in range(0, len(wanted), CHUNK):
            chunk = wanted[i : i + CHUNK]
            yield from self.scan(q.both({"terms": {field: chunk}}, *also), stage, say, fields)

    def _incidents_naming(
        self, deploy_ids: list[str], window: dict[str, Any], say: Progress
    ) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        also = [window, q.record("IncidentOpened", "IncidentUpdated")]
        field = q.P + "suspect.deployment_event_id"
        stage = "incidents naming deploys"
        for doc in self._by_terms(field, deploy_ids, also, stage, say, NAMING_FIELDS):
            deploy = payload(doc).get("suspect", {}).get("deployment_event_id", "")
            incident = payload(doc).get("incident_id", "")
            if incident not in found.setdefault(deploy, []):
                found[deploy].append(incident)
        return found

    def _rollbacks(self, window: dict[str, Any], say: Progress) -> set[str]:
        """'application@revision' of rollbacks that were executed (not skipped)."""
        rollback = q.field_is("action", "argocd_rollback")
        plans = {
            payload(d).get("plan_id", ""): payload(d)
            for d in self.scan(
                q.both(window, q.record("RemediationPlanned"), rollback),
                "rollbacks",
                say,
                ROLLBACK_FIELDS,
            )
        }
        executed = self._by_terms(
            q.P + "plan_id", list(plans), [q.EXECUTED], "rollbacks executed", say, [q.P + "plan_id"]
        )
        found = set()
        for doc in executed:
            plan = plans.get(payload(doc).get("plan_id", ""), {})
            revision = plan.get("parameters", {}).get("suspect_revision", "")
            found.add(f"{plan.get('target', {}).get('application', '')}@{revision}")
        return found

    def _plan_records(self, plan_ids: list[str], say: Progress) -> dict[str, list[Doc]]:
        kinds = q.record("RemediationPlanned", "RemediationDecided", "RemediationVerified")
        found: dict[str, list[Doc]] = {}
        stage = "plans and approvals"
        for doc in self._by_terms(q.P + "plan_id", plan_ids, [kinds], stage, say, PLAN_FIELDS):
            found.setdefault(payload(doc).get("plan_id", ""), []).append(doc)
        return found
