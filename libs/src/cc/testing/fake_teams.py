"""A stdlib Microsoft Teams incoming-webhook stand-in (Adaptive Card or MessageCard), for tests.

Two flavours, because Teams has two live webhook kinds:

- ``workflows`` (default): Power Automate "Workflows" webhooks, which replace the retired
  Office 365 connectors, answer **202 Accepted** with an empty body (fluxcd/flagger#1887,
  robusta-dev/robusta#2113, Skitionek/notify-microsoft-teams#98). A real flow accepts an
  oversized card and fails later inside the flow run; this fake refuses it synchronously with
  **413** so tests can see the mistake that production would hide.
- ``connector`` (legacy): **200** with body ``1`` on success. Delivery errors are wrapped in a
  200 whose body reads ``Webhook message delivery failed with error: Microsoft Teams endpoint
  returned HTTP error 413 with ContextId ...`` (MicrosoftDocs/msteams-docs#1810, #402): Microsoft
  keeps the 200 so third-party senders do not disable the webhook.

The size limit is ~28 KB of UTF-8 body (Teams docs; msteams-docs Q&A on 413 at 14 KB when the
body was re-encoded as UTF-16). Throttling is a fixed one-second window per webhook (the
connectors doc: 4 requests per second); over it, both flavours answer 429 with Retry-After. That
header is an assumption: the docs only say "back off", so the sender must cope without it.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

from cc.testing.local_server import RecordingServer, Reply

DEFAULT_WEBHOOK_PATH = "/workflows/0000/triggers/manual/paths/invoke"
MAX_PAYLOAD_BYTES = 28 * 1024
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
FAILED_PREFIX = "Webhook message delivery failed with error: Microsoft Teams endpoint returned"
Flavour = Literal["workflows", "connector"]
_VERSION = re.compile(r"^1\.\d+$")
_SECRET = re.compile(r"^(/(?:workflows|webhookb2)/).+$")  # the path carries the secret


class WebhookError(Exception):
    """A Teams refusal: the underlying HTTP status, why, and the Retry-After seconds (or 0)."""

    def __init__(self, status: int, detail: str, retry_after: int = 0) -> None:
        super().__init__(f"{status}: {detail}")
        self.status, self.detail, self.retry_after = status, detail, retry_after


def _card_problem(attachment: object) -> str | None:
    if not isinstance(attachment, dict) or attachment.get("contentType") != ADAPTIVE_CARD:
        return f"attachment contentType must be {ADAPTIVE_CARD}"
    card = attachment.get("content")
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return "attachment content must be an AdaptiveCard"
    if not _VERSION.match(str(card.get("version", ""))):
        return "AdaptiveCard version must be 1.x"
    body = card.get("body")
    if not isinstance(body, list) or not all(isinstance(e, dict) and "type" in e for e in body):
        return "AdaptiveCard body must be a list of typed elements"
    return None


def validate_message(raw: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    """Parse a webhook body as Teams would; raise `WebhookError` on a contract violation."""
    if len(raw) > max_bytes:
        raise WebhookError(413, f"payload of {len(raw)} bytes exceeds {max_bytes}")
    try:
        message = json.loads(raw)
    except ValueError:
        raise WebhookError(400, "body is not JSON") from None
    if not isinstance(message, dict):
        raise WebhookError(400, "body is not a JSON object")
    if message.get("@type") == "MessageCard":
        if not (message.get("text") or message.get("summary")):
            raise WebhookError(400, "Summary or Text is required.")
        return message
    attachments = message.get("attachments")
    if message.get("type") != "message" or not isinstance(attachments, list) or not attachments:
        raise WebhookError(400, 'need {"type": "message", "attachments": [...]} or a MessageCard')
    for i, attachment in enumerate(attachments):
        if problem := _card_problem(attachment):
            raise WebhookError(400, f"attachment {i}: {problem}")
    return message


class FakeTeams(RecordingServer):
    """Serves Teams incoming webhooks on loopback, recording what was delivered or refused."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_paths: Iterable[str] = (DEFAULT_WEBHOOK_PATH,),
        flavour: Flavour = "workflows",
        max_bytes: int = MAX_PAYLOAD_BYTES,
        requests_per_s: int = 4,
        retry_after_s: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._paths = tuple(webhook_paths)
        if not self._paths or requests_per_s < 1 or flavour not in ("workflows", "connector"):
            raise ValueError("need a webhook path, requests_per_s >= 1 and a known flavour")
        super().__init__(host, port)
        self.flavour, self._max_bytes, self._clock = flavour, max_bytes, clock
        self._rate, self._retry_after = requests_per_s, retry_after_s
        self._windows: dict[str, tuple[int, int]] = {}  # path -> (second, requests in it)

    @property
    def webhook_url(self) -> str:
        """Full URL of the first configured webhook."""
        return self.base_url + self._paths[0]

    noun = "Teams messages"

    def received(self) -> list[dict[str, Any]]:
        """Delivered messages: path, json, size (bytes), received_at."""
        return self._copies(lambda: self._accepted)

    def reset(self) -> None:
        """Forget messages, rejections, pending injected failures and throttling state."""
        with self._cond:
            self._forget()
            self._windows = {}

    def fail_next(self, status: int, count: int = 1, retry_after: int = 0) -> None:
        """Refuse the next `count` webhook requests with `status` (wrapped as the flavour does)."""
        with self._cond:
            self._failures.extend([WebhookError(status, "injected", retry_after)] * count)

    log_name = "fake_teams"

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """Control endpoints under /_test/, webhook POSTs, 404 otherwise."""
        log = {"path": _SECRET.sub(r"\1***", path), "bytes": len(raw)}
        if path.startswith("/_test/"):
            status, obj = self.handle_control(method, path, raw)
            return Reply(
                status, json.dumps(obj).encode(), "application/json; charset=utf-8", log=log
            )
        retry_after = 0
        if method == "POST":
            status, body, retry_after = self.handle_webhook(path, raw)
        else:
            status, body = 404, "unknown webhook path"
        extra = {"Retry-After": str(retry_after)} if retry_after else {}
        return Reply(status, body.encode(), "text/plain; charset=utf-8", extra, log)

    def handle_webhook(self, path: str, raw: bytes) -> tuple[int, str, int]:
        """Answer one webhook POST: (status, text body, Retry-After seconds or 0)."""
        with self._cond:
            try:
                message = self._admit(path, raw)
            except WebhookError as e:
                self._rejected.append({"path": path, **vars(e)})
                self._cond.notify_all()
                return self._refusal(e)
            record = {"path": path, "json": message, "size": len(raw)}
            self._accepted.append(record | {"received_at": time.time()})
            self._cond.notify_all()
            return (202, "", 0) if self.flavour == "workflows" else (200, "1", 0)

    def _refusal(self, e: WebhookError) -> tuple[int, str, int]:
        if self.flavour == "workflows" or e.status in (404, 429):
            return e.status, e.detail, e.retry_after
        # Connectors hide Teams' own error behind a 200 so senders do not disable the hook.
        body = f"{FAILED_PREFIX} HTTP error {e.status} with ContextId tcid=0,server=fake,cv=fake"
        return 200, body, 0

    def _admit(self, path: str, raw: bytes) -> dict[str, Any]:
        if self._failures:
            raise self._failures.popleft()
        if path not in self._paths:
            raise WebhookError(404, "unknown webhook path")
        second = int(self._clock())
        start, used = self._windows.get(path, (second, 0))
        used = used if start == second else 0
        if used >= self._rate:
            raise WebhookError(429, "too many requests", self._retry_after)
        self._windows[path] = (second, used + 1)
        return validate_message(raw, self._max_bytes)

    def handle_control(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        """Answer a ``/_test/...`` inspection request: (status, JSON-able body)."""
        if method == "GET" and path in ("/_test/received", "/_test/rejected"):
            return 200, self.received() if path == "/_test/received" else self.rejected()
        if (method, path) == ("POST", "/_test/reset"):
            self.reset()
            return 200, {"ok": True}
        if (method, path) != ("POST", "/_test/fail-next"):
            return 404, {"ok": False, "error": "unknown test endpoint"}
        try:
            spec = json.loads(raw)
            count, retry_after = int(spec.get("count", 1)), int(spec.get("retry_after", 0))
            self.fail_next(int(spec["status"]), count, retry_after)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return 400, {"ok": False, "error": f"bad fail-next spec: {exc}"}
        return 200, {"ok": True}


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT, printing one JSON line with the webhook URL."""
    parser = argparse.ArgumentParser(description="Local Microsoft Teams webhook stand-in.")
    parser.add_argument("--port", type=int, default=18092)
    parser.add_argument("--webhook-paths", nargs="+", default=[DEFAULT_WEBHOOK_PATH])
    parser.add_argument("--flavour", choices=["workflows", "connector"], default="workflows")
    parser.add_argument("--requests-per-s", type=int, default=4)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with FakeTeams(**vars(args)) as teams:  # the option names match the constructor's
        ready = {
            "event": "fake_teams_ready",
            "url": teams.base_url,
            "webhook_url": teams.webhook_url,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
