"""Ingest benchmark: accepted alerts/s and latency of the ingestor beside a parse-only baseline.

    uv run python bench/ingest/run.py [--seconds 10] [--rate-alerts 2000]

Both servers run as uvicorn with one worker process on this machine, against the real local
Kafka (the ingestor waits for acks=all before each 202). Throughput: wrk (-t1 -c32) POSTs
Alertmanager payloads of 1, 10 and 100 alerts. Latency: a fixed-rate open-loop client (asyncio,
one request every 1/rate s, not waiting for answers) at the given alerts/s with 10-alert
payloads; p50/p99 over all requests. Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from cc.kafka.topics import SERVICES, all_topics, ensure_topics
from cc.testing import infra
from cc.testing.processes import ServiceProcess

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOKEN = "bench-token"
INGESTOR_PORT, NOOP_PORT = 18480, 18481
SIZES = (1, 10, 100)


def say(message: str) -> None:
    sys.stderr.write(f"[bench/ingest] {message}\n")
    sys.stderr.flush()


def payload(alerts: int) -> dict[str, Any]:
    """An Alertmanager v4 notification of `alerts` distinct firing alerts."""
    items = [
        {
            "status": "firing",
            "labels": {
                "alertname": "BenchAlert",
                "service": "checkout",
                "namespace": "shop",
                "severity": "warning",
                "pod": f"checkout-{i}",
                "cluster": "prod-eu-1",
            },
            "annotations": {"summary": f"bench alert {i}", "runbook_url": "https://runbooks/x"},
            "startsAt": "2026-11-26T11:05:58.482837889Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
            "fingerprint": f"{i:016x}",
        }
        for i in range(alerts)
    ]
    return {
        "version": "4",
        "receiver": "bench",
        "status": "firing",
        "alerts": items,
        "groupLabels": {"alertname": "BenchAlert"},
        "commonLabels": {"alertname": "BenchAlert"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:19095",
        "groupKey": '{}:{alertname="BenchAlert"}',
        "truncatedAlerts": 0,
    }


def start_noop(log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "noop_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(NOOP_PORT),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(cmd, cwd=HERE, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{NOOP_PORT}/docs", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)  # an outside process: nothing to wait on but its port
    raise TimeoutError("the baseline app did not start")


def wrk(url: str, body_file: Path, seconds: int) -> float:
    """Requests/s that wrk reached (every answer must be 202: non-2xx are counted and refused)."""
    env = {**os.environ, "BENCH_PAYLOAD": str(body_file), "BENCH_TOKEN": TOKEN}
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", "-s", str(HERE / "post.lua"), url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers during the run:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


async def fixed_rate(url: str, body: bytes, requests_per_s: float, seconds: float) -> list[float]:
    """Open-loop load: send on schedule whatever the answers do; latencies in ms."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def one() -> None:
            started = time.perf_counter()
            response = await client.post(url, content=body, headers=headers)
            if response.status_code != 202:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
            latencies.append((time.perf_counter() - started) * 1000)

        tasks = []
        start = time.perf_counter()
        total = int(requests_per_s * seconds)
        for i in range(total):
            await asyncio.sleep(max(0.0, start + i / requests_per_s - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate-alerts", type=float, default=2000.0)
    parser.add_argument("--workers", type=int, default=1, help="ingestor worker processes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (make bench does it)")
    endpoints = infra.up(["kafka"])
    ensure_topics(endpoints.kafka_bootstrap, all_topics(SERVICES))
    logs = ROOT / ".run" / "logs" / "bench"
    env = {
        "CC_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "INGESTOR_HTTP_PORT": str(INGESTOR_PORT),
        "INGESTOR_ALERTMANAGER_TOKEN": TOKEN,
        "INGESTOR_WORKERS": str(args.workers),
        "OTEL_TRACES_EXPORTER": "none",
        "CC_LOG_LEVEL": "WARNING",
    }
    ingestor = ServiceProcess("ingestor", INGESTOR_PORT, logs / "ingestor.log", env).start()
    noop = None
    results: dict[str, Any] = {"throughput": {}, "latency": {}}
    try:
        ingestor.wait_ready()
        noop = start_noop(logs / "noop.log")
        targets = {"ingestor": ingestor.url, "noop": f"http://127.0.0.1:{NOOP_PORT}"}
        with tempfile.TemporaryDirectory() as tmp:
            for size in SIZES:
                body = Path(tmp) / f"p{size}.json"
                body.write_text(json.dumps(payload(size)))
                for name, base in targets.items():  # warm-up, then the measured run
                    wrk(f"{base}/webhooks/alertmanager", body, 2)
                    rps = wrk(f"{base}/webhooks/alertmanager", body, args.seconds)
                    results["throughput"][f"{name}/{size}"] = rps * size
                    say(
                        f"{name:8} {size:>3} alerts/payload: {rps:8.0f} req/s = {rps * size:9.0f} alerts/s"
                    )
        body10 = json.dumps(payload(10)).encode()
        for name, base in targets.items():
            lat = asyncio.run(
                fixed_rate(
                    f"{base}/webhooks/alertmanager", body10, args.rate_alerts / 10, args.seconds
                )
            )
            results["latency"][name] = {
                "p50_ms": percentile(lat, 0.5),
                "p99_ms": percentile(lat, 0.99),
                "n": len(lat),
            }
            say(
                f"{name:8} at {args.rate_alerts:.0f} alerts/s: p50 {percentile(lat, 0.5):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms"
            )
    finally:
        ingestor.stop()
        if noop is not None:
            noop.terminate()
            noop.wait(10)
    report(results, args)
    return 0


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    t = results["throughput"]
    print("\nalerts/payload | ingestor alerts/s | no-op alerts/s | ratio")
    print("---------------+-------------------+----------------+------")
    for size in SIZES:
        i, n = t[f"ingestor/{size}"], t[f"noop/{size}"]
        print(f"{size:>14} | {i:>17,.0f} | {n:>14,.0f} | {i / n:.2f}")
    lat = results["latency"]
    print(f"(ingestor with {args.workers} worker process(es); the baseline with 1)")
    print(f"\nfixed rate {args.rate_alerts:.0f} alerts/s (10-alert payloads), {args.seconds}s:")
    for name in ("ingestor", "noop"):
        print(
            f"  {name:8} p50 {lat[name]['p50_ms']:.1f} ms  p99 {lat[name]['p99_ms']:.1f} ms  ({lat[name]['n']} requests)"
        )
    print(
        "targets: >= 20,000 alerts/s with 10-alert payloads, >= 0.7x no-op, p99 < 50 ms at 2,000 alerts/s"
    )
    print(json.dumps({"bench": "ingest", **results}))


if __name__ == "__main__":
    raise SystemExit(main())
