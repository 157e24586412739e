"""`python -m remediation_planner.executors`: the execution loop alone, with ops endpoints."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from cc.kafka import EventProducer
from cc.kafka.metrics import ConsumerMetrics
from cc.platform.runtime import make_serde, run_loops_service, start_platform
from remediation_planner.executors.loop import SERVICE
from remediation_planner.executors.settings import ExecutorSettings
from remediation_planner.executors.wiring import build_execution_loop

settings = ExecutorSettings()
start_platform(SERVICE, settings)
registry = CollectorRegistry()
serde = make_serde(settings.schema_registry_url)
producer = EventProducer(settings.kafka_bootstrap, serde, client_id=SERVICE, registry=registry)
loop = build_execution_loop(settings, serde, producer, ConsumerMetrics(registry))
run_loops_service(
    SERVICE, [loop], registry=registry, host=settings.http_host, port=settings.executor_http_port
)
