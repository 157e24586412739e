"""KPIs from Elasticsearch aggregations over the audit alias.

Counts, lead times and the deploy histogram are plain aggregations (filter, avg, percentiles,
date_histogram) inside a composite aggregation over (service, environment). What needs two
records of one incident or plan together (opened -> acknowledged -> resolved; planned as auto ->
executed -> verified; which deploys an incident or a rollback named) cannot be one aggregation:
Elasticsearch does not join documents. For those a composite aggregation keyed by incident or
plan id returns one small bucket per case (the min timestamps and the few terms needed, never
the documents), paged with `after_key`, and the durations and rates are computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from compliance_auditor.kpis import queries
from compliance_auditor.kpis.model import Durations, GroupKpis, KpiReport, Scope

Key = tuple[str, str]
Progress = Callable[[str], None]
RESOLVED_OUTCOMES = {"resolved", "worked"}
PAGE_SIZE = 1000


class KpiReader:
    """Computes a KpiReport for a scope from the audit alias."""

    def __init__(self, client: Elasticsearch, alias: str = "cc-audit") -> None:
        self.client = client
        self.alias = alias

    def report(self, scope: Scope, progress: Progress | None = None) -> KpiReport:
        """Every KPI for the scope, per (service, environment) and in total."""
        say = progress or (lambda _: None)
        groups: dict[Key, GroupKpis] = {}

        def group(key: Key) -> GroupKpis:
            return groups.setdefault(key, GroupKpis(service=key[0], environment=key[1]))

        say("counting deploys, executions, violations, alerts and incidents")
        whole = self._group_counts(scope, group)
        say("finding deploys that failed (named by an incident, or rolled back)")
        failed = self._failed_deploys(scope)
        for key, count in failed.items():
            group(key).failed_deployments = count
        say("measuring incidents (acknowledge, resolve, restore, pages)")
        totals = self._incidents(scope, group)
        say("measuring automatic remediations")
        self._plans(scope, group)
        total = GroupKpis(service="*", environment="*")
        for g in groups.values():
            for name in COUNTS:
                setattr(total, name, getattr(total, name) + getattr(g, name))
            g.finish(scope.period)
        total.lead_time = _lead_time(whole["deploys"])
        total.acknowledge, total.resolve, total.time_to_restore = totals
        by_day = {
            b["key_as_string"][:10]: b["doc_count"] for b in whole["deploys"]["by_day"]["buckets"]
        }
        return KpiReport(
            period=scope.period,
            service=scope.service,
            environment=scope.environment,
            total=total.finish(scope.period),
            # records that name no service (decisions, pages) make empty groups: left out
            groups=sorted(
                (g for g in groups.values() if _counts_anything(g)),
                key=lambda g: (g.service, g.environment),
            ),
            deployments_by_day=by_day,
        )

    # -- aggregations -------------------------------------------------------------------------

    def composite(
        self,
        query: dict[str, Any],
        sources: list[dict[str, Any]],
        aggs: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(bucket, whole-response aggregations) for every bucket, paged by after_key."""
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {"size": PAGE_SIZE, "sources": sources}
            if after is not None:
                composite["after"] = after
            body_aggs = {"groups": {"composite": composite, "aggs": aggs}, **(extra or {})}
            result = self._aggregate(query, body_aggs)
            if result is None:
                return  # no audit index at all yet
            for bucket in result["groups"]["buckets"]:
                yield bucket, result
            after = result["groups"].get("after_key")
            if not result["groups"]["buckets"] or after is None:
                return
            extra = None  # whole-scope aggregations come with the first page

    def _aggregate(self, query: dict[str, Any], aggs: dict[str, Any]) -> dict[str, Any] | None:
        """The aggregations of a size-0 search; None when there is no audit index at all."""
        response = self.client.search(
            index=self.alias,
            query=query,
            aggs=aggs,
            size=0,
            track_total_hits=False,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        found: dict[str, Any] | None = response.get("aggregations")
        return found

    def _group_counts(self, scope: Scope, group: Callable[[Key], GroupKpis]) -> dict[str, Any]:
        query, sources, sub, whole_aggs = queries.group_counts(scope)
        whole: dict[str, Any] = {}
        for bucket, response in self.composite(query, sources, sub, whole_aggs):
            whole = whole or response
            g = group(_key(bucket["key"]))
            g.deployments = bucket["deploys"]["doc_count"]
            g.lead_time = _lead_time(bucket["deploys"])
            g.changes = g.deployments + bucket["executions"]["doc_count"]
            g.violations = bucket["violations"]["doc_count"]
            g.alerts = bucket["alerts"]["doc_count"]
        if not whole:  # nothing in scope: ask once more for the (empty) whole-scope figures
            whole = self._aggregate(query, whole_aggs) or EMPTY_WHOLE
        return whole

    def _failed_deploys(self, scope: Scope) -> dict[Key, int]:
        deploy_ids: list[str] = []
        rollbacks: list[tuple[str, str]] = []
        for bucket, _ in self.composite(*queries.failure_evidence(scope)):
            key = bucket["key"]
            if key["deploy"] is not None:
                deploy_ids.append(key["deploy"])
            elif bucket["executed"]["doc_count"] and bucket["revision"]["buckets"]:
                application = _first(bucket["application"])
                rollbacks.append((application, _first(bucket["revision"])))
        if not deploy_ids and not rollbacks:
            return {}
        query = queries.failed_deploys(scope, deploy_ids, rollbacks)
        return {
            _key(bucket["key"]): bucket["doc_count"]
            for bucket, _ in self.composite(query, queries.GROUP_SOURCES, {})
        }

    def _incidents(
        self, scope: Scope, group: Callable[[Key], GroupKpis]
    ) -> tuple[Durations, Durations, Durations]:
        everything: dict[str, list[float]] = {"ack": [], "resolve": [], "restore": []}
        per_group: dict[Key, dict[str, list[float]]] = {}
        for bucket, _ in self.composite(*queries.incidents(scope)):
            opened = bucket["opened"]
            at = _time(opened["at"])
            if at is None or not scope.period.start <= at < scope.period.end:
                continue  # opened outside the period (or never seen opening)
            key = (_first(opened["service"]), _first(opened["environment"]))
            if (scope.service and key[0] != scope.service) or (
                scope.environment and key[1] != scope.environment
            ):
                continue
            g = group(key)
            g.incidents += 1
            g.pages += bucket["pages"]["doc_count"]
            lists = per_group.setdefault(key, {"ack": [], "resolve": [], "restore": []})
            acked = _time(bucket["acknowledged"]["at"])
            resolved = _time(bucket["resolved"]["at"])
            found = {"ack": acked, "resolve": resolved}
            if opened["suspect"]["buckets"]:
                found["restore"] = resolved  # caused by a change: DORA's time to restore
            for name, end in found.items():
                if end is not None:
                    seconds = (end - at).total_seconds()
                    lists[name].append(seconds)
                    everything[name].append(seconds)
        for key, lists in per_group.items():
            g = group(key)
            g.acknowledge = Durations.of(lists["ack"])
            g.resolve = Durations.of(lists["resolve"])
            g.time_to_restore = Durations.of(lists["restore"])
        return (
            Durations.of(everything["ack"]),
            Durations.of(everything["resolve"]),
            Durations.of(everything["restore"]),
        )

    def _plans(self, scope: Scope, group: Callable[[Key], GroupKpis]) -> None:
        for bucket, _ in self.composite(*queries.plans(scope)):
            planned = bucket["planned"]
            at = _time(planned["at"])
            if at is None or not scope.period.start <= at < scope.period.end:
                continue
            if _first(planned["gate"]) != "auto":
                continue
            key = (_first(planned["service"]), _first(planned["environment"]))
            if (scope.service and key[0] != scope.service) or (
                scope.environment and key[1] != scope.environment
            ):
                continue
            statuses = {b["key"] for b in bucket["executed"]["status"]["buckets"]}
            if not statuses - {"skipped"}:
                continue
            g = group(key)
            g.auto_executions += 1
            g.auto_succeeded += "succeeded" in statuses
            outcomes = {b["key"] for b in bucket["verified"]["outcome"]["buckets"]}
            g.auto_resolved += bool(outcomes & RESOLVED_OUTCOMES)


EMPTY_WHOLE: dict[str, Any] = {
    "deploys": {
        "lead_avg": {"value": None},
        "lead_n": {"value": 0},
        "lead_pct": {"values": {}},
        "by_day": {"buckets": []},
    }
}
COUNTS = (
    "deployments",
    "failed_deployments",
    "alerts",
    "pages",
    "incidents",
    "auto_executions",
    "auto_succeeded",
    "auto_resolved",
    "changes",
    "violations",
)


def _counts_anything(g: GroupKpis) -> bool:
    return any(getattr(g, name) for name in COUNTS)


def _key(key: dict[str, Any]) -> Key:
    return (key.get("service") or "", key.get("environment") or "")


def _first(terms: dict[str, Any]) -> str:
    buckets = terms["buckets"]
    return str(buckets[0]["key"]) if buckets else ""


def _time(agg: dict[str, Any]) -> datetime | None:
    value = agg.get("value")
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def _lead_time(deploys: dict[str, Any]) -> Durations:
    avg = deploys["lead_avg"]["value"]
    if avg is None:
        return Durations()
    pct = deploys["lead_pct"]["values"]
    return Durations(
        count=int(deploys["lead_n"]["value"]),
        mean_seconds=avg,
        median_seconds=pct.get("50.0"),
        p90_seconds=pct.get("90.0"),
    )
