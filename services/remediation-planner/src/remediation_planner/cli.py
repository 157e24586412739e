"""`python -m remediation_planner.cli plans list|show|approve|reject`: approvals at a terminal.

The token comes from REMEDIATION_PLANNER_TOKEN, or the file named by --token-file /
REMEDIATION_PLANNER_TOKEN_FILE; the API from --url / REMEDIATION_PLANNER_URL.
Exit codes: 0 done, 1 the API refused (its reason is printed), 2 usage, token or connection.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import httpx

DEFAULT_URL = "http://127.0.0.1:18083"  # the planner serves the API on its own port
COLUMNS = ("plan_id", "status", "action", "incident_id", "proposer", "expires_at")


class CliError(Exception):
    """A failure to report in one line, with its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="python -m remediation_planner.cli")
    top.add_argument("--url", default=os.environ.get("REMEDIATION_PLANNER_URL", DEFAULT_URL))
    top.add_argument("--token-file", default=os.environ.get("REMEDIATION_PLANNER_TOKEN_FILE"))
    groups = top.add_subparsers(dest="group", required=True)
    plans = groups.add_parser("plans", help="remediation plans").add_subparsers(
        dest="command", required=True
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the API's JSON")
    listing = plans.add_parser("list", parents=[common], help="list plans, newest first")
    listing.add_argument("--status")
    listing.add_argument("--incident")
    listing.add_argument("--limit", type=int, default=50)
    show = plans.add_parser("show", parents=[common], help="one plan with its evidence")
    show.add_argument("plan_id")
    for verb in ("approve", "reject"):
        command = plans.add_parser(verb, parents=[common], help=f"{verb} a plan")
        command.add_argument("plan_id")
        command.add_argument("--reason", required=True)
    return top


def read_token(token_file: str | None) -> str:
    """The bearer token from the environment or the token file."""
    if token := os.environ.get("REMEDIATION_PLANNER_TOKEN", "").strip():
        return token
    if token_file:
        try:
            return Path(token_file).read_text().strip()
        except OSError as exc:
            raise CliError(f"cannot read token file {token_file}: {exc.strerror}", 2) from None
    raise CliError("no token: set REMEDIATION_PLANNER_TOKEN or --token-file", 2)


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """One API call; CliError with the API's reason when it refuses."""
    try:
        resp = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach {client.base_url}: {exc}", 2) from None
    if resp.is_success:
        return resp.json()
    try:
        detail = resp.json().get("detail", resp.text)
    except ValueError:
        detail = resp.text
    if isinstance(detail, list):  # validation errors: name the fields
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in detail
        )
    raise CliError(f"{resp.status_code}: {detail}", 1)


def run(args: argparse.Namespace, client: httpx.Client, out: TextIO) -> None:
    """Do the command, printing to `out`."""
    if args.command == "list":
        params = {"limit": str(args.limit)}
        if args.status:
            params["status"] = args.status
        if args.incident:
            params["incident_id"] = args.incident
        plans = call(client, "GET", "/api/v1/plans", params=params)
        if args.json:
            out.write(json.dumps(plans, indent=2) + "\n")
            return
        out.write("  ".join(c.upper() for c in COLUMNS) + "\n")
        for plan in plans:
            out.write("  ".join(str(plan.get(c) or "-") for c in COLUMNS) + "\n")
        return
    path = f"/api/v1/plans/{args.plan_id}"
    if args.command == "show":
        out.write(json.dumps(call(client, "GET", path), indent=2) + "\n")
        return
    result = call(client, "POST", f"{path}/{args.command}", json={"reason": args.reason})
    if args.json:
        out.write(json.dumps(result, indent=2) + "\n")
    else:
        out.write(f"plan {result['plan_id']} {result['decision']} by {result['decided_by']}\n")


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    try:
        token = read_token(args.token_file)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(
            base_url=args.url, headers=headers, timeout=15, trust_env=False
        ) as client:
            run(args, client, out)
    except CliError as exc:
        err.write(f"error: {exc}\n")
        return exc.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
