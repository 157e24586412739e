"""`make run`: real Kafka, Elasticsearch and Alertmanager, the five services, a demo scenario.

Replays `deploy/demo/scenario.json` through a real Alertmanager, waits until the pipeline has
told "Slack" (a local server enforcing Slack's webhook contract) and written the audit trail,
prints where to look, and keeps everything running until Ctrl-C, which stops what it started.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from cc.kafka.topics import SERVICES as ALL_SERVICES
from cc.kafka.topics import all_topics, ensure_topics, load_topics
from cc.testing import audit, demo_flow, infra
from cc.testing.fake_argocd import DEFAULT_TOKEN as ARGOCD_API_TOKEN
from cc.testing.fake_argocd import FakeArgoCD
from cc.testing.fake_slack import FakeSlack
from cc.testing.groups import start_at_end, wait_consumed
from cc.testing.kafka_reader import end_offsets
from cc.testing.otlp_receiver import OtlpReceiver, Span
from cc.testing.processes import ServiceProcess

ROOT = Path(__file__).resolve().parents[4]
RUN_DIR = Path(os.environ.get("CC_RUN_DIR", ROOT / ".run"))
LOGS = RUN_DIR / "logs"
TOKEN = "demo-alertmanager-token"  # local demo only; real deployments read it from a secret
DEPLOYMENTS = "deployments.deployment-observed.v1"
PORTS = {
    "ingestor": 18080,
    "anomaly-detector": 18082,
    "remediation-planner": 18083,
    "compliance-auditor": 18084,
    "notifier": 18086,
}
SLACK_PORT, OTLP_PORT = 18090, 14318
TOKENS_FILE = RUN_DIR / "demo-tokens"  # regenerated each run, mode 0600
ARGOCD_WEBHOOK_TOKEN = "demo-argocd-webhook-token"  # local demo only
# the services' other loops run in groups <group>.<loop>
SUB_LOOPS = ("metrics", "executor", "rules", "slack")


def say(message: str) -> None:
    """Progress for the person running the demo."""
    sys.stderr.write(f"[make run] {message}\n")
    sys.stderr.flush()


def start_services(
    endpoints: infra.Endpoints, slack: FakeSlack, otlp: OtlpReceiver, argocd: FakeArgoCD, run: str
) -> list[ServiceProcess]:
    """The five services as processes, each logging to .run/logs/<service>.log.

    Each run has its own consumer groups, starting at the end of the topics, and so its own
    state topics: what earlier runs left on the local broker is neither replayed nor remembered.
    """
    env = {
        "CC_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "INGESTOR_ALERTMANAGER_TOKEN": TOKEN,
        "INGESTOR_ARGOCD_TOKEN": ARGOCD_WEBHOOK_TOKEN,
        "NOTIFIER_SLACK_WEBHOOK_URL": slack.webhook_url,
        "ANOMALY_DETECTOR_STATE_TOPIC": f"demo-{run}-anomaly-detector.state.alerts.v1",
        "ANOMALY_DETECTOR_METRIC_STATE_TOPIC": f"demo-{run}-anomaly-detector.state.metrics.v1",
        "REMEDIATION_PLANNER_API_TOKEN_FILE": str(TOKENS_FILE),
        "REMEDIATION_PLANNER_ARGOCD_URL": argocd.base_url,
        "REMEDIATION_PLANNER_ARGOCD_TOKEN": ARGOCD_API_TOKEN,
        "REMEDIATION_PLANNER_ALERTMANAGER_URL": endpoints.alertmanager_url,
        "COMPLIANCE_AUDITOR_ELASTICSEARCH_URL": endpoints.elasticsearch_url,
        "COMPLIANCE_AUDITOR_TOKENS_FILE": str(TOKENS_FILE),
    }
    topics = [spec.name for spec in load_topics()]
    running = []
    for name, port in PORTS.items():
        group = f"demo-{run}-{name}"
        for loop_group in (group, *(f"{group}.{loop}" for loop in SUB_LOOPS)):
            start_at_end(endpoints.kafka_bootstrap, loop_group, topics)
        env_name = f"{name.upper().replace('-', '_')}_HTTP_PORT"
        service_env = {**env, env_name: str(port), "CC_CONSUMER_GROUP": group}
        process = ServiceProcess(name, port, LOGS / f"{name}.log", service_env)
        running.append(process.start())
    for process in running:
        process.wait_ready()
        say(f"{process.name} ready on {process.url}")
    return running


def replay(alertmanager_url: str, run_id: str) -> list[dict[str, Any]]:
    """Post the scenario's alerts to Alertmanager, each tagged with this run's id."""
    scenario = json.loads((ROOT / "deploy/demo/scenario.json").read_text())
    now = datetime.now(UTC).isoformat()
    alerts = [
        {
            **a,
            "labels": {**a["labels"], "demo_run": run_id},
            "startsAt": now,
            "generatorURL": "http://prometheus.demo/graph",
        }
        for a in scenario["alerts"]
    ]
    response = httpx.post(f"{alertmanager_url}/api/v2/alerts", json=alerts, timeout=10)
    response.raise_for_status()
    say(f"posted {len(alerts)} alerts to Alertmanager: {scenario['description']}")
    return alerts


def wait_for_audit(es_url: str, run_id: str, timeout: float = 90) -> list[dict[str, Any]]:
    """Until the run's alerts are audited and their traces have incidents and notifications."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alerts = audit.search(es_url, {"term": {"labels.demo_run": run_id}})
        traces = {d["_source"].get("trace", {}).get("id") for d in alerts} - {None}
        docs = audit.search(es_url, {"terms": {"trace.id": sorted(traces)}}) if traces else []
        records = {d["_source"]["commandcenter"]["record"] for d in docs}
        if {"IncidentOpened", "NotificationSent"} <= records:
            return docs
        time.sleep(0.5)  # Elasticsearch offers nothing to wait on
    raise TimeoutError("the demo's audit documents did not appear; see the logs in " + str(LOGS))


