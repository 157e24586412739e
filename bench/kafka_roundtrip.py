"""Kafka round trip: the project's confluent ConsumerLoop vs a faust-streaming agent, same work.

    uv run python bench/kafka_roundtrip.py [--messages N] [--runs R] [--rate MSGS_PER_S]

Per run and path: fresh topics A and B; a relay process (the path under test) consumes A,
decodes each AlertReceived, re-encodes it and produces it to B. This process produces N
pre-built events into A with the project's `EventProducer` (send time kept in a side dict keyed
by event id, which is also the message key) and reads B with a plain confluent-kafka consumer
(receive time - send time per message; throughput = N / (last receipt - first send)).

Both relays run as child processes, so each path gets the same layout: producer + measuring
consumer here, relay in its own interpreter. Paths alternate order run by run. Every wait has a
deadline; a relay that does not stop on SIGTERM is killed. Results go to stdout (a table and a
one-line JSON summary); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

PATHS = ("confluent", "faust")
PARTITIONS = 1
CODEC = "cc-avro"
WARMUP_TIMEOUT_S = 90.0
STOP_GRACE_S = 20.0
SOURCE_PRODUCER_CONFIG = {"compression.type": "none"}


def say(message: str) -> None:
    """One progress line on stderr."""
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------- relays (children)


def relay_confluent(args: argparse.Namespace) -> None:
    """The project's path: ConsumerLoop + per-event handler returning an Outgoing to the sink."""
    from prometheus_client import CollectorRegistry

    from cc.events import SingleObjectSerde
    from cc.kafka import ConsumerLoop, ConsumerMetrics, EventProducer, LoopConfig, Outgoing
    from cc.kafka.consumer import Received

    serde = SingleObjectSerde()
    producer = EventProducer(args.bootstrap, serde, client_id="bench-relay")

    def handler(item: Received) -> list[Outgoing]:
        return [Outgoing(args.sink, item.key, item.event, cause=item)]

    config = LoopConfig(
        service="bench-relay",
        group_id=args.group,
        topics=[args.source],
        dead_letter_topic=f"{args.sink}-dlq",
        bootstrap=args.bootstrap,
    )
    if args.poll_timeout is not None:
        config.poll_timeout = args.poll_timeout
    loop = ConsumerLoop(
        config,
        serde,
        producer,
        handler=handler,
        metrics=ConsumerMetrics(CollectorRegistry()),
    )
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    signal.signal(signal.SIGINT, lambda *_: loop.stop())
    try:
        loop.run()
    finally:
        producer.close(timeout=5)


def relay_faust(args: argparse.Namespace) -> None:
    """The same work as a faust agent: decode with the cc-avro codec, re-send to the sink."""
    import faust

    from cc.events import SingleObjectSerde
    from cc.kafka.faust_support import register_codec, trace_context, traced_headers

    register_codec(SingleObjectSerde(), name=CODEC)
    app = faust.App(
        args.group,
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        topic_partitions=PARTITIONS,
        web_enabled=False,
    )
    source_topic = app.topic(args.source, key_type=bytes, value_serializer=CODEC)
    sink_topic = app.topic(args.sink, key_type=bytes, value_serializer=CODEC)

    @app.agent(source_topic)
    async def relay(stream: Any) -> None:
        async for event in stream.events():
            await sink_topic.send(
                key=event.key, value=event.value, headers=traced_headers(trace_context(event))
            )

    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


def run_relay(args: argparse.Namespace) -> int:
    """Child entry point; SIGALRM ends it even if the parent vanished."""
    signal.alarm(int(args.max_seconds))
    relay = relay_confluent if args.role == "confluent" else relay_faust
    relay(args)
    return 0


# --------------------------------------------------------------------------- measuring side


