"""The command line: pluggable subcommands, serving by default, `audit verify` arguments."""

from __future__ import annotations

import argparse

import pytest

from compliance_auditor import cli
from compliance_auditor.config import Settings


def test_a_registered_command_runs_with_its_arguments_and_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[argparse.Namespace, Settings]] = []

    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--period", required=True)

    def run(args: argparse.Namespace, settings: Settings) -> int:
        seen.append((args, settings))
        return 3

    report = cli.Command("summary", "a summary", configure, run)
    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, report])
    assert cli.main(["summary", "--period", "2026-11"]) == 3
    ((args, settings),) = seen
    assert args.period == "2026-11" and isinstance(settings, Settings)


def test_without_a_subcommand_the_service_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[bool] = []
    serve = cli.Command("serve", "run", lambda _p: None, lambda _a, _s: served.append(True) or 0)
    monkeypatch.setattr(cli, "COMMANDS", [serve, cli.AUDIT])
    assert cli.main([]) == 0 and served == [True]


def test_audit_needs_a_subcommand() -> None:
    with pytest.raises(SystemExit):
        cli.main(["audit"])
