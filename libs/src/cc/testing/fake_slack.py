"""A stdlib Slack incoming-webhook stand-in enforcing contracts.md §5, for tests and `make run`."""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cc.testing.local_server import RecordingServer, Reply

DEFAULT_WEBHOOK_PATH = "/services/T000/B000/XXXXXXXX"
MAX_BLOCKS = 50
MAX_TEXT_CHARS = 40_000  # Slack truncates longer top-level text rather than rejecting it.
_SECRET = re.compile(r"^(/services/[^/]+/[^/]+/).+$")  # masked in logs


class WebhookError(Exception):
    """A Slack error answer: HTTP status, short text code, and why (for test diagnostics)."""

    def __init__(self, status: int, body: str, detail: str = "", retry_after: int = 0) -> None:
        super().__init__(f"{status} {body}: {detail}")
        self.status, self.body, self.detail, self.retry_after = status, body, detail, retry_after


# Per block type: (field, shape, max length or count, required), from contracts.md §5.4.
_BLOCK_LIMITS: dict[str, tuple[tuple[str, str, int, bool], ...]] = {
    "section": (("text", "text", 3000, False), ("fields", "list", 10, False)),
    "header": (("text", "plain_text", 150, True),),
    "markdown": (("text", "str", 12_000, True),),
    "context": (("elements", "list", 10, True),),
    "actions": (("elements", "list", 25, True),),
    "image": (("image_url", "str", 3000, False), ("alt_text", "str", 2000, True)),
}
_BLOCK_ID = ("block_id", "str", 255, False)  # allowed on every block type
KNOWN_BLOCK_TYPES = frozenset({*_BLOCK_LIMITS, "divider", "rich_text"})
_TEXT_OBJECT_TYPES = {"text": ("plain_text", "mrkdwn"), "plain_text": ("plain_text",)}


def _fits(value: object, shape: str, limit: int, required: bool) -> bool:
    if value is None:
        return not required
    if shape == "list":
        return isinstance(value, list) and 1 <= len(value) <= limit
    if shape in _TEXT_OBJECT_TYPES:  # a Block Kit text object: {"type": ..., "text": ...}
        if not isinstance(value, dict) or value.get("type") not in _TEXT_OBJECT_TYPES[shape]:
            return False
        value = value.get("text")
    return isinstance(value, str) and len(value) <= limit


def block_problem(block: object) -> str | None:
    """Why Slack would refuse this block, or None if it is valid."""
    if not isinstance(block, dict):
        return "block is not an object"
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        return f"unknown block type {kind!r}"
    if kind == "section" and block.get("text") is None and block.get("fields") is None:
        return "section needs text or fields"
    for field, shape, limit, required in (_BLOCK_ID, *_BLOCK_LIMITS.get(str(kind), ())):
        if not _fits(block.get(field), shape, limit, required):
            return f"{kind}.{field} must be {shape} of at most {limit}"
    return None


