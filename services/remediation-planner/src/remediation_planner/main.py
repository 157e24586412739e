"""Composition root of the remediation-planner."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from datetime import timedelta

from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from cc.kafka import ConsumerLoop, ConsumerMetrics, EventProducer
from cc.kafka.state import KafkaStateStore
from cc.platform.runtime import loop_config, make_serde, run_loops_service, start_platform
from remediation_planner.adapters.policy_file import load_policy
from remediation_planner.adapters.runbook_file import load_runbooks
from remediation_planner.api.wiring import approval_routes
from remediation_planner.config import SERVICE, Settings
from remediation_planner.executors.wiring import build_execution_loop
from remediation_planner.handlers import CONSUMES, Planner, Stores, Timing

log = logging.getLogger(__name__)


def timing_of(settings: Settings) -> Timing:
    """The planner's windows and periods from the settings."""
    return Timing(
        group_window=timedelta(seconds=settings.group_window_s),
        suspect_window=timedelta(seconds=settings.suspect_window_s),
        quiet_period=timedelta(seconds=settings.quiet_period_s),
        update_interval=timedelta(seconds=settings.update_interval_s),
        verify_period=timedelta(seconds=settings.verify_period_s),
        retention=timedelta(seconds=settings.resolved_retention_s),
    )


def cli() -> None:
    """Run the service until SIGTERM."""
    settings = Settings()
    start_platform(SERVICE, settings)
    # invalid files stop the service here, each problem as file:line: field: message
    runbooks = load_runbooks(settings.runbooks_file)
    policy = load_policy(settings.policy_file)
    registry = CollectorRegistry()
    serde = make_serde(settings.schema_registry_url)
    producer = EventProducer(settings.kafka_bootstrap, serde, client_id=SERVICE, registry=registry)
    bootstrap = settings.kafka_bootstrap
    incidents = KafkaStateStore(bootstrap, settings.state_topic("incidents"), producer)
    outcomes = KafkaStateStore(bootstrap, settings.state_topic("outcomes"), producer)
    automation = KafkaStateStore(bootstrap, settings.state_topic("automation"), producer)
    openings = KafkaStateStore(bootstrap, settings.state_topic("openings"), producer)
    for store in (incidents, outcomes, automation, openings):
        store.load()
    planner = Planner(
        runbooks=runbooks,
        policy=policy,
        timing=timing_of(settings),
        stores=Stores(
            incidents=incidents, outcomes=outcomes, automation=automation, openings=openings
        ),
    )
    log.info("state restored", extra=planner.load())

    def flush_state() -> list[Future[Message]]:
        return [*incidents.flush(), *outcomes.flush(), *automation.flush(), *openings.flush()]

    metrics = ConsumerMetrics(registry)  # one per registry: share it with any other loop
    planning_loop = ConsumerLoop(
        loop_config(SERVICE, settings, topics=CONSUMES),
        serde,
        producer,
        batch_handler=planner.on_batch,
        metrics=metrics,
        before_commit=flush_state,
        tick=planner.tick,
        tick_interval=settings.tick_interval_s,
    )
    loops = [planning_loop]
    if settings.executors_enabled:
        loops.append(build_execution_loop(settings, serde, producer, metrics))
    routers, checks = [], {}
    if (approval := approval_routes(settings, serde, producer)) is not None:
        router, replay = approval
        routers, checks = [router], {"plans_replayed": replay.ready}
    run_loops_service(
        SERVICE,
        loops,
        registry=registry,
        host=settings.http_host,
        port=settings.http_port,
        extra_checks=checks,
        routers=routers,
    )
