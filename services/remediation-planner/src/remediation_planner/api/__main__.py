"""`python -m remediation_planner.api`: the approval API alone (its own HTTP port)."""

from __future__ import annotations

import signal
import threading

from prometheus_client import CollectorRegistry

from cc.kafka import EventProducer
from cc.platform.runtime import make_serde, start_platform
from remediation_planner.api.wiring import start_api
from remediation_planner.executors.settings import ExecutorSettings

SERVICE = "remediation-planner"
settings = ExecutorSettings()
start_platform(SERVICE, settings)
registry = CollectorRegistry()
serde = make_serde(settings.schema_registry_url)
producer = EventProducer(
    settings.kafka_bootstrap, serde, client_id=f"{SERVICE}-api", registry=registry
)
server = start_api(settings, serde, producer, registry)
if server is None:
    raise SystemExit("REMEDIATION_PLANNER_API_TOKEN_FILE (or _API_JWT_SECRET) is not set")
stop = threading.Event()
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: stop.set())
stop.wait()
server.stop()
producer.close()