def report(es_url: str, docs: list[dict[str, Any]], slack: FakeSlack, spans: list[Span]) -> None:
    """Where to look."""
    traces = sorted({d["_source"]["trace"]["id"] for d in docs if "trace" in d["_source"]})
    by_record: dict[str, int] = {}
    for d in docs:
        record = d["_source"]["commandcenter"]["record"]
        by_record[record] = by_record.get(record, 0) + 1
    print("\n=== Command Center is running ===")
    print(f"Ingestor API docs        http://127.0.0.1:{PORTS['ingestor']}/docs")
    print(f"Metrics (each service)   http://127.0.0.1:<port>/metrics   ports: {PORTS}")
    print("Slack (local contract)   messages received:")
    for message in slack.received():
        print(f"                         - {message['json']['text']}")
    print(f"Audit index              alias {audit.AUDIT_ALIAS} in {es_url}")
    print(f"Audit documents of demo  {json.dumps(by_record)}")
    if traces:
        print(f"Trace ids                {', '.join(traces)}")
        query = f"{es_url}/{audit.AUDIT_ALIAS}/_search?q=trace.id:{traces[0]}&size=50&pretty"
        print(f"Query one trace          curl -s '{query}'")
    in_traces = [s for s in spans if s.trace_id in traces]
    services = sorted({s.service_name for s in in_traces})
    print(f"Spans in those traces    {len(in_traces)} from {services}")
    print(f"All spans                {LOGS / 'traces.jsonl'}")
    print(f"Logs                     {LOGS}/<service>.log, infrastructure logs beside them")
    print("Ctrl-C stops everything this command started.\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the demo; `--exit` leaves after printing instead of waiting for Ctrl-C."""
    args = argv if argv is not None else sys.argv[1:]
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    already = {s.component for s in infra.status() if s.ready}
    say("starting Kafka, Elasticsearch and Alertmanager (first run downloads them)")
    endpoints = infra.up(
        am_webhook_url=f"http://127.0.0.1:{PORTS['ingestor']}/webhooks/alertmanager",
        am_webhook_token=TOKEN,
    )
    ensure_topics(endpoints.kafka_bootstrap, all_topics(ALL_SERVICES))
    say("consumer groups start at the end of the topics (earlier local data is not replayed)")
    LOGS.mkdir(parents=True, exist_ok=True)
    trace_log = (LOGS / "traces.jsonl").open("a")
    services: list[ServiceProcess] = []

    def keep_span(span: Span) -> None:
        trace_log.write(json.dumps(span.to_json()) + "\n")
        trace_log.flush()

    tokens = demo_flow.write_tokens(TOKENS_FILE)
    with (
        FakeSlack(port=SLACK_PORT) as slack,
        OtlpReceiver(port=OTLP_PORT, on_span=keep_span) as otlp,
        demo_flow.argocd() as argocd,
    ):
        try:
            run_id = uuid.uuid4().hex[:8]
            services = start_services(endpoints, slack, otlp, argocd, run_id)
            since = end_offsets(endpoints.kafka_bootstrap, demo_flow.PLANNED)
            demo_flow.announce_deploy(f"http://127.0.0.1:{PORTS['ingestor']}", ARGOCD_WEBHOOK_TOKEN)
            for name in ("anomaly-detector", "remediation-planner"):  # as in life: deploy first
                wait_consumed(endpoints.kafka_bootstrap, f"demo-{run_id}-{name}", DEPLOYMENTS)
            say(f"Argo CD deployed {demo_flow.APP} {demo_flow.BAD} (notification -> ingestor)")
            replay(endpoints.alertmanager_url, run_id)
            docs = wait_for_audit(endpoints.elasticsearch_url, run_id)
            plan = demo_flow.wait_for_rollback_plan(endpoints.kafka_bootstrap, since)
            report(endpoints.elasticsearch_url, docs, slack, otlp.spans())
            planner_url = f"http://127.0.0.1:{PORTS['remediation-planner']}"
            auditor_url = f"http://127.0.0.1:{PORTS['compliance-auditor']}"
            period = datetime.now(UTC).strftime("%Y-%m")
            for line in [
                *demo_flow.describe_plan(plan, planner_url, tokens),
                *demo_flow.describe_audit(auditor_url, tokens, period),
                f"Demo tokens        {TOKENS_FILE} (viewer, operator, approver, admin)",
            ]:
                print(line)
            sys.stdout.flush()
            if "--exit" not in args:
                stop.wait()
        finally:
            say("stopping the services")
            for process in services:
                process.stop()
            started_here = [
                c for c in ("alertmanager", "elasticsearch", "kafka") if c not in already
            ]
            if started_here:
                say(f"stopping {', '.join(started_here)}")
                infra.down(started_here)
            trace_log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
