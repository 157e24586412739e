"""`python -m compliance_auditor [serve | audit verify | ...]`: pluggable subcommands.

A subcommand is a `Command` (name, help, how to add its arguments, what to run) in `COMMANDS`;
its `run` gets the parsed arguments and the service's Settings and returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from compliance_auditor import main as composition
from compliance_auditor.config import Settings
from compliance_auditor.kpis import cli as kpis_cli
from compliance_auditor.reports import cli as reports_cli
from compliance_auditor.reports.cli import progress_on_stderr
from compliance_auditor.verify import describe


@dataclass(frozen=True)
class Command:
    """One subcommand of `python -m compliance_auditor`."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings], int]


def _serve(_args: argparse.Namespace, _settings: Settings) -> int:
    composition.cli()
    return 0


def _configure_audit(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", required=True)
    check = sub.add_parser("verify", help="walk the hash chains; report the first tampered record")
    check.add_argument("--stream", action="append", help="only this stream (topic/partition)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    client = composition.elasticsearch_client(settings)
    report = composition.verify(
        settings, client, args.stream, progress=None if args.quiet else progress_on_stderr
    )
    if args.json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        for line in describe(report):
            sys.stdout.write(line + "\n")
    return 0 if report.ok else 1


SERVE = Command("serve", "run the service (the default)", lambda _parser: None, _serve)
AUDIT = Command("audit", "audit trail tools: verify", _configure_audit, _audit)
KPIS = Command("kpis", kpis_cli.HELP, kpis_cli.configure_kpis, kpis_cli.run_kpis)
REPORT = Command("report", reports_cli.HELP, reports_cli.configure_report, reports_cli.run_report)
COMMANDS: list[Command] = [SERVE, AUDIT, KPIS, REPORT]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand (no subcommand: serve)."""
    parser = argparse.ArgumentParser(prog="python -m compliance_auditor")
    sub = parser.add_subparsers(dest="command")
    for command in COMMANDS:
        command.configure(sub.add_parser(command.name, help=command.help))
    args = parser.parse_args(argv)
    chosen = next(c for c in COMMANDS if c.name == (args.command or SERVE.name))
    return chosen.run(args, Settings())
