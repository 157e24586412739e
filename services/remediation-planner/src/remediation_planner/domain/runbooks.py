"""Runbooks: an incident's situation -> candidate actions with targets and parameters.

A runbook matches on anomaly kinds, environments, labels (anchored regular expressions) and
whether a suspect change is named. Its actions become candidates in file order; placeholders
such as `{service}` in targets and parameters are filled from the situation. The planner ranks
the candidates with what it learned (see `planning`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from string import Formatter

from remediation_planner.domain.learning import Prior

ACTIONS = ("argocd_rollback", "argocd_sync", "k8s_restart", "k8s_scale", "am_silence")
SUSPECT_MODES = ("present", "absent", "any")
PLACEHOLDERS = frozenset(
    {
        "service",
        "namespace",
        "cluster",
        "environment",
        "alertname",
        "incident_id",
        "application",
        "revision",
    }
)
SERVICE = "remediation-planner"


@dataclass(frozen=True)
class Match:
    """When a runbook applies; empty sets match anything."""

    kinds: frozenset[str] = frozenset()
    environments: frozenset[str] = frozenset()
    suspect: str = "any"
    labels: tuple[tuple[str, re.Pattern[str]], ...] = ()


@dataclass(frozen=True)
class ActionTemplate:
    """One action a runbook proposes, before placeholders are filled."""

    action: str
    target: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    prior: Prior = field(default_factory=Prior)


@dataclass(frozen=True)
class Runbook:
    """A named runbook."""

    name: str
    match: Match
    actions: tuple[ActionTemplate, ...]
    description: str = ""


@dataclass(frozen=True)
class Situation:
    """What runbooks look at: the incident's kinds, place, labels and suspect."""

    incident_id: str
    kinds: frozenset[str]
    environment: str
    labels: dict[str, str]
    signature: dict[str, str]
    suspect_application: str | None
    suspect_revision: str | None
    members: int

    def values(self) -> dict[str, str]:
        """Placeholder values."""
        s = self.signature
        return {
            "service": s.get("service", ""),
            "namespace": s.get("namespace", ""),
            "cluster": s.get("cluster", ""),
            "environment": self.environment,
            "alertname": s.get("alertname", ""),
            "incident_id": self.incident_id,
            "application": self.suspect_application or s.get("service", ""),
            "revision": self.suspect_revision or "",
        }


@dataclass(frozen=True)
class Candidate:
    """A concrete action for this incident, in runbook order (`order`)."""

    action: str
    target: dict[str, str]
    parameters: dict[str, str]
    prior: Prior
    runbook: str
    order: int
    blast_radius: int


def placeholders_of(text: str) -> list[str]:
    """The `{name}` fields used in a template string."""
    return [name for _, name, _, _ in Formatter().parse(text) if name is not None]


def matches(match: Match, situation: Situation) -> bool:
    """Whether a runbook's conditions hold for the situation."""
    if match.kinds and not match.kinds & situation.kinds:
        return False
    if match.environments and situation.environment not in match.environments:
        return False
    has_suspect = situation.suspect_application is not None
    if match.suspect == "present" and not has_suspect:
        return False
    if match.suspect == "absent" and has_suspect:
        return False
    labels = {**situation.signature, **situation.labels}
    return all(pattern.fullmatch(labels.get(name, "")) for name, pattern in match.labels)


def candidates(runbooks: tuple[Runbook, ...], situation: Situation) -> list[Candidate]:
    """Every action of every matching runbook (the first of each action kept), in file order."""
    found: dict[str, Candidate] = {}
    for runbook in runbooks:
        if not matches(runbook.match, situation):
            continue
        for template in runbook.actions:
            if template.action in found:
                continue
            found[template.action] = _concrete(template, runbook.name, len(found), situation)
    return list(found.values())


def _concrete(
    template: ActionTemplate, runbook: str, order: int, situation: Situation
) -> Candidate:
    values = situation.values()
    target = {
        "cluster": values["cluster"],
        "namespace": values["namespace"],
        "service": values["service"],
        "environment": values["environment"],
        **_defaults_target(template.action),
        **template.target,
    }
    target = {k: v.format_map(values) for k, v in target.items()}
    params = {**_defaults_parameters(template.action), **template.parameters}
    params = {k: v.format_map(values) for k, v in params.items()}
    if template.action == "argocd_rollback":
        params["suspect_revision"] = values["revision"]
    if template.action == "am_silence":
        names = [n.strip() for n in params.pop("matcher_labels").split(",") if n.strip()]
        # the alerts' own label values first; the signature's (narrower, never broader) else
        labels = {**situation.signature, **situation.labels}
        params["matchers"] = json.dumps(
            [
                {"name": n, "value": labels.get(n, ""), "isRegex": False, "isEqual": True}
                for n in names
                if labels.get(n)
            ]
        )
    return Candidate(
        action=template.action,
        target=target,
        parameters=params,
        prior=template.prior,
        runbook=runbook,
        order=order,
        blast_radius=blast_radius(template.action, params, situation.members),
    )


def blast_radius(action: str, parameters: dict[str, str], members: int) -> int:
    """What an action touches: replicas for a scale, alerts for a silence, else one workload."""
    if action == "k8s_scale":
        return int(parameters.get("replicas", "1"))
    if action == "am_silence":
        return max(members, 1)
    return 1


def _defaults_target(action: str) -> dict[str, str]:
    if action.startswith("argocd_"):
        return {"application": "{application}", "argocd_namespace": "argocd"}
    if action.startswith("k8s_"):
        return {"kind": "Deployment", "name": "{service}"}
    return {}


def _defaults_parameters(action: str) -> dict[str, str]:
    if action == "argocd_rollback":
        return {"restore_auto_sync": "false", "wait_healthy_seconds": "300"}
    if action == "argocd_sync":
        return {"revision": "HEAD"}
    if action == "am_silence":
        return {
            "matcher_labels": "namespace,service",
            "duration_minutes": "60",
            "comment": "incident {incident_id}: silenced by the remediation-planner",
            "created_by": SERVICE,
        }
    return {}
