"""Runbooks: validation at start-up (file:line: field) and matching a situation to candidates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cc.platform.yaml_file import YamlFileError
from remediation_planner.adapters.runbook_file import load_runbooks
from remediation_planner.domain.runbooks import Situation, candidates

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "remediation-planner"
SHIPPED = load_runbooks(DEPLOY / "runbooks.yaml")


def situation(
    *,
    suspect: bool = False,
    alertname: str = "HighErrorRate",
    environment: str = "prod",
    kinds: frozenset[str] = frozenset({"alert_firing"}),
) -> Situation:
    return Situation(
        incident_id="inc-1",
        kinds=kinds,
        environment=environment,
        labels={"team": "payments", "pod": "web-1"},
        signature={
            "service": "web",
            "namespace": "shop",
            "cluster": "prod-1",
            "alertname": alertname,
            "environment": environment,
        },
        suspect_application="web-app" if suspect else None,
        suspect_revision="bad42" if suspect else None,
        members=12,
    )


def errors_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "runbooks.yaml"
    path.write_text(text)
    with pytest.raises(YamlFileError) as caught:
        load_runbooks(path)
    return caught.value.problems


def test_the_shipped_runbooks_load() -> None:
    assert [r.name for r in SHIPPED] == [
        "rollback-suspect-deploy",
        "restart-crashing-service",
        "silence-while-a-person-looks",
    ]


def test_a_suspect_deploy_gives_a_gitops_safe_rollback_with_parameters() -> None:
    found = candidates(SHIPPED, situation(suspect=True))
    assert [c.action for c in found] == ["argocd_rollback", "k8s_restart", "am_silence"]
    rollback = found[0]
    assert rollback.target == {
        "cluster": "prod-1",
        "namespace": "shop",
        "service": "web",
        "environment": "prod",
        "application": "web-app",
        "argocd_namespace": "argocd",
    }
    assert rollback.parameters == {
        "suspect_revision": "bad42",
        "restore_auto_sync": "false",
        "wait_healthy_seconds": "300",
    }
    assert rollback.runbook == "rollback-suspect-deploy"


def test_crash_loops_without_a_deploy_get_a_restart_then_a_scale() -> None:
    found = candidates(SHIPPED, situation(alertname="KubePodCrashLooping"))
    assert [c.action for c in found] == ["k8s_restart", "k8s_scale", "am_silence"]
    assert found[0].target["kind"] == "Deployment" and found[0].target["name"] == "web"
    assert found[1].parameters == {"replicas": "3"} and found[1].blast_radius == 3


def test_a_crash_loop_after_a_deploy_is_a_rollback_not_a_restart_first() -> None:
    found = candidates(SHIPPED, situation(alertname="KubePodCrashLooping", suspect=True))
    assert found[0].action == "argocd_rollback"


def test_anything_else_gets_a_silence_with_alertmanager_matchers() -> None:
    [silence] = candidates(SHIPPED, situation())
    assert silence.action == "am_silence"
    assert json.loads(silence.parameters["matchers"]) == [
        {"name": "namespace", "value": "shop", "isRegex": False, "isEqual": True},
        {"name": "service", "value": "web", "isRegex": False, "isEqual": True},
    ]
    assert silence.parameters["duration_minutes"] == "60"
    assert silence.parameters["created_by"] == "remediation-planner"
    assert "inc-1" in silence.parameters["comment"]
    assert silence.blast_radius == 12


def test_kinds_environments_and_labels_restrict_a_runbook(tmp_path: Path) -> None:
    path = tmp_path / "runbooks.yaml"
    path.write_text(
        """
runbooks:
  - name: storms-in-staging-for-payments
    match:
      kinds: [alert_storm]
      environments: [staging]
      labels: {team: "pay.*"}
    actions: [{action: k8s_restart}]
"""
    )
    runbooks = load_runbooks(path)
    storm = frozenset({"alert_storm"})
    assert candidates(runbooks, situation(kinds=storm, environment="staging"))
    assert not candidates(runbooks, situation(kinds=storm, environment="prod"))
    assert not candidates(runbooks, situation(environment="staging"))


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    problems = errors_of(
        tmp_path,
        """version: 1
runbooks:
  - name: bad
    match:
      suspect: maybe
      labels: {alertname: "(unclosed"}
    actions:
      - action: reboot_the_world
      - action: k8s_scale
        parmeters: {replicas: "3"}
""",
    )
    path = tmp_path / "runbooks.yaml"
    text = "\n".join(problems)
    assert (
        f"{path}:5: runbooks[0].match.suspect: Input should be 'present', 'absent' or 'any'" in text
    )
    assert re.search(
        rf"{re.escape(str(path))}:6: runbooks\[0\]\.match\.labels: .*invalid regular expression",
        text,
    )
    assert f"{path}:8: runbooks[0].actions[0].action:" in text
    assert f"{path}:10: runbooks[0].actions[1].parmeters: Extra inputs are not permitted" in text


def test_semantic_errors_name_file_line_and_field(tmp_path: Path) -> None:
    problems = errors_of(
        tmp_path,
        """runbooks:
  - name: rollback-anything
    actions:
      - action: argocd_rollback
        parameters: {restore_auto_sync: "maybe"}
      - action: k8s_scale
        target: {name: "{servce}"}
  - name: rollback-anything
    actions: [{action: am_silence, parameters: {duration_minutes: "an hour"}}]
""",
    )
    path = tmp_path / "runbooks.yaml"
    assert sorted(problems) == sorted(
        [
            f"{path}:5: runbooks[0].actions[0].parameters.restore_auto_sync: "
            "must be 'true' or 'false'",
            f"{path}:2: runbooks[0].match.suspect: argocd_rollback needs 'suspect: present' "
            "(it rolls back the suspect deploy)",
            f"{path}:7: runbooks[0].actions[1].target.name: unknown placeholder {{servce}}; known: "
            "alertname, application, cluster, environment, incident_id, namespace, revision, "
            "service",
            f"{path}:6: runbooks[0].actions[1].parameters.replicas: "
            "k8s_scale needs a whole number here",
            f"{path}:8: runbooks[1].name: duplicate runbook name 'rollback-anything'",
            f"{path}:9: runbooks[1].actions[0].parameters.duration_minutes: "
            "am_silence needs a whole number here",
        ]
    )


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    [problem] = errors_of(tmp_path, "runbooks:\n  - name: x\n    actions: [\n")
    assert problem.startswith(f"{tmp_path / 'runbooks.yaml'}:")
    assert "(yaml)" in problem
