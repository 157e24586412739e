"""The auditor as a real process under faults: SIGKILL mid-stream, Elasticsearch frozen for 60 s
under load. Afterwards every event is stored exactly once and the hash chains verify clean."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)

from cc.events import SingleObjectSerde
from cc.kafka import EventProducer
from cc.testing import infra
from cc.testing.events import notification_sent
from cc.testing.processes import ServiceProcess
from tests.integration.test_auditor_trail import AuditRun, audit_run

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch]
__all__ = ["audit_run"]  # the fixture, shared with the trail tests

EVENTS = 6000
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"
OUTAGE_S = 60


def wait_for_count(run: AuditRun, at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        found = run.count()
        if found >= at_least:
            return found
        time.sleep(0.2)  # Elasticsearch offers nothing to wait on
    raise TimeoutError(f"{found} of {at_least} audit documents after {timeout}s")


def auditor_env(run: AuditRun, port: int) -> dict[str, str]:
    return {
        **run.env,
        "COMPLIANCE_AUDITOR_HTTP_PORT": str(port),
        "CC_CONSUMER_GROUP": f"it-auditor-{uuid.uuid4().hex[:6]}",
        "CC_CONSUMER_BATCH_SIZE": "100",
        # static membership: the restarted auditor takes its partitions back without waiting
        # for the killed one's session to time out
        "CC_CONSUMER_INSTANCE_ID": "auditor-0",
    }


def assert_exactly_once_and_clean(run: AuditRun, expected: int) -> None:
    ids = run.ids()
    assert len(ids) == expected, "every event stored"
    assert len(set(ids)) == expected, "none twice"
    report = run.verify()
    assert report["ok"], report
    assert report["records"] == expected


def test_sigkill_mid_stream_loses_and_duplicates_nothing(audit_run: AuditRun) -> None:
    producer = EventProducer(audit_run.bootstrap, SingleObjectSerde(), client_id="it-crash")
    futures = [
        producer.produce(
            audit_run.topic, f"k{i}", notification_sent(f"{audit_run.prefix}-{i}", run_id="crash")
        )
        for i in range(EVENTS)
    ]
    for future in futures:
        future.result(30)
    producer.close()

    env = auditor_env(audit_run, 18284)
    auditor = ServiceProcess("compliance-auditor", 18284, LOGS / "auditor-crash.log", env).start()
    try:
        wait_for_count(audit_run, 300, timeout=60)
        auditor.stop(signal.SIGKILL)
        at_kill = audit_run.count()
        assert at_kill < EVENTS, "the auditor finished before it was killed: not a mid-stream crash"

        auditor = ServiceProcess(
            "compliance-auditor", 18284, LOGS / "auditor-crash.log", env
        ).start()
        wait_for_count(audit_run, EVENTS, timeout=120)
        assert auditor.stop(signal.SIGTERM) == 0, "SIGTERM is a graceful stop, exit code 0"
    finally:
        auditor.stop()
    assert_exactly_once_and_clean(audit_run, EVENTS)
    admin = AdminClient({"bootstrap.servers": audit_run.bootstrap})
    (configs,) = admin.describe_configs(
        [ConfigResource(ResourceType.TOPIC, audit_run.anchor_topic)]
    ).values()
    assert configs.result(30)["cleanup.policy"].value == "compact", "latest anchors kept for good"


class SteadyLoad:
    """Produces events at a steady rate in a thread until stopped; counts what Kafka acked."""

    def __init__(self, run: AuditRun, per_second: int) -> None:
        self.run = run
        self.per_second = per_second
        self.sent = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._produce, daemon=True)

    def _produce(self) -> None:
        producer = EventProducer(self.run.bootstrap, SingleObjectSerde(), client_id="it-load")
        tick = 0.1
        per_tick = max(1, int(self.per_second * tick))
        while not self.stopping.wait(tick):  # paced by the clock: load, not a flood
            futures = [
                producer.produce(
                    self.run.topic,
                    f"k{self.sent + i}",
                    notification_sent(f"{self.run.prefix}-{self.sent + i}", run_id="outage"),
                )
                for i in range(per_tick)
            ]
            for future in futures:
                future.result(30)
            self.sent += per_tick
        producer.close()

    def __enter__(self) -> SteadyLoad:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join(60)


def readiness(url: str) -> int:
    try:
        return httpx.get(f"{url}/readyz", timeout=10).status_code
    except httpx.HTTPError:
        return 0


@pytest.mark.timeout(600)
def test_elasticsearch_frozen_for_a_minute_under_load_loses_and_duplicates_nothing(
    audit_run: AuditRun,
) -> None:
    env = {**auditor_env(audit_run, 18285), "COMPLIANCE_AUDITOR_ELASTICSEARCH_TIMEOUT_S": "5"}
    auditor = ServiceProcess("compliance-auditor", 18285, LOGS / "auditor-outage.log", env).start()
    try:
        auditor.wait_ready()
        with SteadyLoad(audit_run, per_second=300) as load:
            wait_for_count(audit_run, 1000, timeout=60)
            with infra.paused("elasticsearch"):
                frozen_at = time.monotonic()
                while readiness(auditor.url) != 503:  # the auditor notices: not ready
                    assert time.monotonic() - frozen_at < OUTAGE_S - 10, "still ready"
                    time.sleep(0.5)
                sent_before = load.sent
                time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - frozen_at)))  # the outage
                assert load.sent > sent_before, "events kept arriving during the outage"
            time.sleep(5)  # load goes on after the restart too
        produced = load.sent
        wait_for_count(audit_run, produced, timeout=240)
        assert auditor.process is not None and auditor.process.poll() is None, "still running"
        assert auditor.stop(signal.SIGTERM) == 0
    finally:
        auditor.stop()
    assert_exactly_once_and_clean(audit_run, produced)
