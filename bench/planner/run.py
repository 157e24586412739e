"""Planner benchmark: grouping + planning throughput beside an Avro passthrough, and the time from
a storm's first alert to its RemediationPlanned through the running pipeline.

    uv run python bench/planner/run.py [--services 40] [--alerts 250] [--runs 3]
                                       [--storms 30] [--storm-size 20] [--skip-e2e]

1. Throughput, in this process, same input both ways: N pre-encoded events (per service a
   deploy, then its storm: an AlertReceived and an AnomalyDetected per alert, services
   interleaved) in batches of 500. *passthrough*: decode each event and encode it again.
   *planner*: decode, `Planner.on_batch` (grouping, suspect lookup, runbooks, policy, learning),
   encode every output, a `tick`, and the state written to in-memory stores. Median of the
   runs, paths alternating; the ratio planner / passthrough is the figure to watch.
2. Latency, end to end: ingestor, anomaly-detector and remediation-planner as real processes on
   the local Kafka (fresh consumer groups and state). Storms of `--storm-size` alerts, one
   service each, go through the real Alertmanager (or, when its webhook port 18180 is taken by
   an end-to-end run, straight to this ingestor as Alertmanager-shaped webhooks). Per storm:
   post time -> Kafka timestamp of the first AnomalyDetected and of the RemediationPlanned of
   its service. p50/p99 of "first alert -> plan" and "anomaly -> plan" (target p99 <= 2 s).

Table on stdout, then one JSON line; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition
from opentelemetry import trace

from cc.events import Event, SingleObjectSerde
from cc.kafka import Received
from cc.kafka.state import MemoryStateStore
from cc.kafka.topics import SERVICES, all_topics, ensure_topics, load_topics
from cc.testing import infra
from cc.testing.events import T0
from cc.testing.groups import start_at_end
from cc.testing.incidents import anomaly_of, deployed, firing, place_labels
from cc.testing.processes import ServiceProcess
from remediation_planner.adapters.policy_file import load_policy
from remediation_planner.adapters.runbook_file import load_runbooks
from remediation_planner.handlers import Planner, Stores, Timing

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "remediation-planner"
BATCH = 500
AM_WEBHOOK_PORT = 18180  # where the local Alertmanager delivers (tests/conftest.py)
AM_TOKEN = "e2e-alertmanager-token"  # the local Alertmanager's test credential
FALLBACK_PORT = 18580
PORTS = {"anomaly-detector": 18582, "remediation-planner": 18583}


def say(message: str) -> None:
    sys.stderr.write(f"[bench/planner] {message}\n")
    sys.stderr.flush()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ------------------------------------------------------------------------------ throughput


def workload(services: int, alerts: int) -> list[tuple[str, bytes]]:
    """(topic, encoded event): per service a deploy then its storm, services interleaved."""
    serde = SingleObjectSerde()
    rows: list[tuple[datetime, str, Event]] = []
    for s in range(services):
        labels = place_labels(f"svc{s}", f"ns{s % 8}", "staging" if s % 2 else "prod")
        rows.append(
            (
                T0 - timedelta(minutes=3),
                "deployments.deployment-observed.v1",
                deployed(f"svc{s}", f"rev{s}", namespace=f"ns{s % 8}"),
            )
        )
        for a in range(alerts):
            at = T0 + timedelta(milliseconds=10 * a + s)
            fp = f"{s:04d}{a:012d}"
            rows.append((at, "alerts.alert-received.v1", firing(fp, labels, at=at)))
            rows.append((at, "anomalies.anomaly-detected.v1", anomaly_of([fp], labels, at=at)))
    rows.sort(key=lambda r: r[0])
    return [(topic, serde.encode(event, topic)) for _, topic, event in rows]


def received(topic: str, event: Event, offset: int) -> Received:
    return Received(event, topic, 0, offset, "", [], trace.INVALID_SPAN)


def passthrough(events: list[tuple[str, bytes]], *, encode: bool = True) -> float:
    """Decode every event and encode it again (or, `encode=False`, only decode it)."""
    serde = SingleObjectSerde()
    started = time.perf_counter()
    for i in range(0, len(events), BATCH):
        for topic, raw in events[i : i + BATCH]:
            event = serde.decode(raw, topic)
            if encode:
                serde.encode(event, topic)
    return len(events) / (time.perf_counter() - started)


def planner_path(events: list[tuple[str, bytes]]) -> tuple[float, int]:
    serde = SingleObjectSerde()
    stores = Stores(MemoryStateStore(), MemoryStateStore(), MemoryStateStore())
    planner = Planner(
        runbooks=load_runbooks(DEPLOY / "runbooks.yaml"),
        policy=load_policy(DEPLOY / "policy.yaml"),
        timing=Timing(),
        stores=stores,
    )
    produced = 0
    started = time.perf_counter()
    for i in range(0, len(events), BATCH):
        batch = [
            received(topic, serde.decode(raw, topic), i + j)
            for j, (topic, raw) in enumerate(events[i : i + BATCH])
        ]
        outputs = [*planner.on_batch(batch), *planner.tick(T0 + timedelta(seconds=i / BATCH))]
        for out in outputs:
            serde.encode(out.event, out.topic)
        produced += len(outputs)
        for store in (stores.incidents, stores.outcomes, stores.automation):
            store.flush()
    return len(events) / (time.perf_counter() - started), produced


def throughput(services: int, alerts: int, runs: int) -> dict[str, Any]:
    events = workload(services, alerts)
    say(f"throughput: {len(events)} events, {runs} runs per path")
    passthrough(events[:2000])  # warm-up: fastavro's schema caches, imports
    planner_path(events[:2000])
    base: list[float] = []
    decode: list[float] = []
    plan: list[float] = []
    outputs = 0
    for run in range(runs):
        for path in ("passthrough", "planner") if run % 2 == 0 else ("planner", "passthrough"):
            if path == "passthrough":
                base.append(passthrough(events))
                decode.append(passthrough(events, encode=False))
            else:
                rate, outputs = planner_path(events)
                plan.append(rate)
    return {
        "decode_only_events_per_s": round(statistics.median(decode)),
        "events": len(events),
        "services": services,
        "outputs": outputs,
        "passthrough_events_per_s": round(statistics.median(base)),
        "planner_events_per_s": round(statistics.median(plan)),
        "ratio": round(statistics.median(plan) / statistics.median(base), 3),
    }


# ------------------------------------------------------------------------------ latency


class Watcher:
    """Kafka timestamps of the first AnomalyDetected and RemediationPlanned per service."""

    TOPICS = ("anomalies.anomaly-detected.v1", "remediation.remediation-planned.v1")

    def __init__(self, bootstrap: str) -> None:
        self.anomaly: dict[str, float] = {}
        self.plan: dict[str, float] = {}
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": uuid.uuid4().hex,
                "enable.auto.commit": False,
            }
        )
        assignment = []
        for topic in self.TOPICS:
            parts = self._consumer.list_topics(topic, timeout=10).topics[topic].partitions
            for p in parts:
                _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                assignment.append(TopicPartition(topic, p, high))
        self._consumer.assign(assignment)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        serde = SingleObjectSerde()
        while not self._stop.is_set():
            for msg in self._consumer.consume(500, 0.1):
                if msg.error() is not None or msg.value() is None:
                    continue
                at = msg.timestamp()[1] / 1000
                event: Any = serde.decode(msg.value(), msg.topic() or "")
                if msg.topic() == self.TOPICS[0]:
                    self.anomaly.setdefault(event.signature.service, at)
                else:
                    self.plan.setdefault(event.target.get("service", ""), at)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def am_payload(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """An Alertmanager v4 webhook body for firing alerts."""
    return {
        "version": "4",
        "receiver": "bench",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": a["labels"],
                "annotations": {},
                "startsAt": a["startsAt"],
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": uuid.uuid5(uuid.NAMESPACE_OID, json.dumps(a["labels"])).hex[:16],
            }
            for a in alerts
        ],
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://bench",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
    }


def latency(storms: int, size: int) -> dict[str, Any]:
    endpoints = infra.up(["kafka", "alertmanager"])
    ensure_topics(endpoints.kafka_bootstrap, all_topics(SERVICES))
    via_am = port_free(AM_WEBHOOK_PORT)
    ingest_port = AM_WEBHOOK_PORT if via_am else FALLBACK_PORT
    say(
        f"latency: {storms} storms of {size} alerts via "
        f"{'Alertmanager' if via_am else 'direct webhooks (port 18180 busy)'}"
    )
    run = uuid.uuid4().hex[:8]
    logs = ROOT / ".run" / "logs" / "bench-planner"
    topics = [t.name for t in load_topics()]
    env = {
        "CC_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "OTEL_TRACES_EXPORTER": "none",
        "INGESTOR_ALERTMANAGER_TOKEN": AM_TOKEN,
        "INGESTOR_HTTP_PORT": str(ingest_port),
        "REMEDIATION_PLANNER_RUNBOOKS_FILE": str(DEPLOY / "runbooks.yaml"),
        "REMEDIATION_PLANNER_POLICY_FILE": str(DEPLOY / "policy.yaml"),
    }
    processes = []
    watcher = Watcher(endpoints.kafka_bootstrap)
    try:
        for name, port in [("ingestor", ingest_port), *PORTS.items()]:
            group = f"bench-{run}-{name}"
            start_at_end(endpoints.kafka_bootstrap, group, topics)
            prefix = name.upper().replace("-", "_")
            process_env = {**env, "CC_CONSUMER_GROUP": group, f"{prefix}_HTTP_PORT": str(port)}
            processes.append(ServiceProcess(name, port, logs / f"{name}.log", process_env).start())
        for process in processes:
            process.wait_ready()
        posted: dict[str, float] = {}
        for i in range(storms):
            service = f"bench-{run}-{i}"
            now = datetime.now(UTC).isoformat()
            alerts = [
                {
                    "labels": {
                        "alertname": f"BenchStorm{run}",
                        "service": service,
                        "namespace": f"ns-{run}",
                        "env": "staging",
                        "severity": "critical",
                        "pod": f"{service}-{a}",
                    },
                    "startsAt": now,
                }
                for a in range(size)
            ]
            posted[service] = time.time()
            if via_am:
                r = httpx.post(
                    f"{endpoints.alertmanager_url}/api/v2/alerts", json=alerts, timeout=10
                )
            else:
                r = httpx.post(
                    f"http://127.0.0.1:{ingest_port}/webhooks/alertmanager",
                    json=am_payload(alerts),
                    timeout=10,
                    headers={"Authorization": f"Bearer {AM_TOKEN}"},
                )
            r.raise_for_status()
            time.sleep(0.5)  # storms one after another, as separate incidents arrive
        deadline = time.monotonic() + 60
        while len(watcher.plan.keys() & posted.keys()) < storms and time.monotonic() < deadline:
            time.sleep(0.2)  # the watcher thread fills in as plans land on Kafka
    finally:
        watcher.close()
        for process in processes:
            process.stop()
    planned = [s for s in posted if s in watcher.plan]
    from_alert = [watcher.plan[s] - posted[s] for s in planned]
    from_anomaly = [watcher.plan[s] - watcher.anomaly[s] for s in planned if s in watcher.anomaly]
    return {
        "via": "alertmanager" if via_am else "webhook",
        "storms": storms,
        "storm_size": size,
        "planned": len(planned),
        "alert_to_plan_p50_s": round(percentile(from_alert, 0.5), 3) if from_alert else None,
        "alert_to_plan_p99_s": round(percentile(from_alert, 0.99), 3) if from_alert else None,
        "anomaly_to_plan_p50_s": round(percentile(from_anomaly, 0.5), 3) if from_anomaly else None,
        "anomaly_to_plan_p99_s": round(percentile(from_anomaly, 0.99), 3) if from_anomaly else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--alerts", type=int, default=250)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--storms", type=int, default=30)
    parser.add_argument("--storm-size", type=int, default=20)
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"throughput": throughput(args.services, args.alerts, args.runs)}
    if not args.skip_e2e:
        result["latency"] = latency(args.storms, args.storm_size)
    t = result["throughput"]
    print(f"{'path':<14}{'events/s':>12}")
    print(f"{'passthrough':<14}{t['passthrough_events_per_s']:>12}   (decode + encode)")
    print(f"{'decode only':<14}{t['decode_only_events_per_s']:>12}")
    print(f"{'planner':<14}{t['planner_events_per_s']:>12}   ratio {t['ratio']}")
    print(f"({t['events']} events, {t['services']} services, {t['outputs']} events out)")
    if "latency" in result:
        lat = result["latency"]
        print(
            f"\nfirst alert -> RemediationPlanned ({lat['planned']}/{lat['storms']} storms, "
            f"via {lat['via']}): p50 {lat['alert_to_plan_p50_s']} s, "
            f"p99 {lat['alert_to_plan_p99_s']} s"
        )
        print(
            f"anomaly -> RemediationPlanned: p50 {lat['anomaly_to_plan_p50_s']} s, "
            f"p99 {lat['anomaly_to_plan_p99_s']} s (target p99 <= 2 s)"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
