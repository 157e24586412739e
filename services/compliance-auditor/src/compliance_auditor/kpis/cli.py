"""`python -m compliance_auditor kpis --period 2026-11 [--service S] [--environment E] [--json]`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import datetime

from compliance_auditor import main as composition
from compliance_auditor.config import Settings
from compliance_auditor.kpis.model import KpiReport, Period, PeriodError, Scope
from compliance_auditor.kpis.reader import KpiReader
from compliance_auditor.reports.render import kpi_rows

HELP = "KPIs of a period (DORA, MTTA/MTTR, noise, auto-remediation, compliance)"


def configure_kpis(parser: argparse.ArgumentParser) -> None:
    """The arguments of `kpis`."""
    parser.add_argument("--period", help="YYYY-MM, YYYY-Qn or YYYY (UTC)")
    parser.add_argument("--from", dest="start", help="ISO 8601 start (instead of --period)")
    parser.add_argument("--to", dest="end", help="ISO 8601 end, excluded")
    parser.add_argument("--service", help="only this service")
    parser.add_argument("--environment", help="only this environment")
    parser.add_argument("--json", action="store_true", help="print JSON")


def scope_of(args: argparse.Namespace) -> Scope:
    """The scope the arguments ask for; PeriodError names the argument at fault."""
    if args.period and (args.start or args.end):
        raise PeriodError("--period: give either --period or --from/--to")
    if args.period:
        period = Period.parse(args.period)
    elif args.start and args.end:
        try:
            start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
        except ValueError as exc:
            raise PeriodError(f"--from/--to: {exc}") from exc
        period = Period.between(start, end)
    else:
        raise PeriodError("--period (or both --from and --to) is required")
    return Scope(period, service=args.service, environment=args.environment)


def describe_kpis(report: KpiReport) -> list[str]:
    """The report as aligned text lines."""
    p = report.period
    lines = [f"KPIs {p.name} ({p.start:%Y-%m-%d} .. {p.end:%Y-%m-%d}, end excluded)"]
    for group in [report.total, *report.groups]:
        name = (
            "all"
            if group.service == "*"
            else f"{group.service or '(none)'} / {group.environment or '(none)'}"
        )
        lines += ["", name]
        lines += [f"  {k:<34} {v}" for k, v in kpi_rows(group)]
    return lines


def run_kpis(args: argparse.Namespace, settings: Settings) -> int:
    """Print the KPIs; exit code 2 on a bad period."""
    try:
        scope = scope_of(args)
    except PeriodError as exc:
        sys.stderr.write(f"kpis: {exc}\n")
        return 2
    client = composition.elasticsearch_client(settings)
    report = KpiReader(client, settings.index_prefix).report(scope)
    if args.json:
        sys.stdout.write(json.dumps(asdict(report), indent=2, default=str) + "\n")
    else:
        sys.stdout.write("\n".join(describe_kpis(report)) + "\n")
    return 0