class SinkReader:
    """A plain confluent-kafka consumer on topic B, noting when each key first arrives."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        self.topic = topic
        self.received: dict[str, float] = {}
        self.duplicates = 0
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        self._thread = threading.Thread(target=self._run, name="sink-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._consumer.subscribe([self.topic])
        try:
            while not self._stop.is_set():
                messages = self._consumer.consume(1000, 0.05)
                now = time.perf_counter()
                for msg in messages:
                    if msg.error() is not None:
                        continue
                    key = (msg.key() or b"").decode()
                    if key in self.received:
                        self.duplicates += 1
                    else:
                        self.received[key] = now
        finally:
            self._consumer.close()

    def wait_for(
        self, keys: set[str] | list[str], deadline: float, relay: subprocess.Popen[bytes]
    ) -> bool:
        """Until every key arrived (True), the deadline passed or the relay died (False)."""
        missing = set(keys)
        while True:
            missing = {k for k in missing if k not in self.received}
            if not missing:
                return True
            if time.monotonic() >= deadline or relay.poll() is not None:
                return False
            time.sleep(0.05)

    def close(self) -> None:
        """Stop the reader thread (bounded)."""
        self._stop.set()
        self._thread.join(timeout=10)


@dataclass
class RunResult:
    """One path, one run."""

    path: str
    run: int
    sent: int
    received: int
    duplicates: int
    complete: bool
    msgs_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    seconds: float
    produced_s: float
    """First send to the last broker acknowledgement on topic A (the source's own pace)."""
    relay_stop_s: float


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


def build_events(tag: str, count: int) -> list[Any]:
    """Distinct AlertReceived events (distinct fingerprints, hence event ids)."""
    from cc.testing.events import alert

    return [alert(f"Bench{i % 50}", fingerprint=f"{tag}{i:08x}") for i in range(count)]


def start_relay(
    path: str,
    bootstrap: str,
    source: str,
    sink: str,
    group: str,
    log: Path,
    max_seconds: float,
    extra: list[str],
) -> subprocess.Popen[bytes]:
    """The relay child for `path`, its output in `log`."""
    cmd = [
        sys.executable,
        __file__,
        "--role",
        path,
        "--bootstrap",
        bootstrap,
        "--source",
        source,
        "--sink",
        sink,
        "--group",
        group,
        "--max-seconds",
        str(int(max_seconds)),
        *extra,
    ]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_relay(proc: subprocess.Popen[bytes]) -> float:
    """SIGTERM, then SIGKILL after the grace period; returns the seconds it took to stop."""
    started = time.monotonic()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            say(f"relay pid {proc.pid} ignored SIGTERM for {STOP_GRACE_S:.0f}s: killing it")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return time.monotonic() - started


def tail(log: Path, lines: int = 15) -> str:
    """The end of a relay's log."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def delete_topics(bootstrap: str, suffix: str) -> None:
    """Best effort: remove this run's topics (A, B, dead letters, faust's internal ones)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 4})
    try:
        names = [t for t in admin.list_topics(timeout=10).topics if suffix in t]
        if names:
            for future in admin.delete_topics(names, operation_timeout=10).values():
                future.result(timeout=15)
    except Exception as exc:  # noqa: BLE001 - cleanup must not fail the bench
        say(f"could not delete topics of {suffix}: {exc}")


def one_run(
    path: str, run: int, args: argparse.Namespace, bootstrap: str, producer: Any, logdir: Path
) -> RunResult:
    """Fresh topics for one run of one path, always deleted afterwards."""
    from cc.kafka import ensure_topics

    suffix = f"{path[0]}{run}-{uuid.uuid4().hex[:8]}"
    source, sink = f"bench-rt-{suffix}-a", f"bench-rt-{suffix}-b"
    try:
        ensure_topics(bootstrap, {source: PARTITIONS, sink: PARTITIONS, f"{sink}-dlq": 1})
        return measure(path, run, args, bootstrap, producer, logdir / f"{path}-{run}.log", suffix)
    finally:
        delete_topics(bootstrap, suffix)


