"""A small JSON-over-HTTP client for the executors: bearer auth, transient errors retryable."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from cc.kafka import RetryableError


class ActionError(RuntimeError):
    """The target refused the action for good (a 4xx, or a state we must not act in)."""


class JsonApi:
    """Calls one API with a bearer token; 5xx and connection errors raise RetryableError."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=timeout, trust_env=False)
        self._headers = headers

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        allow_5xx: bool = False,
    ) -> tuple[int, Any]:
        """(status, parsed JSON body or text); RetryableError when the API is unavailable
        (5xx too, unless `allow_5xx`: for APIs that answer some refusals with a 500)."""
        headers = dict(self._headers)
        content = None
        if body is not None:
            headers["Content-Type"] = content_type
            content = orjson.dumps(body)
        try:
            resp = self._client.request(
                method, self.base_url + path, content=content, headers=headers, params=params
            )
        except httpx.HTTPError as exc:
            raise RetryableError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500 and not allow_5xx:
            raise RetryableError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
        try:
            parsed: Any = resp.json() if resp.content else None
        except ValueError:
            parsed = resp.text
        return resp.status_code, parsed

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
