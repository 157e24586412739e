"""Load and validate the runbooks YAML at start-up (errors name file, line and field)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cc.platform.yaml_file import YamlFileError, load_yaml_model
from remediation_planner.domain.learning import Prior
from remediation_planner.domain.runbooks import (
    PLACEHOLDERS,
    ActionTemplate,
    Match,
    Runbook,
    placeholders_of,
)

Action = Literal["argocd_rollback", "argocd_sync", "k8s_restart", "k8s_scale", "am_silence"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorSpec(_Strict):
    alpha: float = Field(default=1.0, gt=0)
    beta: float = Field(default=1.0, gt=0)


class MatchSpec(_Strict):
    kinds: list[str] = Field(default_factory=list)
    environments: list[str] = Field(default_factory=list)
    suspect: Literal["present", "absent", "any"] = "any"
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"label {name!r}: invalid regular expression: {exc}") from exc
        return value


class ActionSpec(_Strict):
    action: Action
    target: dict[str, str] = Field(default_factory=dict)
    parameters: dict[str, str] = Field(default_factory=dict)
    prior: PriorSpec | None = None


class RunbookSpec(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    match: MatchSpec = Field(default_factory=MatchSpec)
    actions: list[ActionSpec] = Field(min_length=1)


class RunbooksSpec(_Strict):
    version: Literal[1] = 1
    prior: PriorSpec = Field(default_factory=PriorSpec)
    runbooks: list[RunbookSpec] = Field(min_length=1)


def load_runbooks(path: Path) -> tuple[Runbook, ...]:
    """The runbooks of a file; YamlFileError listing every problem with its line."""
    spec, lines = load_yaml_model(path, RunbooksSpec)
    problems = [lines.problem(loc, msg) for loc, msg in _semantic_problems(spec)]
    if problems:
        raise YamlFileError(problems)
    default = Prior(spec.prior.alpha, spec.prior.beta)
    return tuple(
        Runbook(
            name=r.name,
            description=r.description,
            match=Match(
                kinds=frozenset(r.match.kinds),
                environments=frozenset(r.match.environments),
                suspect=r.match.suspect,
                labels=tuple((k, re.compile(v)) for k, v in r.match.labels.items()),
            ),
            actions=tuple(
                ActionTemplate(
                    action=a.action,
                    target=dict(a.target),
                    parameters=dict(a.parameters),
                    prior=default if a.prior is None else Prior(a.prior.alpha, a.prior.beta),
                )
                for a in r.actions
            ),
        )
        for r in spec.runbooks
    )


def _semantic_problems(spec: RunbooksSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """What the schema cannot say: unique names, placeholders, per-action requirements."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    seen: set[str] = set()
    for i, runbook in enumerate(spec.runbooks):
        at: tuple[str | int, ...] = ("runbooks", i)
        if runbook.name in seen:
            found.append(((*at, "name"), f"duplicate runbook name {runbook.name!r}"))
        seen.add(runbook.name)
        for j, action in enumerate(runbook.actions):
            here = (*at, "actions", j)
            for part in ("target", "parameters"):
                for key, value in getattr(action, part).items():
                    unknown = [p for p in placeholders_of(value) if p not in PLACEHOLDERS]
                    if unknown:
                        found.append(
                            (
                                (*here, part, key),
                                f"unknown placeholder {{{unknown[0]}}}; known: "
                                + ", ".join(sorted(PLACEHOLDERS)),
                            )
                        )
            found += _action_problems(runbook, action, here, at)
    return found


def _action_problems(
    runbook: RunbookSpec,
    action: ActionSpec,
    here: tuple[str | int, ...],
    at: tuple[str | int, ...],
) -> list[tuple[tuple[str | int, ...], str]]:
    params = action.parameters
    found: list[tuple[tuple[str | int, ...], str]] = []
    if action.action == "argocd_rollback" and runbook.match.suspect != "present":
        found.append(
            (
                (*at, "match", "suspect"),
                "argocd_rollback needs 'suspect: present' (it rolls back the suspect deploy)",
            )
        )
    if action.action == "argocd_rollback" and params.get("restore_auto_sync", "false") not in (
        "true",
        "false",
    ):
        found.append(((*here, "parameters", "restore_auto_sync"), "must be 'true' or 'false'"))
    numeric = {"k8s_scale": "replicas", "am_silence": "duration_minutes"}.get(action.action)
    if action.action == "argocd_rollback":
        numeric = "wait_healthy_seconds"
    if numeric is not None:
        value = params.get(numeric, "" if action.action == "k8s_scale" else "1")
        if not value.isdigit():
            found.append(
                ((*here, "parameters", numeric), f"{action.action} needs a whole number here")
            )
    if action.action == "argocd_rollback" and "suspect_revision" in params:
        found.append(
            ((*here, "parameters", "suspect_revision"), "set by the planner from the suspect")
        )
    return found