def measure(
    path: str,
    run: int,
    args: argparse.Namespace,
    bootstrap: str,
    producer: Any,
    log: Path,
    suffix: str,
) -> RunResult:
    """Start the relay, warm up, send N, wait for N on B (bounded), stop the relay."""
    source, sink = f"bench-rt-{suffix}-a", f"bench-rt-{suffix}-b"
    events = build_events(uuid.uuid4().hex[:8], args.messages)
    warmup = build_events(f"warmup{suffix}", 1)[0]
    sent: dict[str, float] = {}
    first = time.perf_counter()
    complete = False
    produced_s = 0.0
    reader = SinkReader(bootstrap, sink, f"bench-reader-{suffix}")
    relay: subprocess.Popen[bytes] | None = None
    try:
        budget = WARMUP_TIMEOUT_S + args.timeout + 60
        extra = [] if args.poll_timeout is None else ["--poll-timeout", str(args.poll_timeout)]
        group = f"bench-{suffix}"
        relay = start_relay(path, bootstrap, source, sink, group, log, budget, extra)
        # untimed: the relay joins its group and relays one event before the clock starts
        producer.produce(source, warmup.metadata.event_id, warmup)
        deadline = time.monotonic() + WARMUP_TIMEOUT_S
        if not reader.wait_for([warmup.metadata.event_id], deadline, relay):
            raise RuntimeError(f"{path} relay did not relay the warm-up event; log:\n{tail(log)}")
        interval = 1.0 / args.rate if args.rate > 0 else 0.0
        first = time.perf_counter()
        for i, event in enumerate(events):
            if interval and (delay := first + i * interval - time.perf_counter()) > 0:
                time.sleep(delay)
            key = event.metadata.event_id
            sent[key] = time.perf_counter()
            producer.produce(source, key, event)
        producer.flush(30)
        produced_s = time.perf_counter() - first
        complete = reader.wait_for(list(sent), time.monotonic() + args.timeout, relay)
        if not complete and relay.poll() is not None:
            say(f"{path} relay exited with {relay.returncode}; log:\n{tail(log)}")
    finally:
        stop_s = stop_relay(relay) if relay is not None else 0.0
        reader.close()
    arrivals = {k: reader.received[k] for k in sent if k in reader.received}
    latencies = sorted((arrivals[k] - sent[k]) * 1000 for k in arrivals)
    seconds = max((max(arrivals.values()) if arrivals else first) - first, 1e-9)
    result = RunResult(
        path=path,
        run=run,
        sent=len(sent),
        received=len(arrivals),
        duplicates=reader.duplicates,
        complete=complete,
        msgs_per_s=len(arrivals) / seconds if arrivals else 0.0,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=latencies[-1] if latencies else 0.0,
        seconds=seconds,
        produced_s=produced_s,
        relay_stop_s=stop_s,
    )
    say(
        f"run {run} {path}: {result.received}/{result.sent} in {seconds:.2f}s = "
        f"{result.msgs_per_s:,.0f} msg/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
        f"{'' if complete else ' (TIMED OUT)'}; all in A after {produced_s:.2f}s; "
        f"relay stopped in {stop_s:.1f}s"
    )
    return result


def versions() -> dict[str, str]:
    """What the figures were measured with."""
    from importlib.metadata import version

    import confluent_kafka

    return {
        "python": platform.python_version(),
        "confluent_kafka": version("confluent-kafka"),
        "librdkafka": confluent_kafka.libversion()[0],
        "faust_streaming": version("faust-streaming"),
        "aiokafka": version("aiokafka"),
        "mode_streaming": version("mode-streaming"),
        "cpus": str(os.cpu_count()),
    }


def summarise(results: list[RunResult]) -> dict[str, dict[str, Any]]:
    """Median over runs, per path."""
    summary: dict[str, dict[str, Any]] = {}
    for path in PATHS:
        rows = [r for r in results if r.path == path]
        if not rows:
            continue
        summary[path] = {
            "msgs_per_s": statistics.median(r.msgs_per_s for r in rows),
            "p50_ms": statistics.median(r.p50_ms for r in rows),
            "p99_ms": statistics.median(r.p99_ms for r in rows),
            "received": min(r.received for r in rows),
            "complete_runs": sum(r.complete for r in rows),
            "runs": len(rows),
        }
    return summary


