"""SIGKILL the executor between disabling auto-sync and rolling back, restart it: the rollback
happens exactly once and the sync policy recorded before the crash is the one restored.

The executor runs as a real process (this file's `__main__`): the execution loop built from
`build_executors`, on private input topics and a private state topic, so other tests' plans on
the shared topics are never touched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from cc.events import SingleObjectSerde
from cc.kafka import ConsumerLoop, EventProducer, LoopConfig
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.state import KafkaStateStore
from cc.kafka.topics import ensure_topics
from cc.testing import infra
from cc.testing.fake_argocd import DEFAULT_TOKEN, FakeArgoCD
from cc.testing.plans import planned
from remediation_planner.executors.settings import ExecutorSettings
from remediation_planner.executors.wiring import build_executors

pytestmark = [pytest.mark.kafka]

LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"
AUTO = {"prune": True, "selfHeal": True}


class StallingArgoCD(FakeArgoCD):
    """Applies the first PATCH (auto-sync off) but holds its answer: the executor is killed
    while it waits, after auto-sync is off and before any rollback."""

    def __init__(self) -> None:
        super().__init__()
        self.patched = threading.Event()
        self.release = threading.Event()

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Any:
        reply = super().handle(method, path, headers, raw)
        if method == "PATCH" and not self.patched.is_set():
            self.patched.set()
            self.release.wait(60)  # the crash window, held open on purpose
        return reply


def start_executor(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, __file__], env={**os.environ, **env}, stdout=out, stderr=out
    )


def wait_until(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)  # an outside process and a server thread: nothing to wait on but state


def test_a_killed_executor_resumes_the_rollback_without_rolling_back_twice(
    endpoints: infra.Endpoints, run_id: str
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    planned_topic = f"it-planner-crash-{run_id}.planned"
    ensure_topics(bootstrap, {planned_topic: 1})
    with StallingArgoCD() as argocd:
        argocd.add_app(
            "web", [("aaa", "Healthy"), ("bbb", "Healthy"), ("ccc", "Degraded")], automated=AUTO
        )
        env = {
            "CC_KAFKA_BOOTSTRAP": bootstrap,
            "IT_PLANNED_TOPIC": planned_topic,
            "IT_STATE_TOPIC": f"it-planner-crash-{run_id}.state",
            "IT_GROUP": f"it-planner-crash-{uuid.uuid4().hex[:6]}",
            "REMEDIATION_PLANNER_ARGOCD_URL": argocd.base_url,
            "REMEDIATION_PLANNER_ARGOCD_TOKEN": DEFAULT_TOKEN,
            "REMEDIATION_PLANNER_ARGOCD_POLL_INTERVAL_S": "0.05",
            "REMEDIATION_PLANNER_ALERTMANAGER_URL": "",
            "OTEL_TRACES_EXPORTER": "none",
        }
        log = LOGS / f"planner-executor-crash-{run_id}.log"
        producer = EventProducer(bootstrap, SingleObjectSerde(), client_id=f"it-crash-{run_id}")
        plan = planned(
            f"plan-{run_id}",
            "argocd_rollback",
            {"application": "web"},
            {"suspect_revision": "ccc", "restore_auto_sync": "true", "wait_healthy_seconds": "60"},
            incident_id=f"inc-{run_id}",
        )
        producer.send(planned_topic, plan.incident_id, plan)
        first = start_executor(env, log)
        try:
            assert argocd.patched.wait(60), f"no PATCH arrived:\n{log.read_text()[-3000:]}"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            argocd.release.set()
            assert argocd.rollbacks("web") == []
            assert "automated" not in argocd.app("web")["spec"]["syncPolicy"]

            second = start_executor(env, log)
            try:
                wait_until(
                    lambda: argocd.app("web")["spec"]["syncPolicy"].get("automated"), "restore"
                )
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(30)
        finally:
            if first.poll() is None:
                first.kill()
            producer.close()
        [rollback] = argocd.rollbacks("web")
        assert rollback["body"]["id"] == 2
        assert argocd.app("web")["status"]["sync"]["revision"] == "bbb"
        assert argocd.app("web")["spec"]["syncPolicy"]["automated"] == AUTO


def main() -> None:
    """The executor process: the execution loop on the test's private topics."""
    settings = ExecutorSettings()
    serde = SingleObjectSerde()
    producer = EventProducer(settings.kafka_bootstrap, serde, client_id="it-executor")
    store = KafkaStateStore(settings.kafka_bootstrap, os.environ["IT_STATE_TOPIC"], producer)
    store.load()
    handler = build_executors(settings, store)
    config = LoopConfig(
        "remediation-planner",
        os.environ["IT_GROUP"],
        [os.environ["IT_PLANNED_TOPIC"]],
        "deadletter.it-executor.v1",
        settings.kafka_bootstrap,
        # static membership: the restarted process takes the partition back at once
        consumer_config={"group.instance.id": "it-executor-0"},
    )
    loop = ConsumerLoop(
        config,
        serde,
        producer,
        handler=handler.on_event,
        metrics=ConsumerMetrics(CollectorRegistry()),
        before_commit=store.flush,
    )
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    print(json.dumps({"event": "executor started"}), flush=True)
    loop.run()
    producer.close()


if __name__ == "__main__":
    main()
