"""Fixtures that run the five services as real processes beside fake Slack and an OTLP receiver."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cc.kafka import load_topics
from cc.testing import infra
from cc.testing.fake_slack import FakeSlack
from cc.testing.groups import start_at_end
from cc.testing.otlp_receiver import OtlpReceiver
from cc.testing.processes import ServiceProcess
from tests.conftest import E2E_INGESTOR_PORT, E2E_TOKEN

PORTS = {
    "ingestor": E2E_INGESTOR_PORT,
    "anomaly-detector": 18182,
    "remediation-planner": 18183,
    "compliance-auditor": 18184,
    "notifier": 18186,
}
E2E_ARGOCD_TOKEN = "e2e-argocd-token"  # Argo CD notifications into the ingestor
LOG_DIR = (
    Path(os.environ.get("CC_RUN_DIR", Path(__file__).resolve().parents[2] / ".run"))
    / "logs"
    / "e2e"
)


@pytest.fixture(scope="session")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


# services that run more than one loop name the other loops' groups <group>.<loop>
SUB_LOOPS = ("metrics", "executor", "rules", "slack", "pagerduty", "teams")


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


def service_env(endpoints: infra.Endpoints, slack: FakeSlack, otlp: OtlpReceiver) -> dict[str, str]:
    """The environment every service process gets in the end-to-end tests."""
    env = {
        "CC_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "INGESTOR_ALERTMANAGER_TOKEN": E2E_TOKEN,
        "INGESTOR_ARGOCD_TOKEN": E2E_ARGOCD_TOKEN,
        "NOTIFIER_SLACK_WEBHOOK_URL": slack.webhook_url,
        "COMPLIANCE_AUDITOR_ELASTICSEARCH_URL": endpoints.elasticsearch_url,
        "CC_LOG_LEVEL": "INFO",
    }
    for name, port in PORTS.items():
        env[f"{name.upper().replace('-', '_')}_HTTP_PORT"] = str(port)
    return env


@pytest.fixture(scope="package")
def services(
    endpoints: infra.Endpoints, slack: FakeSlack, otlp: OtlpReceiver
) -> Iterator[dict[str, ServiceProcess]]:
    """The five services, running while the end-to-end tests run and stopped after them: left
    running, they would consume and answer the events of the integration tests that follow
    (a second auditor or planner publishing the same facts)."""
    env = service_env(endpoints, slack, otlp)
    session = uuid.uuid4().hex[:8]
    topics = [spec.name for spec in load_topics()]
    running: dict[str, ServiceProcess] = {}
    try:
        for name in PORTS:
            # fresh groups that begin at "now": earlier runs' data on the broker is not replayed
            group = f"e2e-{session}-{name}"
            for loop_group in (group, *(f"{group}.{loop}" for loop in SUB_LOOPS)):
                start_at_end(endpoints.kafka_bootstrap, loop_group, topics)
            service_env_ = {**env, "CC_CONSUMER_GROUP": group}
            running[name] = ServiceProcess(
                name, PORTS[name], LOG_DIR / f"{name}.log", service_env_
            ).start()
        for process in running.values():
            process.wait_ready()
        yield running
    finally:
        for process in running.values():
            process.stop()
