"""A stdlib PagerDuty Events API v2 stand-in enforcing contracts.md §6, for tests and `make run`."""

from __future__ import annotations

import argparse
import collections
import json
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from cc.testing.local_server import RecordingServer, Reply

ENQUEUE_PATH = "/v2/enqueue"
DEFAULT_ROUTING_KEY = "commandcenterlocalroutingkey0000"  # 32 chars, like a real integration key
ROUTING_KEY_LEN = 32
DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024
MAX_EVENT_BYTES = 512_000  # §6.4, Alertmanager's maxEventSize
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
_OPTIONAL_STR = ("component", "group", "class", "timestamp")


class EventError(Exception):
    """A PagerDuty error answer: HTTP status and the documented `{status, message, errors}` body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body}")
        self.status, self.body = status, body


_THROTTLED = {"status": "throttle event", "message": "Too many requests", "errors": []}


def _invalid(*errors: str) -> EventError:
    body = {"status": "invalid event", "message": "Event object is invalid"}
    return EventError(400, body | {"errors": list(errors)})


def _str(value: object, limit: int = 0) -> bool:
    return isinstance(value, str) and bool(value.strip()) and (not limit or len(value) <= limit)


def _iso8601(text: str) -> bool:
    try:
        return bool(datetime.fromisoformat(text))
    except ValueError:
        return False


def _trigger_problems(event: dict[str, Any]) -> list[str]:
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    errors = []
    if not _str(payload.get("summary"), SUMMARY_MAX):
        errors.append(f"'payload.summary' is missing, blank or longer than {SUMMARY_MAX} chars")
    if not _str(payload.get("source")):
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append(f"'payload.severity' must be one of {', '.join(SEVERITIES)}")
    wrong = [f for f in _OPTIONAL_STR if f in payload and not isinstance(payload[f], str)]
    errors += [f"'payload.{f}' must be a string" for f in wrong]
    if isinstance(payload.get("timestamp"), str) and not _iso8601(payload["timestamp"]):
        errors.append("'payload.timestamp' is not ISO 8601")
    details_ok = isinstance(payload.get("custom_details", {}), dict)
    return errors + ([] if details_ok else ["'payload.custom_details' must be an object"])


def _attachment_problems(event: dict[str, Any]) -> list[str]:
    errors = []
    for field, required in (("links", "href"), ("images", "src")):
        items = event.get(field, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            errors.append(f"'{field}' must be a list of objects")
            continue
        for n, item in enumerate(items):
            if not _str(item.get(required)):
                errors.append(f"'{field}[{n}].{required}' is required")
            elif field == "images" and not item[required].startswith("https://"):
                errors.append(f"'images[{n}].src' must be an HTTPS URL")
    return errors


def validate_event(raw: bytes) -> dict[str, Any]:
    """Parse an enqueue body as PagerDuty would; raise `EventError` (400) listing every problem."""
    if len(raw) > MAX_EVENT_BYTES:
        raise _invalid(f"event is larger than {MAX_EVENT_BYTES} bytes")
    try:
        event = json.loads(raw)
    except ValueError:
        raise _invalid("body is not valid JSON") from None
    if not isinstance(event, dict):
        raise _invalid("body is not a JSON object")
    errors = []
    key, action, dedup = event.get("routing_key"), event.get("event_action"), event.get("dedup_key")
    if not isinstance(key, str) or len(key) != ROUTING_KEY_LEN:
        errors.append(f"'routing_key' must be a {ROUTING_KEY_LEN}-character string")
    if action not in ACTIONS:
        errors.append(f"'event_action' must be one of {', '.join(ACTIONS)}")
    if dedup is not None and not _str(dedup, DEDUP_KEY_MAX):
        errors.append(f"'dedup_key' must be a non-blank string of <= {DEDUP_KEY_MAX} chars")
    elif dedup is None and action in ("acknowledge", "resolve"):
        errors.append(f"'dedup_key' is required to {action}")
    if action == "trigger":
        errors += _trigger_problems(event) + _attachment_problems(event)
    if errors:
        raise _invalid(*errors)
    return event


class FakePagerDuty(RecordingServer):
    """Serves the Events API v2 on loopback and keeps PagerDuty's alert-per-dedup_key state."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        routing_keys: Iterable[str] | None = None,
        events_per_minute: int = 120,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if events_per_minute < 1:
            raise ValueError("events_per_minute must be >= 1")
        super().__init__(host, port)
        # None accepts any well-formed key; a set models integrations that exist.
        self._keys = None if routing_keys is None else frozenset(routing_keys)
        self._limit, self._clock = events_per_minute, clock
        self._incidents: list[dict[str, Any]] = []
        self._open: dict[tuple[str, str], dict[str, Any]] = {}
        self._windows: dict[str, collections.deque[float]] = {}

    noun = "PagerDuty events"

    def events(self) -> list[dict[str, Any]]:
        """Accepted (202) events: json, dedup_key, outcome (opened/appended/.../dropped)."""
        return self._copies(lambda: self._accepted)

    def incidents(self) -> list[dict[str, Any]]:
        """Every alert ever opened, oldest first: routing_key, dedup_key, status, triggers, ..."""
        return self._copies(lambda: self._incidents)

    def reset(self) -> None:
        """Forget events, incidents, rejections, injected failures and rate-limit windows."""
        with self._cond:
            self._forget()
            self._incidents, self._open, self._windows = [], {}, {}

    def fail_next(self, status: int, body: dict[str, Any] | None = None, count: int = 1) -> None:
        """Answer the next `count` enqueue requests with `status` (no event is ingested)."""
        body = body or {"status": "error", "message": "injected failure", "errors": []}
        with self._cond:
            self._failures.extend([EventError(status, body)] * count)

    log_name = "fake_pagerduty"

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """Control endpoints under /_test/, the Events API, 404 otherwise (no Retry-After:
        §6 documents none, even on 429)."""
        if path.startswith("/_test/"):
            status, obj = self.handle_control(method, path, raw)
        elif method == "POST" and path == ENQUEUE_PATH:
            status, obj = self.handle_enqueue(raw)
        else:
            status, obj = 404, {"status": "not found", "message": "Not Found", "errors": []}
        # The routing key is a credential: it is never written to the log line.
        log = {"path": path, "errors": obj.get("errors", []) if status >= 400 else []}
        return Reply(status, json.dumps(obj).encode(), log=log)

    def handle_enqueue(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one ``POST /v2/enqueue``: (status, JSON body)."""
        with self._cond:
            try:
                event = self._admit(raw)
            except EventError as e:
                self._rejected.append({"status": e.status, "body": e.body})
                self._cond.notify_all()
                return e.status, e.body
            dedup_key = event.get("dedup_key") or uuid.uuid4().hex  # PagerDuty generates one
            outcome = self._apply(event, dedup_key)
            record = {"json": event, "dedup_key": dedup_key, "outcome": outcome}
            self._accepted.append(record | {"received_at": time.time()})
            self._cond.notify_all()
            return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}

    def _admit(self, raw: bytes) -> dict[str, Any]:
        if self._failures:
            raise self._failures.popleft()
        event = validate_event(raw)
        if self._keys is not None and event["routing_key"] not in self._keys:
            # §6 does not say how an unknown key is answered; a 400 keeps "never retry" true.
            raise _invalid("'routing_key' does not match an integration")
        if self._take_slot(event["routing_key"]):
            return event
        raise EventError(429, dict(_THROTTLED))

    def _take_slot(self, routing_key: str) -> bool:
        """§6.4: N events per 60 s look-back per routing key; a refused event is not counted."""
        now = self._clock()
        window = self._windows.setdefault(routing_key, collections.deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if admitted := len(window) < self._limit:
            window.append(now)
        return admitted

    def _apply(self, event: dict[str, Any], dedup_key: str) -> str:
        """§6.2: later events act on the open alert with the same (routing_key, dedup_key)."""
        key, action = (event["routing_key"], dedup_key), event["event_action"]
        incident = self._open.get(key)
        if action == "trigger" and incident is not None:
            incident["triggers"] += 1
            return "appended"
        if action == "trigger":
            payload = event["payload"]
            incident = {"routing_key": key[0], "dedup_key": dedup_key, "status": "triggered"}
            incident |= {f: payload[f] for f in ("summary", "severity", "source")}
            incident |= {"triggers": 1, "opened_at": time.time()}
            self._incidents.append(incident)
            self._open[key] = incident
            return "opened"
        if incident is None:
            return "dropped"  # ack/resolve of an unknown or resolved alert: accepted, then dropped
        if action == "resolve":
            del self._open[key]
        incident["status"] = "resolved" if action == "resolve" else "acknowledged"
        return str(incident["status"])

    def handle_control(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        """Answer a ``/_test/...`` inspection request: (status, JSON-able body)."""
        views = {"/_test/events": self.events, "/_test/incidents": self.incidents}
        views["/_test/rejected"] = self.rejected
        if method == "GET" and path in views:
            return 200, views[path]()
        if (method, path) == ("POST", "/_test/reset"):
            self.reset()
            return 200, {"ok": True}
        if (method, path) != ("POST", "/_test/fail-next"):
            return 404, {"ok": False, "error": "unknown test endpoint"}
        try:
            spec = json.loads(raw)
            self.fail_next(int(spec["status"]), spec.get("body"), int(spec.get("count", 1)))
        except (ValueError, KeyError, TypeError) as exc:
            return 400, {"ok": False, "error": f"bad fail-next spec: {exc}"}
        return 200, {"ok": True}


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT, printing one JSON line with the base URL."""
    parser = argparse.ArgumentParser(description="Local PagerDuty Events API v2 stand-in.")
    parser.add_argument("--port", type=int, default=18091)
    parser.add_argument("--routing-keys", nargs="*", default=None)
    parser.add_argument("--events-per-minute", type=int, default=120)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with FakePagerDuty(**vars(args)) as pagerduty:  # the option names match the constructor's
        ready = {"event": "fake_pagerduty_ready", "url": pagerduty.base_url}
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
