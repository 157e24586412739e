"""The change-management report: three formats, escaping, links, an empty period."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cc.events import Event
from cc.kafka import load_topics
from compliance_auditor.domain.documents import Origin, audit_document
from compliance_auditor.kpis.model import GroupKpis, KpiReport, Period
from compliance_auditor.kpis.synthetic import History
from compliance_auditor.reports.model import (
    ChangeReport,
    Links,
    attach_violations,
    deploy_change,
    remediation_change,
    violation_row,
)
from compliance_auditor.reports.render import markdown, render_csv, render_html

NOV = Period.parse("2026-11")
AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
EVIL = "<script>alert('x')</script> | =HYPERLINK(\"http://evil\")"
TOPICS = {spec.record: spec.name for spec in load_topics()}


def doc(event: Event, trace: str = "") -> dict[str, Any]:
    """The audit document as Elasticsearch returns it (JSON round trip)."""
    record = event.SCHEMA.rsplit(".", 1)[-1]
    built = audit_document(record, event.to_avro(), Origin(TOPICS[record], 0, 0, "", trace), AT)
    parsed: dict[str, Any] = orjson.loads(orjson.dumps(built))
    return parsed


def empty_kpis(period: Period) -> KpiReport:
    return KpiReport(period, None, None, GroupKpis("*", "*").finish(period), [])


def sample_report() -> ChangeReport:
    h = History("report")
    deploy = h.deploy("shop", "abc123def4567890", AT, initiator="<b>mallory</b>")
    object.__setattr__(deploy, "commit_message", EVIL)
    opened = h.incident("inc-1", AT + timedelta(minutes=5), service="shop", suspect=deploy)
    plan = h.planned(
        "p1",
        "inc-1",
        AT + timedelta(minutes=6),
        service="shop",
        gate="needs_approval",
        suspect_revision=deploy.revision,
    )
    decided = h.decided(plan, AT + timedelta(minutes=8), by="bob")
    executed = h.executed(plan, AT + timedelta(minutes=9))
    verified = h.verified(plan, AT + timedelta(minutes=14))
    found = h.violation(
        "deploy-outside-change-window", AT, service="shop", evidence=[deploy.metadata.event_id]
    )
    changes = [
        deploy_change(
            doc(deploy, "ab" * 16),
            {deploy.metadata.event_id: [opened.incident_id]},
            {f"shop@{deploy.revision}"},
        ),
        remediation_change(doc(executed), [doc(plan), doc(decided), doc(verified)]),
    ]
    violations = [violation_row(doc(found))]
    attach_violations(changes, violations)
    kpis = empty_kpis(NOV)
    kpis.total.deployments = 1
    kpis.total.finish(NOV)
    return ChangeReport(
        NOV,
        AT + timedelta(days=10),
        changes,
        violations,
        kpis,
        Links(
            trace="https://traces.example/trace/{trace_id}",
            record="https://cc.example/audit/records/{event_id}",
        ),
    )


def test_each_change_says_who_what_when_approval_outcome_with_links() -> None:
    report = sample_report()
    deploy, remediation = report.changes
    assert deploy.who == "<b>mallory</b>"
    assert deploy.what.startswith("deploy shop@abc123def456: <script>")
    assert "failed: incident inc-1" in deploy.outcome and "rolled back" in deploy.outcome
    assert deploy.violations == ["deploy-outside-change-window"]
    assert remediation.who == "proposed by remediation-planner"
    assert remediation.approval.startswith(
        "needs_approval (production-argocd_rollback); approved by bob"
    )
    assert remediation.outcome == "execution succeeded, verified resolved"
    assert len(remediation.related) == 3
    text = markdown(report)
    assert f"https://traces.example/trace/{'ab' * 16}" in text
    assert f"https://cc.example/audit/records/{deploy.event_id}" in text


def test_markdown_keeps_table_cells_in_their_columns() -> None:
    text = markdown(sample_report())
    row = next(line for line in text.splitlines() if "abc123def456" in line)
    assert "\\| =HYPERLINK" in row  # the pipe of the commit message is escaped
    header = next(line for line in text.splitlines() if line.startswith("| when | kind"))
    unescaped = row.replace("\\|", "")
    assert unescaped.count("|") == header.count("|")
    assert "## Violations (1)" in text


def test_html_escapes_everything_from_the_trail() -> None:
    page = render_html(sample_report())
    assert "<script>" not in page and "<b>mallory" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;b&gt;mallory&lt;/b&gt;" in page
    assert f'<a href="https://traces.example/trace/{"ab" * 16}">' in page
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")


def test_csv_parses_back_and_defuses_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(sample_report()))))
    changes = [r for r in rows if r["section"] == "change"]
    assert [r["kind"] for r in changes] == ["deploy", "remediation"]
    assert changes[0]["what"].startswith("deploy shop@abc123def456: <script>")  # CSV: as is
    assert changes[0]["audit record"].startswith("https://cc.example/audit/records/")
    violations = [r for r in rows if r["section"] == "violation"]
    assert violations[0]["kind"] == "deploy-outside-change-window"
    kpis = {r["kind"]: r["what"] for r in rows if r["section"] == "kpi" and r["service"] == "*"}
    assert kpis["deployments"] == "1"
    assert kpis["change failure rate"] == "0.0%"


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    report = sample_report()
    report.changes[0].who = "=cmd|' /C calc'!A0"
    row = next(r for r in csv.reader(io.StringIO(render_csv(report))) if r[0] == "change")
    assert row[6] == "'=cmd|' /C calc'!A0"


def test_a_period_without_changes_says_so_in_every_format() -> None:
    period = Period.parse("2026-09")
    report = ChangeReport(period, AT, [], [], empty_kpis(period))
    assert "No production changes in this period." in markdown(report)
    assert "No violations in this period." in markdown(report)
    assert "<p>No production changes in this period.</p>" in render_html(report)
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    assert rows[0][0] == "section"
    assert {r[0] for r in rows[1:]} == {"kpi"}
    assert "n/a" in markdown(report)  # no deploys: no change failure rate, not 0 %