def validate_payload(content_type: str, raw: bytes) -> dict[str, Any]:
    """Parse a webhook body as Slack would; raise `WebhookError` on any contract violation."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise WebhookError(400, "invalid_payload", f"content type {content_type!r}")
    try:
        payload = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both subclass ValueError
        raise WebhookError(400, "invalid_payload", "body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("text", ""), str | None):
        raise WebhookError(400, "invalid_payload", "body is not an object with string text")
    text, blocks = payload.get("text"), payload.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            raise WebhookError(400, "invalid_blocks", f"blocks must be a list of <= {MAX_BLOCKS}")
        for i, block in enumerate(blocks):
            if problem := block_problem(block):
                raise WebhookError(400, "invalid_blocks", f"block {i}: {problem}")
    if not text and not blocks:
        raise WebhookError(400, "no_text", "neither text nor blocks")
    return payload


class LeakyBuckets:
    """Slack's observed limiter: a leaky bucket per key (burst, then `rate_per_s`).

    Callers hold their server's lock; `take` says 0 if admitted, else whole seconds to wait.
    """

    def __init__(self, burst: int, rate_per_s: float, clock: Callable[[], float]) -> None:
        self._burst, self._rate, self._clock = burst, rate_per_s, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (level, last update)

    def take(self, key: str) -> int:
        """Admit one request for `key`, or say how long to wait."""
        now = self._clock()
        level, last = self._buckets.get(key, (0.0, now))
        level = max(0.0, level - (now - last) * self._rate)
        excess = level + 1 - self._burst
        if excess > 1e-9:  # tolerance so a drain of exactly one slot is not refused by rounding
            self._buckets[key] = (level, now)
            return max(1, math.ceil(excess / self._rate))
        self._buckets[key] = (level + 1, now)
        return 0

    def clear(self) -> None:
        """Forget every bucket."""
        self._buckets = {}


class FakeSlack(RecordingServer):
    """Serves Slack incoming webhooks on loopback, recording what was delivered or refused."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_paths: Iterable[str] = (DEFAULT_WEBHOOK_PATH,),
        burst: int = 25,
        rate_per_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._paths = tuple(webhook_paths)
        if not self._paths or burst < 1 or rate_per_s <= 0:
            raise ValueError("need a webhook path, burst >= 1 and rate_per_s > 0")
        super().__init__(host, port)
        self._limiter = LeakyBuckets(burst, rate_per_s, clock)  # one bucket per webhook path

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:18090``."""
        return self.base_url

    @property
    def webhook_url(self) -> str:
        """Full URL of the first configured webhook."""
        return self.url + self._paths[0]

    noun = "Slack messages"

    def received(self) -> list[dict[str, Any]]:
        """Delivered messages: path, json, headers (no Authorization), received_at, truncated."""
        return self._copies(lambda: self._accepted)

    def reset(self) -> None:
        """Forget messages, rejections, pending injected failures and rate-limit state."""
        with self._cond:
            self._forget()
            self._limiter.clear()

    def fail_next(self, status: int, body: str, count: int = 1) -> None:
        """Answer the next `count` webhook requests with `status` and `body`."""
        with self._cond:
            self._failures.extend([(status, body)] * count)

    log_name = "fake_slack"

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """Control endpoints under /_test/, webhook POSTs, 404 otherwise."""
        if path.startswith("/_test/"):
            status, obj = self.handle_control(method, path, raw)
            return Reply(status, json.dumps(obj).encode(), log={"path": path, "error": ""})
        retry_after = 0
        if method == "POST":
            status, body, retry_after = self.handle_webhook(path, headers, raw)
        else:
            status, body = 404, "no_service"
        log = {"path": _SECRET.sub(r"\1***", path), "error": "" if status == 200 else body}
        extra = {"Retry-After": str(retry_after)} if retry_after else {}
        return Reply(status, body.encode(), "text/plain", extra, log)

    def handle_webhook(
        self, path: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, str, int]:
        """Answer one webhook POST: (status, text body, Retry-After seconds or 0)."""
        headers = {k.lower(): v for k, v in headers.items()}
        with self._cond:
            try:
                payload = self._admit(path, headers, raw)
            except WebhookError as e:
                self._rejected.append({"path": path, **vars(e)})
                self._cond.notify_all()
                return e.status, e.body, e.retry_after
            record = {"path": path, "json": payload, "received_at": time.time()}
            record["headers"] = {k: v for k, v in headers.items() if k != "authorization"}
            record["truncated"] = len(payload.get("text") or "") > MAX_TEXT_CHARS
            self._accepted.append(record)
            self._cond.notify_all()
            return 200, "ok", 0

    def _admit(self, path: str, headers: Mapping[str, str], raw: bytes) -> dict[str, Any]:
        if self._failures:
            status, body = self._failures.popleft()
            raise WebhookError(status, body, "injected", 1 if status == 429 else 0)
        if path not in self._paths:
            raise WebhookError(404, "no_service", "unknown webhook path")
        if wait := self._limiter.take(path):
            raise WebhookError(429, "rate_limited", f"retry in {wait}s", wait)
        return validate_payload(headers.get("content-type", ""), raw)

    def handle_control(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        """Answer a ``/_test/...`` inspection request: (status, JSON-able body)."""
        if method == "GET" and path in ("/_test/received", "/_test/rejected"):
            return 200, self.received() if path == "/_test/received" else self.rejected()
        if method == "POST" and path == "/_test/reset":
            self.reset()
        elif method == "POST" and path == "/_test/fail-next":
            try:
                spec = json.loads(raw)
                self.fail_next(int(spec["status"]), str(spec["body"]), int(spec.get("count", 1)))
            except (ValueError, KeyError, TypeError) as exc:
                return 400, {"ok": False, "error": f"bad fail-next spec: {exc}"}
        else:
            return 404, {"ok": False, "error": "unknown test endpoint"}
        return 200, {"ok": True}


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT, printing one JSON line with the webhook URL."""
    parser = argparse.ArgumentParser(description="Local Slack incoming-webhook stand-in.")
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument("--webhook-paths", nargs="+", default=[DEFAULT_WEBHOOK_PATH])
    parser.add_argument("--burst", type=int, default=25)
    parser.add_argument("--rate-per-s", type=float, default=1.0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with FakeSlack(**vars(args)) as slack:  # the option names match the constructor's
        ready = {"event": "fake_slack_ready", "url": slack.url, "webhook_url": slack.webhook_url}
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
