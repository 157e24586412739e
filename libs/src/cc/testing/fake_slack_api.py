"""A stdlib Slack Web API stand-in (chat.postMessage, contracts.md §5.2-5.4) with threads.

Errors are HTTP 200 `{"ok": false, "error": ...}` as Slack answers them, except rate limiting:
HTTP 429 + Retry-After + `{"ok": false, "error": "ratelimited"}`. Block Kit is checked with the
webhook stand-in's `validate_payload`, so both fakes refuse the same messages.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from cc.testing.fake_slack import MAX_TEXT_CHARS, LeakyBuckets, WebhookError, validate_payload
from cc.testing.local_server import RecordingServer, Reply

DEFAULT_TOKEN = "xoxb-0000-local-token"  # noqa: S105 - the stand-in's own, not a secret
DEFAULT_CHANNEL = "C0INCIDENTS"
POST_MESSAGE_PATH = "/api/chat.postMessage"


class ApiError(Exception):
    """A Slack Web API error: HTTP status, `error` code, why, and Retry-After seconds."""

    def __init__(self, error: str, detail: str = "", status: int = 200, retry_after: int = 0):
        super().__init__(f"{status} {error}: {detail}")
        self.status, self.error, self.detail, self.retry_after = status, error, detail, retry_after


class FakeSlackApi(RecordingServer):
    """Serves chat.postMessage on loopback, recording messages by channel and thread."""

    log_name = "fake_slack_api"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        channels: Iterable[str] = (DEFAULT_CHANNEL,),
        burst: int = 25,
        rate_per_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tokens, self._channels = frozenset(tokens), frozenset(channels)
        if not self._tokens or not self._channels or burst < 1 or rate_per_s <= 0:
            raise ValueError("need a token, a channel, burst >= 1 and rate_per_s > 0")
        super().__init__(host, port)
        self._limiter = LeakyBuckets(burst, rate_per_s, clock)  # one bucket per channel
        self._seq = 0

    @property
    def api_url(self) -> str:
        """What a client uses as its Slack API base, e.g. ``http://127.0.0.1:18093/api``."""
        return self.base_url + "/api"

    noun = "Slack messages"

    def messages(self) -> list[dict[str, Any]]:
        """Posted messages in order: channel, ts, thread_ts (None for a root), text, json."""
        return self._copies(lambda: self._accepted)

    def threads(self) -> dict[str, list[dict[str, Any]]]:
        """Root ts -> its replies in order (every root, with or without replies)."""
        with self._cond:
            out: dict[str, list[dict[str, Any]]] = {}
            for m in self._accepted:
                if m["thread_ts"] is None:
                    out.setdefault(m["ts"], [])
                else:
                    out.setdefault(m["thread_ts"], []).append(dict(m))
            return out

    def reset(self) -> None:
        """Forget messages, rejections, pending injected failures and rate-limit state."""
        with self._cond:
            self._forget()
            self._limiter.clear()

    def fail_next(self, status: int, error: str, count: int = 1) -> None:
        """Answer the next `count` posts with `status` and `{"ok": false, "error": error}`."""
        with self._cond:
            self._failures.extend([(status, error)] * count)

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """chat.postMessage POSTs; `unknown_method` (404) for anything else."""
        if method != "POST" or path != POST_MESSAGE_PATH:
            body = {"ok": False, "error": "unknown_method"}
            return Reply(404, json.dumps(body).encode(), log={"path": path, "error": "404"})
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._cond:
            try:
                message = self._post(lowered, raw)
            except ApiError as e:
                self._rejected.append(vars(e) | {"at": time.time()})
                self._cond.notify_all()
                extra = {"Retry-After": str(e.retry_after)} if e.retry_after else {}
                refusal = json.dumps({"ok": False, "error": e.error}).encode()
                return Reply(e.status, refusal, headers=extra, log={"path": path, "error": e.error})
            self._accepted.append(message)
            self._cond.notify_all()
        answer = {"ok": True, "channel": message["channel"], "ts": message["ts"]}
        answer["message"] = {"type": "message", "text": message["text"], "ts": message["ts"]}
        if message["thread_ts"] is not None:
            answer["message"]["thread_ts"] = message["thread_ts"]
        return Reply(200, json.dumps(answer).encode(), log={"path": path, "error": ""})

    def _post(self, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        """Admit one post (with the lock held) and return its record; raise ApiError if refused."""
        if self._failures:
            status, error = self._failures.popleft()
            raise ApiError(error, "injected", status, 1 if status == 429 else 0)
        auth = headers.get("authorization", "")
        if not auth:
            raise ApiError("not_authed", "no Authorization header")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token not in self._tokens:
            raise ApiError("invalid_auth", "unknown token")
        try:
            payload = validate_payload(headers.get("content-type", ""), raw)
        except WebhookError as e:
            raise ApiError(e.body, e.detail) from None
        channel = payload.get("channel")
        if channel not in self._channels:
            raise ApiError("channel_not_found", f"channel {channel!r}")
        thread_ts = payload.get("thread_ts")
        if thread_ts is not None and not any(
            m["channel"] == channel and m["ts"] == thread_ts and m["thread_ts"] is None
            for m in self._accepted
        ):
            raise ApiError("thread_not_found", f"no root {thread_ts!r} in {channel}")
        if wait := self._limiter.take(str(channel)):
            raise ApiError("ratelimited", f"retry in {wait}s", 429, wait)
        self._seq += 1
        text = payload.get("text") or ""
        return {
            "channel": channel,
            "ts": f"{int(time.time())}.{self._seq:06d}",
            "thread_ts": thread_ts,
            "text": text,
            "json": payload,
            "received_at": time.time(),
            "truncated": len(text) > MAX_TEXT_CHARS,
        }


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT, printing one JSON line with the API base URL."""
    parser = argparse.ArgumentParser(description="Local Slack Web API (chat.postMessage) stand-in.")
    parser.add_argument("--port", type=int, default=18093)
    parser.add_argument("--tokens", nargs="+", default=[DEFAULT_TOKEN])
    parser.add_argument("--channels", nargs="+", default=[DEFAULT_CHANNEL])
    parser.add_argument("--burst", type=int, default=25)
    parser.add_argument("--rate-per-s", type=float, default=1.0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with FakeSlackApi(**vars(args)) as slack:  # the option names match the constructor's
        sys.stdout.write(json.dumps({"event": "fake_slack_api_ready", "url": slack.api_url}) + "\n")
        sys.stdout.flush()
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
