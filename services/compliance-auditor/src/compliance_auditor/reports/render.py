"""The report as Markdown, HTML (every value escaped) or CSV (spreadsheet-safe)."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable
from typing import Any

from compliance_auditor.kpis.model import Durations, GroupKpis
from compliance_auditor.reports.model import Change, ChangeReport

FORMATS = ("markdown", "html", "csv")
MEDIA_TYPES = {
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
CHANGE_COLUMNS = (
    "when",
    "kind",
    "service",
    "environment",
    "what",
    "who",
    "approval",
    "outcome",
    "violations",
    "trace",
    "audit record",
)


def kpi_rows(g: GroupKpis) -> list[tuple[str, str]]:
    """(name, value as text) of one group's KPIs, in reading order."""
    return [
        ("deployments", str(g.deployments)),
        ("deployment frequency (per day)", _num(g.deployments_per_day)),
        ("lead time for changes (median)", _duration(g.lead_time, "median_seconds")),
        ("lead time for changes (mean)", _duration(g.lead_time, "mean_seconds")),
        ("change failure rate", _pct(g.change_failure_rate)),
        ("time to restore (mean)", _duration(g.time_to_restore, "mean_seconds")),
        ("incidents", str(g.incidents)),
        ("MTTA", _duration(g.acknowledge, "mean_seconds")),
        ("MTTR", _duration(g.resolve, "mean_seconds")),
        ("alerts -> incidents -> pages", f"{g.alerts} -> {g.incidents} -> {g.pages}"),
        ("noise reduction", _pct(g.noise_reduction)),
        ("automatic remediation success", _pct(g.auto_success_rate)),
        ("violations per change", _num(g.violations_per_change)),
    ]


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _duration(d: Durations, which: str) -> str:
    seconds = getattr(d, which)
    if seconds is None:
        return "n/a"
    minutes = seconds / 60
    text = f"{minutes / 60:.1f} h" if minutes >= 120 else f"{minutes:.1f} min"
    return f"{text} (n={d.count})"


def change_cells(report: ChangeReport, c: Change) -> list[str]:
    """One change as cell texts, in CHANGE_COLUMNS order."""
    return [
        c.at.isoformat(),
        c.kind,
        c.service,
        c.environment,
        c.what,
        c.who,
        c.approval,
        c.outcome,
        ", ".join(c.violations),
        report.links.to_trace(c.trace_id),
        report.links.to_record(c.event_id),
    ]


def _title(report: ChangeReport) -> str:
    return f"Change-management report {report.period.name}"


def markdown(report: ChangeReport) -> str:
    """GitHub-flavoured Markdown; table cells have | and newlines neutralised."""

    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    def table(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> list[str]:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]

    p = report.period
    out = [
        f"# {_title(report)}",
        "",
        f"Period {p.start.isoformat()} to {p.end.isoformat()} (end excluded); "
        f"generated {report.generated_at.isoformat()}.",
        "",
        "## KPIs",
        "",
    ]
    out += table(("KPI", "value"), [list(r) for r in kpi_rows(report.kpis.total)])
    for g in report.kpis.groups:
        out += ["", f"### {cell(g.service or '(none)')} / {cell(g.environment or '(none)')}", ""]
        out += table(("KPI", "value"), [list(r) for r in kpi_rows(g)])
    out += ["", f"## Production changes ({len(report.changes)})", ""]
    if report.changes:
        out += table(CHANGE_COLUMNS, [change_cells(report, c) for c in report.changes])
    else:
        out.append("No production changes in this period.")
    out += ["", f"## Violations ({len(report.violations)})", ""]
    if report.violations:
        rows = [
            [
                v.at.isoformat(),
                v.rule_id,
                v.severity,
                v.service,
                v.environment,
                v.description,
                ", ".join(report.links.to_record(e) for e in v.evidence),
            ]
            for v in report.violations
        ]
        out += table(
            ("when", "rule", "severity", "service", "environment", "description", "evidence"), rows
        )
    else:
        out.append("No violations in this period.")
    return "\n".join(out) + "\n"


def render_html(report: ChangeReport) -> str:
    """A standalone HTML page; every value from the trail is escaped."""
    e: Callable[[Any], str] = lambda v: html.escape(str(v), quote=True)  # noqa: E731

    def link(href: str, text: str) -> str:
        if not href or not href.startswith(("http://", "https://", "/")):
            return e(text)
        return f'<a href="{e(href)}">{e(text)}</a>'

    def table(header: tuple[str, ...], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{e(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def kpis(g: GroupKpis) -> str:
        return table(("KPI", "value"), [[e(k), e(v)] for k, v in kpi_rows(g)])

    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(_title(report))}</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px;text-align:left;vertical-align:top}</style>",
        "</head><body>",
        f"<h1>{e(_title(report))}</h1>",
        f"<p>Period {e(report.period.start.isoformat())} to {e(report.period.end.isoformat())}"
        f" (end excluded); generated {e(report.generated_at.isoformat())}.</p>",
        "<h2>KPIs</h2>",
        kpis(report.kpis.total),
    ]
    for g in report.kpis.groups:
        parts += [f"<h3>{e(g.service or '(none)')} / {e(g.environment or '(none)')}</h3>", kpis(g)]
    parts.append(f"<h2>Production changes ({len(report.changes)})</h2>")
    if report.changes:
        rows = []
        for c in report.changes:
            cells = [e(v) for v in change_cells(report, c)[:9]]
            trace = report.links.to_trace(c.trace_id)
            cells.append(link(trace, c.trace_id) if c.trace_id else "")
            cells.append(link(report.links.to_record(c.event_id), c.event_id))
            rows.append(cells)
        parts.append(table(CHANGE_COLUMNS, rows))
    else:
        parts.append("<p>No production changes in this period.</p>")
    parts.append(f"<h2>Violations ({len(report.violations)})</h2>")
    if report.violations:
        rows = [
            [
                e(v.at.isoformat()),
                e(v.rule_id),
                e(v.severity),
                e(v.service),
                e(v.environment),
                e(v.description),
                " ".join(link(report.links.to_record(x), x) for x in v.evidence),
            ]
            for v in report.violations
        ]
        parts.append(
            table(
                ("when", "rule", "severity", "service", "environment", "description", "evidence"),
                rows,
            )
        )
    else:
        parts.append("<p>No violations in this period.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_csv(report: ChangeReport) -> str:
    """One table: a `section` column tells changes, violations and KPIs apart."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["section", *CHANGE_COLUMNS])
    for c in report.changes:
        writer.writerow(["change", *(_safe(v) for v in change_cells(report, c))])
    for v in report.violations:
        evidence = " ".join(report.links.to_record(x) for x in v.evidence)
        cells = [
            v.at.isoformat(),
            v.rule_id,
            v.service,
            v.environment,
            v.description,
            "",
            "",
            v.severity,
            "",
            "",
            evidence,
        ]
        writer.writerow(["violation", *(_safe(x) for x in cells)])
    for g in [report.kpis.total, *report.kpis.groups]:
        for name, value in kpi_rows(g):
            cells = ["", name, g.service, g.environment, value, "", "", "", "", "", ""]
            writer.writerow(["kpi", *(_safe(x) for x in cells)])
    return buffer.getvalue()


RENDERERS: dict[str, Callable[[ChangeReport], str]] = {
    "markdown": markdown,
    "html": render_html,
    "csv": render_csv,
}
