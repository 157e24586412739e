"""Composition root of the compliance-auditor."""

from __future__ import annotations

from pathlib import Path

from elasticsearch import Elasticsearch

from cc.kafka import load_topics
from cc.platform.runtime import serve_consumer, start_platform
from compliance_auditor.adapters.elasticsearch_store import ElasticsearchAuditStore
from compliance_auditor.config import Settings
from compliance_auditor.handlers import SERVICE, Auditor

DEFAULT_TEMPLATE = "deploy/elasticsearch/audit-index-template.json"


def template_path(configured: Path | None) -> Path:
    """The configured template, or the one shipped in the repository."""
    if configured is not None:
        return configured
    for parent in Path(__file__).resolve().parents:
        if (parent / DEFAULT_TEMPLATE).is_file():
            return parent / DEFAULT_TEMPLATE
    raise FileNotFoundError(f"{DEFAULT_TEMPLATE} not found: set COMPLIANCE_AUDITOR_INDEX_TEMPLATE")


def cli() -> None:
    """Run the service until SIGTERM."""
    settings = Settings()
    start_platform(SERVICE, settings)
    api_key = settings.elasticsearch_api_key
    client = Elasticsearch(
        settings.elasticsearch_url,
        api_key=None if api_key is None else api_key.get_secret_value(),
        request_timeout=30,
    )
    store = ElasticsearchAuditStore(client)
    store.install_template(settings.index_prefix, template_path(settings.index_template))
    auditor = Auditor(store, index_prefix=settings.index_prefix)
    serve_consumer(
        SERVICE,
        settings,
        topics=[spec.name for spec in load_topics()],
        port=settings.http_port,
        batch_handler=auditor.on_events,
        extra_checks={"elasticsearch": store.ready},
    )
