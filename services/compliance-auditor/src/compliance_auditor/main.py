"""Composition root of the compliance-auditor."""

from __future__ import annotations

import gc
import logging
from datetime import timedelta
from pathlib import Path

from elasticsearch import Elasticsearch
from prometheus_client import CollectorRegistry

from cc.kafka import ConsumerLoop, ConsumerMetrics, EventProducer, load_topics
from cc.platform.auth import TokenTable
from cc.platform.runtime import loop_config, make_serde, run_loops_service, start_platform
from compliance_auditor.adapters.elasticsearch_store import (
    ElasticsearchAuditStore,
    install_template,
)
from compliance_auditor.adapters.elasticsearch_trail import ElasticsearchTrail
from compliance_auditor.adapters.kafka_anchors import ensure_anchor_topic, read_anchors
from compliance_auditor.api.app import RouterFactory, audit_routers
from compliance_auditor.api.context import ApiContext
from compliance_auditor.api.kpis import kpis_router
from compliance_auditor.api.reports import reports_router
from compliance_auditor.config import Settings
from compliance_auditor.handlers import SERVICE, Auditor
from compliance_auditor.rules.loop import build_rules_loop
from compliance_auditor.verify import Progress, Report, verify_trail

DEFAULT_TEMPLATE = "deploy/elasticsearch/audit-index-template.json"
# KPI and report routers of the audit API: `def kpis_router(ctx: ApiContext) -> APIRouter`
EXTRA_ROUTERS: list[RouterFactory] = [kpis_router, reports_router]
log = logging.getLogger(__name__)


def template_path(configured: Path | None) -> Path:
    """The configured template, or the one shipped in the repository."""
    if configured is not None:
        return configured
    for parent in Path(__file__).resolve().parents:
        if (parent / DEFAULT_TEMPLATE).is_file():
            return parent / DEFAULT_TEMPLATE
    raise FileNotFoundError(f"{DEFAULT_TEMPLATE} not found: set COMPLIANCE_AUDITOR_INDEX_TEMPLATE")


def elasticsearch_client(settings: Settings) -> Elasticsearch:
    """The Elasticsearch client every part of the service uses."""
    api_key = settings.elasticsearch_api_key
    return Elasticsearch(
        settings.elasticsearch_url,
        api_key=None if api_key is None else api_key.get_secret_value(),
        request_timeout=settings.elasticsearch_timeout_s,
    )


def token_table(settings: Settings) -> TokenTable:
    """Who may call the API (nobody when neither tokens nor a JWT secret are configured)."""
    secret = None if settings.jwt_secret is None else settings.jwt_secret.get_secret_value()
    if settings.tokens_file is not None:
        return TokenTable.from_file(settings.tokens_file, jwt_secret=secret)
    if secret is None:
        log.warning("no COMPLIANCE_AUDITOR_TOKENS_FILE or JWT secret: the audit API answers 401")
    return TokenTable([], jwt_secret=secret)


def audited_topics(settings: Settings) -> list[str]:
    """The configured topics, or every topic of the table except the auditor's anchors."""
    if settings.topics.strip():
        return [t.strip() for t in settings.topics.split(",") if t.strip()]
    return [spec.name for spec in load_topics() if spec.name != settings.anchor_topic]


def verify(
    settings: Settings,
    client: Elasticsearch,
    streams: list[str] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Walk the trail's chains against every anchor published for it."""
    serde = make_serde(settings.schema_registry_url)
    anchors = read_anchors(
        settings.kafka_bootstrap, settings.anchor_topic, settings.index_prefix, serde
    )
    trail = ElasticsearchTrail(client, settings.index_prefix)
    return verify_trail(trail, anchors, only=streams, progress=progress)


def api_context(settings: Settings, client: Elasticsearch) -> ApiContext:
    """What the API routers are built from."""
    return ApiContext(
        client=client,
        trail=settings.index_prefix,
        tokens=token_table(settings),
        verify=lambda streams: verify(settings, client, streams),
    )


def tune_gc() -> None:
    """Fewer full collections: a batch keeps thousands of documents alive for a moment, which
    otherwise triggers collections over everything long-lived (about 15 % of the CPU per
    document in bench/audit). Objects built at start-up are moved out of the collector's way."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def cli() -> None:
    """Run the service until SIGTERM."""
    settings = Settings()
    start_platform(SERVICE, settings)
    client = elasticsearch_client(settings)
    store = ElasticsearchAuditStore(
        client,
        index_prefix=settings.index_prefix,
        bulk_docs=settings.bulk_docs,
        bulk_bytes=settings.bulk_bytes,
    )
    install_template(client, settings.index_prefix, template_path(settings.index_template))
    ensure_anchor_topic(settings.kafka_bootstrap, settings.anchor_topic)
    auditor = Auditor(
        store,
        index_prefix=settings.index_prefix,
        anchor_topic=settings.anchor_topic,
        anchor_every=timedelta(seconds=settings.anchor_interval_s),
        chunk=settings.bulk_docs,
    )
    tune_gc()
    registry = CollectorRegistry()
    serde = make_serde(settings.schema_registry_url)
    producer = EventProducer(settings.kafka_bootstrap, serde, client_id=SERVICE, registry=registry)
    metrics = ConsumerMetrics(registry)  # once per registry: shared by the loops
    loops = [
        ConsumerLoop(
            loop_config(SERVICE, settings, topics=audited_topics(settings)),
            serde,
            producer,
            batch_handler=auditor.on_events,
            metrics=metrics,
            tick=auditor.tick,
        )
    ]
    if settings.rules_enabled:
        base = settings.consumer_group or SERVICE
        loops.append(
            build_rules_loop(
                settings,
                producer=producer,
                serde=serde,
                metrics=metrics,
                rules_file=settings.rules_file,
                state_topic=f"{base}.state.rules.v1",  # a new group starts from empty state
            )
        )
    run_loops_service(
        SERVICE,
        loops,
        registry=registry,
        host=settings.http_host,
        port=settings.http_port,
        extra_checks={"elasticsearch": store.ready},
        routers=audit_routers(api_context(settings, client), EXTRA_ROUTERS),
    )
