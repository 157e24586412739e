"""Building the execution loop from settings (called by main.py or `python -m ...executors`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from cc.events import Serde, utcnow
from cc.kafka import ConsumerLoop, EventProducer
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.state import KafkaStateStore
from cc.platform.runtime import loop_config
from remediation_planner.executors.argocd import MAX_WAIT_S, ArgoCdExecutor
from remediation_planner.executors.http import JsonApi
from remediation_planner.executors.kubernetes import KubernetesExecutor
from remediation_planner.executors.loop import SERVICE, TOPICS, ExecutionHandler, Executors
from remediation_planner.executors.records import Store, observed_health, state_topic
from remediation_planner.executors.settings import ExecutorSettings
from remediation_planner.executors.silences import SilenceExecutor


def build_executors(
    settings: ExecutorSettings, store: Store, clock: Callable[[], datetime] = utcnow
) -> ExecutionHandler:
    """The handler with one executor per configured system."""
    timeout = settings.http_timeout_s
    argocd = kube = None
    if settings.argocd_url:
        token = settings.argocd_token.get_secret_value()
        argocd = ArgoCdExecutor(
            JsonApi(settings.argocd_url, token, timeout=timeout),
            functools.partial(observed_health, store),
            poll_interval=settings.argocd_poll_interval_s,
        )
    if settings.kubernetes_url:
        token = settings.kubernetes_token.get_secret_value()
        kube = KubernetesExecutor(JsonApi(settings.kubernetes_url, token, timeout=timeout), clock)
    silences = None
    if settings.alertmanager_url:
        silences = SilenceExecutor(JsonApi(settings.alertmanager_url, "", timeout=timeout), clock)
    return ExecutionHandler(store, Executors(argocd, kube, silences), clock)


def build_execution_loop(
    settings: ExecutorSettings,
    serde: Serde,
    producer: EventProducer,
    metrics: ConsumerMetrics,
) -> ConsumerLoop:
    """The execution loop with its own consumer group `<group>.executor` and its state loaded
    from `remediation-planner.state.executions.v1` (blocks until read to the end)."""
    base = settings.consumer_group or SERVICE
    # `<group>.state.executions.v1`: a new consumer group starts from empty state
    store = KafkaStateStore(settings.kafka_bootstrap, state_topic(base), producer)
    store.load()
    handler = build_executors(settings, store)
    config = loop_config(SERVICE, settings, topics=list(TOPICS), group_id=f"{base}.executor")
    # a rollback waits for healthy inside the handler (up to MAX_WAIT_S): stay in the group
    config.consumer_config["max.poll.interval.ms"] = int((MAX_WAIT_S + 300) * 1000)
    return ConsumerLoop(
        config,
        serde,
        producer,
        handler=handler.on_event,
        metrics=metrics,
        before_commit=store.flush,
        tick=handler.tick,
    )