def print_report(args: argparse.Namespace, results: list[RunResult], info: dict[str, str]) -> None:
    """The table, the conditions and the one-line JSON summary (stdout)."""
    from cc.kafka import LoopConfig

    summary = summarise(results)
    lines = [
        "",
        f"{'path':<10} | {'messages/s':>10} | {'p50 ms':>8} | {'p99 ms':>8} | received (min)",
        f"{'-' * 10}-+-{'-' * 10}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 15}",
    ]
    for path, s in summary.items():
        note = (
            ""
            if s["complete_runs"] == s["runs"]
            else f"  ({s['runs'] - s['complete_runs']} run(s) timed out)"
        )
        lines.append(
            f"{path:<10} | {s['msgs_per_s']:>10,.0f} | {s['p50_ms']:>8.1f} | {s['p99_ms']:>8.1f} | "
            f"{s['received']}/{args.messages}{note}"
        )
    ratio = None
    if "confluent" in summary and "faust" in summary and summary["faust"]["msgs_per_s"] > 0:
        ratio = summary["confluent"]["msgs_per_s"] / summary["faust"]["msgs_per_s"]
        lines.append(f"throughput ratio confluent/faust: {ratio:.1f}x")
    poll = LoopConfig.poll_timeout if args.poll_timeout is None else args.poll_timeout
    load = "as fast as possible" if args.rate <= 0 else f"paced at {args.rate:g} msg/s"
    lines += [
        "",
        f"median of {args.runs} runs per path, N={args.messages} AlertReceived events per run "
        f"({load}), {PARTITIONS} partition per topic, order alternating per run",
        "conditions: " + ", ".join(f"{k} {v}" for k, v in info.items()),
        f"confluent relay: ConsumerLoop batch_size 500, poll_timeout {poll}s, EventProducer "
        "defaults (idempotent, acks=all, linger 5 ms, lz4); faust relay: App defaults "
        "(acks=-1, no linger, no compression, commit every 2.8 s); source topic uncompressed",
        "",
    ]
    sys.stdout.write("\n".join(lines))
    record = {
        "bench": "kafka_roundtrip",
        "messages": args.messages,
        "runs": args.runs,
        "rate": args.rate,
        "poll_timeout": poll,
        "partitions": PARTITIONS,
        "summary": summary,
        "ratio_confluent_over_faust": ratio,
        "versions": info,
        "results": [asdict(r) for r in results],
    }
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run as the benchmark or (internally) as one relay child."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="events per run and path")
    parser.add_argument("--runs", type=int, default=3, help="runs per path (median reported)")
    parser.add_argument("--rate", type=float, default=0.0, help="msg/s to send at (0: burst)")
    parser.add_argument("--timeout", type=float, default=45.0, help="s to wait for N on B")
    parser.add_argument(
        "--poll-timeout",
        type=float,
        default=None,
        help="ConsumerLoop poll_timeout in s (default: LoopConfig's)",
    )
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated subset")
    # internal: the relay child
    parser.add_argument("--role", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", default="127.0.0.1:19092", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--sink", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument("--max-seconds", type=float, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role:
        return run_relay(args)

    from cc.events import SingleObjectSerde
    from cc.kafka import EventProducer
    from cc.testing.infra import up

    paths = [p for p in args.paths.split(",") if p in PATHS]
    bootstrap = up(["kafka"]).kafka_bootstrap
    info = versions()
    say(f"kafka at {bootstrap}; {args.runs} run(s) x {paths}, N={args.messages}")
    # the source topic is written uncompressed, so both relays read exactly the same bytes
    producer = EventProducer(
        bootstrap, SingleObjectSerde(), client_id="bench-source", config=SOURCE_PRODUCER_CONFIG
    )
    results: list[RunResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="kafka-roundtrip-") as tmp:
            for run in range(args.runs):
                order = paths if run % 2 == 0 else paths[::-1]
                for path in order:
                    try:
                        results.append(one_run(path, run, args, bootstrap, producer, Path(tmp)))
                    except Exception as exc:  # noqa: BLE001 - report it, go on with the others
                        say(f"run {run} {path} failed: {type(exc).__name__}: {exc}")
    finally:
        producer.close(timeout=10)
    print_report(args, results, info)
    return 0 if results else 1


if __name__ == "__main__":
    raise SystemExit(main())
