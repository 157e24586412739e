"""The demo's story beyond the alerts: checkout is deployed through Argo CD (a local stand-in
enforcing its API), its disks fill, the planner proposes a GitOps-safe rollback that waits for a
person's approval, and the audit trail verifies clean.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from cc.events import Event, RemediationPlanned
from cc.testing.argocd_webhook import on_deployed, post_notification
from cc.testing.fake_argocd import FakeArgoCD
from cc.testing.kafka_reader import read_events

APP, NAMESPACE = "checkout", "shop"
GOOD, BAD = "9f1c2e7", "4b8d0a3"  # the last healthy revision and the deploy that breaks disks
ARGOCD_PORT = 18091
ROLES = ("viewer", "operator", "approver", "admin")
PLANNED = "remediation.remediation-planned.v1"


def write_tokens(path: Path) -> dict[str, str]:
    """A fresh token per role for this run's APIs (`name:role:token` lines), by role."""
    tokens = {role: f"demo-{role}-{secrets.token_hex(12)}" for role in ROLES}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"demo-{role}:{role}:{tokens[role]}\n" for role in ROLES))
    path.chmod(0o600)
    return tokens


def argocd() -> FakeArgoCD:
    """Argo CD with checkout live at the bad revision, auto-sync on (as most shops run it)."""
    server = FakeArgoCD(port=ARGOCD_PORT)
    server.add_app(
        APP,
        [(GOOD, "Healthy"), (BAD, "Healthy")],
        automated={"prune": True, "selfHeal": True},
    )
    return server


def announce_deploy(ingestor_url: str, token: str) -> None:
    """Argo CD's on-deployed notification for checkout's bad revision, into the ingestor."""
    body = on_deployed(APP, NAMESPACE, BAD, [GOOD, BAD], labels={"env": "production"})
    response = post_notification(ingestor_url, token, body)
    if response.status_code != 202:
        raise RuntimeError(f"the ingestor refused the Argo CD notification: {response.text}")


def wait_for_rollback_plan(
    bootstrap: str, since: dict[int, int], timeout: float = 90
) -> RemediationPlanned:
    """The rollback plan for checkout published after `since`."""

    def rollback(e: Event) -> bool:
        return (
            isinstance(e, RemediationPlanned)
            and e.action == "argocd_rollback"
            and e.target.get("application") == APP
        )

    events = read_events(
        bootstrap, PLANNED, since, until=lambda es: any(map(rollback, es)), timeout=timeout
    )
    for event in events:
        if rollback(event):
            assert isinstance(event, RemediationPlanned)
            return event
    raise TimeoutError("no rollback plan for checkout; see .run/logs/remediation-planner.log")


def describe_plan(plan: RemediationPlanned, planner_url: str, tokens: dict[str, str]) -> list[str]:
    """Lines telling the person what the planner proposes and how to approve it."""
    body = json.dumps({"reason": "disk fills since the deploy; roll back"})
    return [
        f"Plan {plan.plan_id}: {plan.action} of {plan.target.get('application')} "
        f"({plan.gate}, rule {plan.gate_rule})",
        f"  why: {plan.rationale}",
        f"  see it:   curl -s -H 'Authorization: Bearer {tokens['viewer']}' "
        f"{planner_url}/api/v1/plans/{plan.plan_id}",
        f"  approve:  curl -s -X POST -H 'Authorization: Bearer {tokens['approver']}' "
        f"-H 'Content-Type: application/json' -d '{body}' "
        f"{planner_url}/api/v1/plans/{plan.plan_id}/approve",
        f"  or:       REMEDIATION_PLANNER_TOKEN={tokens['approver']} uv run python -m "
        f"remediation_planner.cli plans approve {plan.plan_id} --reason 'roll back'",
        f"  then the executor rolls checkout back to {GOOD} on the Argo CD stand-in "
        f"(http://127.0.0.1:{ARGOCD_PORT}/api/v1/applications/{APP}, auto-sync off first)",
    ]


def describe_audit(auditor_url: str, tokens: dict[str, str], period: str) -> list[str]:
    """Lines pointing at the audit API, the chain check, KPIs, reports and Kibana."""
    auth = f"-H 'Authorization: Bearer {tokens['viewer']}'"
    return [
        f"Audit search       curl -s {auth} '{auditor_url}/audit/search?service={APP}'",
        f"Chain check        curl -s {auth} {auditor_url}/audit/verify"
        "   (or: uv run python -m compliance_auditor audit verify)",
        f"KPIs (DORA, MTTR)  curl -s {auth} '{auditor_url}/kpis?period={period}'",
        f"Change report      curl -s {auth} '{auditor_url}/reports/{period}?format=markdown'"
        f"   (or: uv run python -m compliance_auditor report --period {period})",
        "Kibana             import deploy/kibana/audit-saved-objects.ndjson (Saved objects)",
        f"API docs           {auditor_url}/docs (auditor), "
        f"{auditor_url.rsplit(':', 1)[0]}:18083/docs (planner approvals)",
    ]
