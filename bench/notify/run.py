"""Notifier delivery benchmark: the project's senders beside a plain httpx.Client.post loop.

    uv run python bench/notify/run.py [--latency-n 2000] [--messages 10000] [--workers 8]

Starts the local Slack, PagerDuty and Teams stand-ins (child processes by default) with their
rate limits raised far above the load, and 50 destinations: 40 Slack webhooks, 5 PagerDuty
routing keys, 5 Teams webhooks (`--mix slack` makes all 50 Slack webhooks). Then:

- latency: N sequential deliveries, round-robin over the destinations, through the raw senders,
  through the throttled senders (what `notifier.main.sender_for` builds) and through a plain
  `httpx.Client.post` loop, interleaved delivery by delivery -> p50/p99 ms;
- throughput: M notifications round-robin over the 50 destinations, pulled by a pool of W
  threads, through the throttled senders vs the httpx loop -> notifications/s (median of R runs).

Every phase starts from a reset server state and ends by checking that each destination received
exactly what was sent to it, that nothing was refused and that nothing was retried or throttled.
Progress goes to stderr; a table and one JSON line go to stdout.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import platform
import selectors
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from cc.testing.fake_pagerduty import ENQUEUE_PATH, FakePagerDuty
from cc.testing.fake_slack import FakeSlack
from cc.testing.fake_teams import FakeTeams
from cc.testing.local_server import Reply
from notifier.adapters.pagerduty import PagerDutyEventsSender
from notifier.adapters.slack import SlackWebhookSender
from notifier.adapters.teams import TeamsWebhookSender
from notifier.domain.messages import incident_opened_message
from notifier.domain.pagerduty_events import trigger_event
from notifier.domain.teams_cards import incident_card
from notifier.domain.token_bucket import TokenBucket
from notifier.ports import ChatSender, Delivery
from notifier.throttle import ThrottledSender

# Far above anything this bench can send: nothing is ever rate-limited, on either side.
SERVER_LIMIT = 1_000_000_000
THROTTLE_RATE_PER_S = 1e9
# The notifier's defaults (notifier.config.Settings): 5 attempts, 10 s timeout.
MAX_ATTEMPTS, TIMEOUT_S = 5, 10.0
DESTINATIONS = 50


def say(message: str) -> None:
    sys.stderr.write(f"[bench/notify] {message}\n")
    sys.stderr.flush()


# --- destinations and payloads ---------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    name: str
    type: str  # slack | pagerduty | teams
    key: str  # Slack/Teams webhook path, or PagerDuty routing key


def destinations(mix: str) -> list[Destination]:
    slack_n = DESTINATIONS if mix == "slack" else 40
    other_n = (DESTINATIONS - slack_n) // 2
    dests = [
        Destination(f"slack-{i:02d}", "slack", f"/services/TBENCH/B{i:04d}/benchsecret{i:04d}")
        for i in range(slack_n)
    ]
    dests += [
        Destination(f"pagerduty-{i:02d}", "pagerduty", f"benchroutingkey{i:017d}")
        for i in range(other_n)
    ]
    dests += [
        Destination(
            f"teams-{i:02d}", "teams", f"/workflows/bench{i:04d}/triggers/manual/paths/invoke"
        )
        for i in range(DESTINATIONS - slack_n - other_n)
    ]
    return dests


SEVERITIES = ("critical", "high", "warning")
SERVICES = ("checkout", "payments", "search", "catalog", "auth", "inventory")


def payload_for(dest: Destination, n: int) -> dict[str, Any]:
    """The payload the notifier builds for an opened incident, for destination `dest`."""
    incident_id = f"inc-2026-11-26-{n:06d}"
    severity, service = SEVERITIES[n % 3], SERVICES[n % len(SERVICES)]
    title = f"{service}: error rate above 5% for 10 minutes (p99 latency 2.4 s)"
    where = {"environment": "prod", "cluster": "prod-eu-1", "namespace": "shop", "service": service}
    plan = f"roll back {service} to v1.41.{n % 7} (suspect deploy 14 minutes before onset)"
    if dest.type == "slack":
        return incident_opened_message(
            incident_id=incident_id, title=title, severity=severity, where=where, plan_hint=plan
        )
    links = {
        "Approve or reject the plan": f"https://cc.example.internal/approvals/{incident_id}",
        "Trace": f"https://grafana.example.internal/explore?trace={n:032x}",
        "Audit": f"https://cc.example.internal/audit/{incident_id}",
    }
    if dest.type == "pagerduty":
        return trigger_event(
            dest.key,
            incident_id=incident_id,
            summary=title,
            source=f"{service}.shop.prod-eu-1",
            severity=severity,
            component=service,
            group="shop",
            event_class="error_rate",
            timestamp="2026-11-26T11:05:58Z",
            suspect_deploy={"service": service, "version": f"v1.42.{n % 7}"},
            plan={"action": "rollback", "target": f"v1.41.{n % 7}"},
            evidence={"error_rate": 0.071, "p99_ms": 2400},
            approval_url=links["Approve or reject the plan"],
            trace_url=links["Trace"],
            audit_url=links["Audit"],
        )
    return incident_card(
        incident_id=incident_id,
        title=title,
        severity=severity,
        where=where,
        since="2026-11-26T11:05:58Z",
        suspect_deploy=f"{service} v1.42.{n % 7}",
        plan=plan,
        gate="approval required",
        links=links,
    )


def workload(dests: list[Destination], count: int, start: int) -> list[tuple[int, dict[str, Any]]]:
    """`count` (destination index, payload) pairs, round-robin over the destinations."""
    return [(i % len(dests), payload_for(dests[i % len(dests)], start + i)) for i in range(count)]


# --- the local servers ------------------------------------------------------------------------


def _quiet(cls: type[Any]) -> type[Any]:
    """The stand-in without its per-request JSON log line (in-process mode only)."""

    def handle(self: Any, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        return replace(cls.handle(self, method, path, headers, raw), log=None)

    return type(f"Quiet{cls.__name__}", (cls,), {"handle": handle})


class Servers:
    """The three stand-ins, in child processes (default) or in this process's threads."""

    def __init__(self, dests: list[Destination], mode: str, timeout: float) -> None:
        self.dests, self.mode, self.timeout = dests, mode, timeout
        self.slack_paths = [d.key for d in dests if d.type == "slack"]
        self.teams_paths = [d.key for d in dests if d.type == "teams"] or ["/workflows/unused"]
        self._procs: list[subprocess.Popen[bytes]] = []
        self._local: dict[str, Any] = {}
        self.urls: dict[str, str] = {}
        self._http = httpx.Client(timeout=timeout)

    def start(self) -> None:
        if self.mode == "thread":
            self._local = {
                "slack": _quiet(FakeSlack)(
                    webhook_paths=self.slack_paths, burst=SERVER_LIMIT, rate_per_s=SERVER_LIMIT
                ),
                "pagerduty": _quiet(FakePagerDuty)(events_per_minute=SERVER_LIMIT),
                "teams": _quiet(FakeTeams)(
                    webhook_paths=self.teams_paths, requests_per_s=SERVER_LIMIT
                ),
            }
            for kind, server in self._local.items():
                self.urls[kind] = server.start().base_url
            return
        limit = str(SERVER_LIMIT)
        commands = {
            "slack": [
                *("cc.testing.fake_slack", "--webhook-paths", *self.slack_paths),
                *("--burst", limit, "--rate-per-s", limit),
            ],
            "pagerduty": ["cc.testing.fake_pagerduty", "--events-per-minute", limit],
            "teams": [
                *("cc.testing.fake_teams", "--webhook-paths", *self.teams_paths),
                *("--requests-per-s", limit),
            ],
        }
        for kind, args in commands.items():
            # The stand-ins log one JSON line per request on stderr: dropped here.
            proc = subprocess.Popen(
                [sys.executable, "-m", *args, "--port", "0"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._procs.append(proc)
            self.urls[kind] = self._ready_url(proc, kind)

    def _ready_url(self, proc: subprocess.Popen[bytes], kind: str) -> str:
        """The URL from the child's ready line, read with a deadline."""
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(self.timeout):
                raise TimeoutError(f"fake {kind} printed no ready line in {self.timeout}s")
        return str(json.loads(proc.stdout.readline())["url"])

    def stop(self) -> None:
        self._http.close()
        for server in self._local.values():
            server.stop()
        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def url_of(self, dest: Destination) -> str:
        if dest.type == "pagerduty":
            return self.urls["pagerduty"]
        return self.urls[dest.type] + dest.key

    def reset(self) -> None:
        for kind in self.urls:
            if self._local:
                self._local[kind].reset()
            else:
                self._http.post(self.urls[kind] + "/_test/reset").raise_for_status()

    def _view(self, kind: str, view: str) -> list[dict[str, Any]]:
        if self._local:
            name = "events" if view == "received" and kind == "pagerduty" else view
            return list(getattr(self._local[kind], name)())
        if view == "received" and kind == "pagerduty":
            view = "events"
        response = self._http.get(f"{self.urls[kind]}/_test/{view}")
        response.raise_for_status()
        return list(response.json())

    def received(self) -> tuple[collections.Counter[str], int]:
        """Accepted messages per destination name, and how many requests were refused."""
        by_key = {d.key: d.name for d in self.dests}
        got: collections.Counter[str] = collections.Counter()
        for kind in ("slack", "teams"):
            got.update(by_key[r["path"]] for r in self._view(kind, "received"))
        got.update(by_key[e["json"]["routing_key"]] for e in self._view("pagerduty", "received"))
        refused = sum(len(self._view(kind, "rejected")) for kind in self.urls)
        return got, refused


# --- the two ways of delivering ----------------------------------------------------------------


@dataclass
class CountingBucket(TokenBucket):
    """The project's token bucket, counting the times it asked the sender to wait."""

    waits: int = field(init=False, default=0)

    def take(self, now: float) -> float:
        wait = super().take(now)
        self.waits += wait > 0
        return wait


def raw_sender(dest: Destination, servers: Servers) -> ChatSender:
    """The destination's sender as `notifier.main.sender_for` builds it, before the throttle."""
    url = servers.url_of(dest)
    if dest.type == "pagerduty":
        return PagerDutyEventsSender(url, max_attempts=MAX_ATTEMPTS, timeout=TIMEOUT_S)
    if dest.type == "teams":
        return TeamsWebhookSender(url, max_attempts=MAX_ATTEMPTS, timeout=TIMEOUT_S)
    return SlackWebhookSender(url, max_attempts=MAX_ATTEMPTS, timeout=TIMEOUT_S)


class ProjectPath:
    """One sender per destination (throttled or not); a delivery must be delivered at once."""

    def __init__(self, dests: list[Destination], servers: Servers, *, throttled: bool) -> None:
        self.buckets = [CountingBucket(THROTTLE_RATE_PER_S, THROTTLE_RATE_PER_S) for _ in dests]
        self.raw = [raw_sender(d, servers) for d in dests]
        self.senders: list[ChatSender] = (
            [ThrottledSender(s, b) for s, b in zip(self.raw, self.buckets, strict=True)]
            if throttled
            else list(self.raw)
        )
        self.retried = 0

    def deliver(self, dest: int, payload: dict[str, Any]) -> None:
        delivery: Delivery = self.senders[dest].send(payload)
        if not delivery.delivered:
            raise RuntimeError(f"not delivered: {delivery.response}")
        if delivery.attempts != 1:
            self.retried += 1

    def throttle_waits(self) -> int:
        return sum(b.waits for b in self.buckets)

    def close(self) -> None:
        for sender in self.raw:
            sender._http.close()  # type: ignore[attr-defined]


OK_STATUS = {"slack": 200, "pagerduty": 202, "teams": 202}
ENQUEUE = {"slack": "", "pagerduty": ENQUEUE_PATH, "teams": ""}


class HttpxPath:
    """The baseline: one httpx.Client per destination posting the same payloads as JSON."""

    def __init__(self, dests: list[Destination], servers: Servers) -> None:
        # The sender adds /v2/enqueue to PagerDuty's base URL; the baseline posts there too.
        self.urls = [servers.url_of(d) + ENQUEUE[d.type] for d in dests]
        self.ok = [OK_STATUS[d.type] for d in dests]
        self.clients = [httpx.Client(timeout=TIMEOUT_S) for _ in dests]
        self.retried = 0

    def deliver(self, dest: int, payload: dict[str, Any]) -> None:
        response = self.clients[dest].post(self.urls[dest], json=payload)
        if response.status_code != self.ok[dest]:
            raise RuntimeError(f"not delivered: HTTP {response.status_code} {response.text[:200]}")

    def throttle_waits(self) -> int:
        return 0

    def close(self) -> None:
        for client in self.clients:
            client.close()


Path = ProjectPath | HttpxPath


@contextmanager
def checked(
    servers: Servers, dests: list[Destination], expected: collections.Counter[str], what: str
) -> Iterator[None]:
    """Reset the servers, run the phase, then check every destination got exactly `expected`."""
    servers.reset()
    yield
    got, refused = servers.received()
    if got != expected or refused:
        diff = {
            d.name: (expected[d.name], got[d.name])
            for d in dests
            if got[d.name] != expected[d.name]
        }
        raise AssertionError(f"{what}: refused={refused}, sent vs received differ: {diff}")
    say(f"{what}: servers received {sum(got.values())}/{sum(expected.values())}, refused 0")


def per_dest(
    dests: list[Destination], work: list[tuple[int, dict[str, Any]]], times: int
) -> collections.Counter[str]:
    counts = collections.Counter(dests[i].name for i, _ in work)
    return collections.Counter({name: n * times for name, n in counts.items()})


# --- phases ----------------------------------------------------------------------------------


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def latency_phase(
    dests: list[Destination], servers: Servers, n: int, deadline_s: float
) -> dict[str, Any]:
    """N sequential deliveries per path, interleaved so every path sees the same conditions."""
    paths: dict[str, Path] = {
        "senders": ProjectPath(dests, servers, throttled=False),
        "senders+throttle": ProjectPath(dests, servers, throttled=True),
        "httpx": HttpxPath(dests, servers),
    }
    warm = workload(dests, len(dests), start=900_000)  # one per destination: opens connections
    work = workload(dests, n, start=0)
    samples: dict[str, list[float]] = {name: [] for name in paths}
    by_type: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    expected = per_dest(dests, warm + work, times=len(paths))
    names = list(paths)
    try:
        with checked(servers, dests, expected, "latency"):
            for dest, payload in warm:
                for path in paths.values():
                    path.deliver(dest, payload)
            deadline = time.monotonic() + deadline_s
            for i, (dest, payload) in enumerate(work):
                for k in range(len(names)):  # rotate the order so none always goes first
                    name = names[(i + k) % len(names)]
                    started = time.perf_counter_ns()
                    paths[name].deliver(dest, payload)
                    ms = (time.perf_counter_ns() - started) / 1e6
                    samples[name].append(ms)
                    by_type[name, dests[dest].type].append(ms)
                if (i + 1) % max(1, n // 5) == 0:
                    say(f"latency: {i + 1}/{n} deliveries per path")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"latency phase exceeded {deadline_s}s at {i + 1}/{n}")
        for name, path in paths.items():
            if path.retried or path.throttle_waits():
                raise AssertionError(f"{name}: {path.retried} retried, throttle waited")
    finally:
        for path in paths.values():
            path.close()
    out: dict[str, Any] = {}
    for name, values in samples.items():
        out[name] = {
            "n": len(values),
            "p50_ms": round(statistics.median(values), 3),
            "p99_ms": round(pct(values, 99), 3),
            "mean_ms": round(statistics.fmean(values), 3),
            "by_type": {
                kind: {
                    "n": len(by_type[name, kind]),
                    "p50_ms": round(statistics.median(by_type[name, kind]), 3),
                    "p99_ms": round(pct(by_type[name, kind], 99), 3),
                }
                for kind in ("slack", "pagerduty", "teams")
                if len(by_type[name, kind]) > 1
            },
        }
    return out


def pump(
    path: Path, work: list[tuple[int, dict[str, Any]]], workers: int, deadline_s: float
) -> float:
    """Deliver `work` with `workers` threads pulling the next item; seconds taken."""
    counter = itertools.count()
    lock = threading.Lock()
    done = [0]
    deadline = time.monotonic() + deadline_s
    step = max(1, len(work) // 4)

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                i = next(counter)
            if i >= len(work):
                return
            path.deliver(*work[i])
            with lock:
                done[0] += 1
                if done[0] % step == 0:
                    say(f"  {done[0]}/{len(work)}")

    started = time.perf_counter()
    with ThreadPoolExecutor(workers, thread_name_prefix="notify") as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()  # re-raises a failed delivery
    elapsed = time.perf_counter() - started
    if done[0] != len(work):
        raise TimeoutError(f"delivered {done[0]}/{len(work)} within {deadline_s}s")
    return elapsed


def throughput_phase(
    dests: list[Destination],
    servers: Servers,
    messages: int,
    workers: int,
    runs: int,
    deadline_s: float,
) -> dict[str, Any]:
    """M notifications over the destinations per path and run; paths alternate order."""
    work = workload(dests, messages, start=100_000)
    warm = workload(dests, len(dests), start=950_000)
    expected = per_dest(dests, warm + work, times=1)
    rates: dict[str, list[float]] = {"senders+throttle": [], "httpx": []}
    for run in range(runs):
        order = list(rates) if run % 2 == 0 else list(reversed(rates))
        for name in order:
            path: Path = (
                ProjectPath(dests, servers, throttled=True)
                if name != "httpx"
                else HttpxPath(dests, servers)
            )
            try:
                with checked(servers, dests, expected, f"throughput run {run + 1} {name}"):
                    for dest, payload in warm:  # untimed: one connection per destination
                        path.deliver(dest, payload)
                    say(f"throughput run {run + 1}/{runs}: {name}, {messages} notifications")
                    elapsed = pump(path, work, workers, deadline_s)
                if path.retried or path.throttle_waits():
                    raise AssertionError(f"{name}: {path.retried} retried, throttle waited")
            finally:
                path.close()
            rates[name].append(messages / elapsed)
            say(f"  {name}: {messages / elapsed:,.0f} notifications/s")
    return {
        name: {
            "median_per_s": round(statistics.median(r), 1),
            "runs_per_s": [round(x, 1) for x in r],
        }
        for name, r in rates.items()
    }


# --- main ------------------------------------------------------------------------------------


def conditions(args: argparse.Namespace, dests: list[Destination]) -> dict[str, Any]:
    kinds = collections.Counter(d.type for d in dests)
    return {
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "servers": args.servers,
        "destinations": dict(kinds),
        "server_limits": SERVER_LIMIT,
        "throttle_rate_per_s": THROTTLE_RATE_PER_S,
        "max_attempts": MAX_ATTEMPTS,
        "timeout_s": TIMEOUT_S,
        "latency_n": args.latency_n,
        "messages": args.messages,
        "workers": args.workers,
        "runs": args.runs,
    }


def report(cond: dict[str, Any], latency: dict[str, Any], throughput: dict[str, Any]) -> None:
    kinds = ", ".join(f"{n} {k}" for k, n in cond["destinations"].items())
    print(
        f"Python {cond['python']}, httpx {cond['httpx']}, {cond['cpus']} cores, "
        f"stand-ins in {cond['servers']} mode; {DESTINATIONS} destinations ({kinds})"
    )
    print(
        f"Not rate-limited: stand-in limits {SERVER_LIMIT:,}/window, sender throttle "
        f"{THROTTLE_RATE_PER_S:.0e}/s; checked: 0 refused, 0 retries, 0 throttle waits"
    )
    print()
    print(f"Latency, {cond['latency_n']} sequential deliveries per path (interleaved):")
    print(f"| {'path':<17} | {'p50 ms':>7} | {'p99 ms':>7} | {'mean ms':>7} | per type p50/p99 ms")
    print(f"|{'-' * 19}|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|{'-' * 20}")
    for name, row in latency.items():
        types = ", ".join(
            f"{k} {v['p50_ms']:.2f}/{v['p99_ms']:.2f}" for k, v in row["by_type"].items()
        )
        print(
            f"| {name:<17} | {row['p50_ms']:7.3f} | {row['p99_ms']:7.3f} | {row['mean_ms']:7.3f} | {types}"
        )
    print()
    print(
        f"Throughput, {cond['messages']} notifications over {DESTINATIONS} destinations, "
        f"{cond['workers']} threads, median of {cond['runs']} runs:"
    )
    print(f"| {'path':<17} | {'notifications/s':>15} | runs")
    print(f"|{'-' * 19}|{'-' * 16}:|{'-' * 30}")
    for name, row in throughput.items():
        runs = ", ".join(f"{x:,.0f}" for x in row["runs_per_s"])
        print(f"| {name:<17} | {row['median_per_s']:>15,.0f} | {runs}")
    ratio = throughput["senders+throttle"]["median_per_s"] / throughput["httpx"]["median_per_s"]
    lat_ratio = latency["senders+throttle"]["p50_ms"] / latency["httpx"]["p50_ms"]
    print()
    print(f"senders+throttle / httpx: throughput {ratio:.2f}x, p50 latency {lat_ratio:.2f}x")
    summary = {
        "bench": "notify",
        "conditions": cond,
        "latency": latency,
        "throughput": throughput,
        "throughput_ratio": round(ratio, 3),
        "p50_latency_ratio": round(lat_ratio, 3),
    }
    print(json.dumps(summary))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-n", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mix", choices=["mixed", "slack"], default="mixed")
    parser.add_argument("--servers", choices=["process", "thread"], default="process")
    parser.add_argument("--phase-timeout", type=float, default=180.0, help="seconds per phase")
    args = parser.parse_args(argv)
    if args.latency_n < 2 or args.messages < 1 or args.workers < 1 or args.runs < 1:
        parser.error("need --latency-n >= 2, --messages, --workers and --runs >= 1")
    dests = destinations(args.mix)
    cond = conditions(args, dests)
    say(f"conditions: {json.dumps(cond)}")
    servers = Servers(dests, args.servers, timeout=30.0)
    try:
        servers.start()
        say(f"servers up: {servers.urls}")
        latency = latency_phase(dests, servers, args.latency_n, args.phase_timeout)
        throughput = throughput_phase(
            dests, servers, args.messages, args.workers, args.runs, args.phase_timeout
        )
    finally:
        servers.stop()
    report(cond, latency, throughput)
    return 0


if __name__ == "__main__":
    sys.exit(main())
