"""`python -m compliance_auditor report --period 2026-11 [--format markdown|html|csv]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cc.events import utcnow
from compliance_auditor import main as composition
from compliance_auditor.config import Settings
from compliance_auditor.kpis.model import Period, PeriodError
from compliance_auditor.reports.collect import ReportCollector
from compliance_auditor.reports.model import Links
from compliance_auditor.reports.render import FORMATS, RENDERERS

HELP = "change-management report of a period (Markdown, HTML or CSV)"


def configure_report(parser: argparse.ArgumentParser) -> None:
    """The arguments of `report`."""
    parser.add_argument("--period", required=True, help="YYYY-MM, YYYY-Qn or YYYY (UTC)")
    parser.add_argument("--format", choices=FORMATS, default="markdown")
    parser.add_argument("--output", type=Path, help="write here instead of stdout")
    parser.add_argument(
        "--trace-url", default="", help="trace link template, e.g. https://jaeger/trace/{trace_id}"
    )
    parser.add_argument(
        "--record-url",
        default="/audit/records/{event_id}",
        help="audit record link template (the audit API's base URL + /audit/records/{event_id})",
    )
    parser.add_argument(
        "--production",
        action="append",
        help="environment names that are production (default: production, prod)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def progress_on_stderr(stage: str, done: int, total: int) -> None:
    """One updating line per stage on stderr."""
    sys.stderr.write(f"\r{stage}: {done}/{total}\x1b[K")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write the report; exit code 2 on a bad period."""
    try:
        period = Period.parse(args.period)
    except PeriodError as exc:
        sys.stderr.write(f"report: --period: {exc}\n")
        return 2
    collector = ReportCollector(
        composition.elasticsearch_client(settings),
        settings.index_prefix,
        production=tuple(args.production or ("production", "prod")),
        links=Links(trace=args.trace_url, record=args.record_url),
    )
    report = collector.build(period, utcnow(), None if args.quiet else progress_on_stderr)
    text = RENDERERS[args.format](report)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        sys.stderr.write(f"report written to {args.output}\n")
    return 0
