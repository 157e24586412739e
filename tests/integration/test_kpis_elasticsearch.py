"""KPIs on the real Elasticsearch: a known synthetic history gives known DORA and KPI figures.

The history is indexed through the auditor's own document builder into a run-specific index
(created from the shipped template's mappings) behind a run-specific alias, so nothing here
touches `cc-audit` or another test's data.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from cc.kafka import load_topics
from cc.platform.auth import TokenTable
from compliance_auditor.api.app import build_api
from compliance_auditor.api.context import ApiContext
from compliance_auditor.api.kpis import kpis_router
from compliance_auditor.api.reports import reports_router
from compliance_auditor.config import Settings
from compliance_auditor.domain.documents import Origin, audit_document
from compliance_auditor.kpis.cli import configure_kpis, run_kpis
from compliance_auditor.kpis.model import Period, Scope
from compliance_auditor.kpis.reader import KpiReader
from compliance_auditor.kpis.synthetic import History
from compliance_auditor.reports.cli import configure_report, run_report
from compliance_auditor.reports.collect import ReportCollector

pytestmark = pytest.mark.elasticsearch
TEMPLATE = Path(__file__).resolve().parents[2] / "deploy/elasticsearch/audit-index-template.json"
H = timedelta(hours=1)
M = timedelta(minutes=1)
TOKEN = "viewer-token-0123456789"


def day(d: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, d, hour, 0, tzinfo=UTC)


def known_history() -> History:
    """November 2026. Expected figures are stated in the tests below."""
    h = History("kpi")
    # shop/production: four deploys; lead times 2 h, 4 h, 1 h, unknown
    h.deploy("shop", "s1", day(2), commit_time=day(2) - 2 * H)
    h.deploy("shop", "s1", day(2) - M, trigger="on-sync-running")  # not a deploy of its own
    h.deploy("shop", "s2", day(5), commit_time=day(5) - 4 * H)
    s3 = h.deploy("shop", "s3", day(10), commit_time=day(10) - H)
    s4 = h.deploy("shop", "s4", day(20))
    # cart/production: lead times 30 min and 3 h; cart/staging: 10 min
    h.deploy("cart", "c1", day(3, 14), commit_time=day(3, 14) - 30 * M)
    h.deploy("cart", "c2", day(15), commit_time=day(15) - 3 * H)
    h.deploy("cart", "c9", day(4), environment="staging", commit_time=day(4) - 10 * M)
    # outside November: not counted
    h.deploy("shop", "s0", datetime(2026, 10, 31, 23, 0, tzinfo=UTC))
    h.deploy("shop", "s5", datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    # s3 breaks: an incident names it; acknowledged after 10 min (bob approves), resolved
    # after 1 h, paged once
    i1 = h.incident("inc-1", day(10) + 30 * M, service="shop", suspect=s3)
    p1 = h.planned("p1", "inc-1", day(10) + 31 * M, service="shop", gate="needs_approval")
    h.decided(p1, day(10) + 40 * M, by="bob")
    h.executed(p1, day(10) + 41 * M)
    h.page("inc-1", day(10) + 31 * M)
    h.resolved(i1, day(10) + 90 * M)
    # s4 is rolled back automatically (verified resolved); its incident names no deploy,
    # nobody acknowledges it, it resolves after 20 min and only goes to Slack
    i2 = h.incident("inc-2", day(20) + 10 * M, service="shop")
    p2 = h.planned("p2", "inc-2", day(20) + 11 * M, service="shop", suspect_revision=s4.revision)
    h.executed(p2, day(20) + 20 * M)
    h.verified(p2, day(20) + 25 * M)
    h.page("inc-2", day(20) + 11 * M, channel="slack")
    h.resolved(i2, day(20) + 30 * M)
    # an automatic restart of cart that failed and did not help
    p3 = h.planned("p3", "inc-3", day(16), service="cart", action="k8s_restart")
    h.executed(p3, day(16) + M, status="failed")
    h.verified(p3, day(16) + 6 * M, outcome="not_resolved")
    # ten firing alerts for shop, two violations on shop
    for i in range(10):
        h.alert(f"HighLatency{i}", day(10) + i * M, service="shop")
    h.violation("deploy-outside-change-window", day(20), service="shop", evidence=["x"])
    h.violation("incident-not-acknowledged", day(20) + H, service="shop", evidence=["y"])
    return h


@pytest.fixture(scope="module")
def es(elasticsearch_url: str) -> Elasticsearch:
    return Elasticsearch(elasticsearch_url, request_timeout=30)


def index_history(es: Elasticsearch, name: str, history: History) -> None:
    """The history as the auditor would store it, in its own index and alias `name`."""
    template = json.loads(TEMPLATE.read_text())["template"]
    es.indices.create(
        index=f"{name}-2026.11",
        settings=template["settings"],
        mappings=template["mappings"],
        aliases={name: {}},
    )
    topics = {spec.record: spec.name for spec in load_topics()}
    operations: list[dict[str, object]] = []
    for offset, event in enumerate(history.events):
        record = event.SCHEMA.rsplit(".", 1)[-1]
        origin = Origin(topics[record], 0, offset, "", f"{offset:032x}")
        operations.append({"create": {"_index": f"{name}-2026.11", "_id": event.metadata.event_id}})
        operations.append(audit_document(record, event.to_avro(), origin, day(1)))
    result = es.bulk(operations=operations, refresh="wait_for")
    assert not result["errors"], [i for i in result["items"] if i["create"].get("error")][:3]


@pytest.fixture(scope="module")
def alias(es: Elasticsearch) -> Iterator[str]:
    name = f"kpi-test-{uuid.uuid4().hex[:10]}"
    index_history(es, name, known_history())
    yield name
    es.indices.delete(index=f"{name}-*")


def test_dora_four_keys_for_november(es: Elasticsearch, alias: str) -> None:
    report = KpiReader(es, alias).report(Scope(Period.parse("2026-11")))
    total = report.total
    # deployment frequency: 7 on-deployed deploys in the 30 days of November
    assert total.deployments == 7
    assert total.deployments_per_day == pytest.approx(7 / 30)
    assert report.deployments_by_day["2026-11-02"] == 1
    # lead time: 2 h, 4 h, 1 h, 30 min, 3 h, 10 min (s4 has no commit time)
    assert total.lead_time.count == 6
    assert total.lead_time.mean_seconds == pytest.approx(6400.0)  # 38,400 s / 6
    assert total.lead_time.median_seconds == pytest.approx(5400.0, rel=0.05)  # (1 h + 2 h) / 2
    # change failure rate: s3 (named by inc-1) and s4 (rolled back) of 7
    assert total.failed_deployments == 2
    assert total.change_failure_rate == pytest.approx(2 / 7)
    # time to restore: inc-1 (caused by s3) took 1 h
    assert total.time_to_restore.count == 1
    assert total.time_to_restore.mean_seconds == pytest.approx(3600.0)


def test_incident_and_remediation_kpis_for_november(es: Elasticsearch, alias: str) -> None:
    total = KpiReader(es, alias).report(Scope(Period.parse("2026-11"))).total
    # MTTA: only inc-1 was acknowledged (bob, after 10 min); the planner's own plan is no ack
    assert total.acknowledge.count == 1
    assert total.acknowledge.mean_seconds == pytest.approx(600.0)
    # MTTR: 1 h and 20 min
    assert total.resolve.count == 2
    assert total.resolve.mean_seconds == pytest.approx(2400.0)
    # noise: 10 alerts -> 2 incidents -> 1 page
    assert (total.alerts, total.incidents, total.pages) == (10, 2, 1)
    assert total.noise_reduction == pytest.approx(0.8)
    assert total.alerts_per_incident == pytest.approx(5.0)
    # automatic remediation: p2 resolved, p3 failed -> 50 %; p1 needed approval
    assert (total.auto_executions, total.auto_succeeded, total.auto_resolved) == (2, 1, 1)
    assert total.auto_success_rate == pytest.approx(0.5)
    # compliance: 2 violations over 10 changes (7 deploys + 3 executions)
    assert (total.violations, total.changes) == (2, 10)
    assert total.violations_per_change == pytest.approx(0.2)


def test_kpis_per_service_and_environment(es: Elasticsearch, alias: str) -> None:
    report = KpiReader(es, alias).report(Scope(Period.parse("2026-11")))
    groups = {(g.service, g.environment): g for g in report.groups}
    assert set(groups) == {("shop", "production"), ("cart", "production"), ("cart", "staging")}
    shop = groups[("shop", "production")]
    assert (shop.deployments, shop.failed_deployments) == (4, 2)
    assert shop.change_failure_rate == pytest.approx(0.5)
    assert shop.lead_time.mean_seconds == pytest.approx(8400.0)  # (2 h + 4 h + 1 h) / 3
    assert shop.violations_per_change == pytest.approx(2 / 6)  # 4 deploys + p1 + p2
    cart = groups[("cart", "production")]
    assert (cart.deployments, cart.failed_deployments, cart.changes) == (2, 0, 3)
    assert cart.auto_success_rate == pytest.approx(0.0)
    scoped = KpiReader(es, alias).report(
        Scope(Period.parse("2026-11"), service="cart", environment="production")
    )
    assert scoped.total.deployments == 2
    assert scoped.total.incidents == 0
    assert [(g.service, g.environment) for g in scoped.groups] == [("cart", "production")]


def test_a_period_without_events_gives_zeros_and_no_ratios(es: Elasticsearch, alias: str) -> None:
    report = KpiReader(es, alias).report(Scope(Period.parse("2026-09")))
    assert report.groups == []
    assert report.total.deployments == 0
    assert report.total.change_failure_rate is None
    assert report.total.lead_time.mean_seconds is None


def test_the_report_lists_every_production_change_with_its_evidence(
    es: Elasticsearch, alias: str
) -> None:
    stages: list[tuple[str, int, int]] = []
    report = ReportCollector(es, alias).build(
        Period.parse("2026-11"), day(30), lambda s, d, t: stages.append((s, d, t))
    )
    # 6 production deploys (the staging one is no production change) + 3 executions
    assert [c.kind for c in report.changes].count("deploy") == 6
    assert [c.kind for c in report.changes].count("remediation") == 3
    by_what = {c.what.split(":")[0]: c for c in report.changes}
    assert "failed: incident inc-1" in by_what["deploy shop@s3"].outcome
    assert "rolled back" in by_what["deploy shop@s4"].outcome
    p1 = next(c for c in report.changes if c.related and "approved by bob" in c.approval)
    assert p1.approval.startswith("needs_approval")
    assert all(len(c.trace_id) == 32 for c in report.changes)
    assert len(report.violations) == 2
    assert report.kpis.total.deployments == 7
    assert ("changes", 9, 9) in stages  # progress: stage, done, total


def test_kpis_and_report_through_the_api(es: Elasticsearch, alias: str) -> None:
    tokens = TokenTable.parse(f"vera:viewer:{TOKEN}\n", "tokens")
    ctx = ApiContext(client=es, trail=alias, tokens=tokens, verify=lambda _streams: None)  # type: ignore[arg-type,return-value]
    api = TestClient(build_api(ctx, [kpis_router, reports_router]))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert api.get("/kpis?period=2026-11").status_code == 401
    body = api.get("/kpis?period=2026-11", headers=auth).json()
    assert body["total"]["deployments"] == 7
    assert body["total"]["change_failure_rate"] == pytest.approx(2 / 7)
    scoped = api.get("/kpis?period=2026-11&service=shop", headers=auth).json()
    assert scoped["total"]["deployments"] == 4
    bad = api.get("/kpis?period=2026-13", headers=auth)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "period"]
    missing = api.get("/kpis?from=2026-11-01T00:00:00Z", headers=auth)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["query", "to"]
    page = api.get("/reports/2026-11?format=html", headers=auth)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Production changes (9)" in page.text
    sheet = api.get("/reports/2026-11?format=csv", headers=auth)
    assert sheet.headers["content-type"].startswith("text/csv")
    assert api.get("/reports/2026-11?format=pdf", headers=auth).status_code == 422
    assert api.get("/reports/november", headers=auth).json()["detail"][0]["loc"] == [
        "path",
        "period",
    ]


def test_the_cli_writes_the_report_and_shows_progress_on_stderr(
    elasticsearch_url: str, alias: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(elasticsearch_url=elasticsearch_url, index_prefix=alias)
    out = tmp_path / "report.md"
    parser = argparse.ArgumentParser()
    configure_report(parser)
    args = parser.parse_args(["--period", "2026-11", "--output", str(out)])
    assert run_report(args, settings) == 0
    assert "## Production changes (9)" in out.read_text()
    assert "changes: 9/9" in capsys.readouterr().err
    kpi_parser = argparse.ArgumentParser()
    configure_kpis(kpi_parser)
    assert run_kpis(kpi_parser.parse_args(["--period", "2026-11", "--json"]), settings) == 0
    assert '"deployments": 7' in capsys.readouterr().out
    assert run_kpis(kpi_parser.parse_args(["--period", "11/2026"]), settings) == 2
