"""Silences against the real Alertmanager: created with the plan's matchers through the
execution loop on Kafka, expired when the incident resolves, never created twice."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry

from cc.events import RemediationExecuted, SingleObjectSerde, utcnow
from cc.kafka import ConsumerLoop, EventProducer, LoopConfig, Received
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.state import KafkaStateStore
from cc.testing import infra
from cc.testing.events import received
from cc.testing.groups import start_at_end
from cc.testing.kafka_reader import end_offsets, read_events
from cc.testing.plans import planned, resolved
from remediation_planner.executors.http import JsonApi
from remediation_planner.executors.loop import (
    EXECUTED,
    PLANNED,
    RESOLVED,
    TOPICS,
    ExecutionHandler,
    Executors,
)
from remediation_planner.executors.silences import SilenceExecutor, marker

pytestmark = [pytest.mark.kafka, pytest.mark.alertmanager]


class Crash(BaseException):
    """The process dies here (nothing in the executor may catch it)."""


def silence_plan(run_id: str, plan_id: str) -> Any:
    matchers = [
        {"name": "alertname", "value": f"Storm{run_id}", "isRegex": False, "isEqual": True},
        {"name": "service", "value": "web|api", "isRegex": True, "isEqual": True},
    ]
    params = {
        "matchers": orjson.dumps(matchers).decode(),
        "duration_minutes": "30",
        "comment": f"INC-{run_id}: silenced during rollback",
        "created_by": "remediation-planner",
    }
    return planned(plan_id, "am_silence", {}, params, incident_id=f"inc-{run_id}", at=utcnow())


def silences_handler(store: KafkaStateStore, api: JsonApi) -> ExecutionHandler:
    return ExecutionHandler(store, Executors(None, None, SilenceExecutor(api, utcnow)), utcnow)


def get_silence(url: str, silence_id: str) -> dict[str, Any]:
    resp = httpx.get(f"{url}/api/v2/silence/{silence_id}", timeout=5)
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


def tagged(url: str, execution_id: str) -> list[dict[str, Any]]:
    silences = httpx.get(f"{url}/api/v2/silences", timeout=5).json()
    return [s for s in silences if marker(execution_id) in s["comment"]]


def wait_state(url: str, silence_id: str, state: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (silence := get_silence(url, silence_id))["status"]["state"] != state:
        assert time.monotonic() < deadline, f"silence {silence_id} never became {state}: {silence}"
        time.sleep(0.1)  # Alertmanager is an outside process: poll its API
    return silence


def test_a_silence_is_created_with_the_matchers_and_expired_when_the_incident_resolves(
    endpoints: infra.Endpoints, run_id: str
) -> None:
    bootstrap, am = endpoints.kafka_bootstrap, endpoints.alertmanager_url
    serde = SingleObjectSerde()
    producer = EventProducer(bootstrap, serde, client_id=f"it-silence-{run_id}")
    store = KafkaStateStore(bootstrap, f"it-planner-silence-{run_id}.state", producer)
    store.load()
    handler = silences_handler(store, JsonApi(am, ""))

    def only_this_run(item: Received) -> list[Any]:
        # the shared topics carry other tests' plans too: act on this run's incident only
        return handler.on_event(item) if run_id in item.key else []

    group = f"it-planner-silence-{uuid.uuid4().hex[:6]}"
    start_at_end(bootstrap, group, TOPICS)
    config = LoopConfig("remediation-planner", group, TOPICS, "deadletter.it-silence.v1", bootstrap)
    loop = ConsumerLoop(
        config,
        serde,
        producer,
        handler=only_this_run,
        metrics=ConsumerMetrics(CollectorRegistry()),
        before_commit=store.flush,
    )
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        since = end_offsets(bootstrap, EXECUTED)
        plan = silence_plan(run_id, f"plan-{run_id}")
        producer.send(PLANNED, plan.incident_id, plan)
        events = read_events(
            bootstrap,
            EXECUTED,
            since,
            until=lambda es: any(getattr(e, "plan_id", "") == plan.plan_id for e in es),
            timeout=60,
        )
        [done] = [e for e in events if getattr(e, "plan_id", "") == plan.plan_id]
        assert isinstance(done, RemediationExecuted)
        assert done.status == "succeeded", done.detail
        silence_id = orjson.loads(done.detail)["progress"]["silence_id"]

        silence = wait_state(am, silence_id, "active")
        assert silence["matchers"] == [
            {"name": "alertname", "value": f"Storm{run_id}", "isRegex": False, "isEqual": True},
            {"name": "service", "value": "web|api", "isRegex": True, "isEqual": True},
        ]
        assert silence["createdBy"] == "remediation-planner"
        assert silence["comment"].startswith(f"INC-{run_id}: silenced during rollback")

        producer.send(RESOLVED, plan.incident_id, resolved(plan.incident_id))
        wait_state(am, silence_id, "expired")
        assert len(tagged(am, done.execution_id)) == 1
    finally:
        loop.stop()
        thread.join(30)
        producer.close()


def test_a_redelivered_or_crashed_silence_is_not_created_twice(
    endpoints: infra.Endpoints, run_id: str
) -> None:
    bootstrap, am = endpoints.kafka_bootstrap, endpoints.alertmanager_url
    producer = EventProducer(bootstrap, SingleObjectSerde(), client_id=f"it-silence2-{run_id}")
    topic = f"it-planner-silence2-{run_id}.state"
    store = KafkaStateStore(bootstrap, topic, producer)
    store.load()

    def die_after_post(response: httpx.Response) -> None:
        if response.request.method == "POST":
            raise Crash  # Alertmanager made the silence; the process dies before recording it

    client = httpx.Client(event_hooks={"response": [die_after_post]})
    dying = silences_handler(store, JsonApi(am, "", client=client))
    plan = silence_plan(run_id, f"plan2-{run_id}")
    with pytest.raises(Crash):
        dying.on_event(received(plan))
    producer.flush()

    reloaded = KafkaStateStore(bootstrap, topic, producer)
    reloaded.load()
    handler = silences_handler(reloaded, JsonApi(am, ""))
    for _ in range(2):  # the restart, then a plain redelivery
        [out] = handler.on_event(received(plan))
        assert out.event.status == "succeeded"
    assert "found on resume" in out.event.detail
    assert len(tagged(am, out.event.execution_id)) == 1
    producer.close()
