"""A Confluent-compatible schema registry client (Confluent, Apicurio `/apis/ccompat/v7`)."""

from __future__ import annotations

import httpx

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(RuntimeError):
    """The registry refused or could not be reached."""


class HttpRegistryClient:
    """Registers schemas under a subject and fetches them by id; both answers are cached."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._by_id: dict[int, str] = {}

    def register(self, subject: str, schema_json: str) -> int:
        """POST /subjects/{subject}/versions; the registry returns the existing id if known."""
        # Apicurio 3.3.3 rewrites `: "{}"` to `:{}` before parsing, which breaks a string default
        # of "{}" (DeploymentObserved.raw). "\u007b}" is the same JSON string, so the schema
        # (and its fingerprint) is unchanged for every registry, and Apicurio accepts it.
        body = schema_json.replace('"{}"', '"\\u007b}"')
        response = self._http.post(
            f"/subjects/{subject}/versions",
            json={"schema": body, "schemaType": "AVRO"},
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
        )
        if response.status_code != 200:
            raise RegistryError(
                f"registering {subject} failed: HTTP {response.status_code} {response.text[:300]}"
            )
        schema_id = int(response.json()["id"])
        self._by_id[schema_id] = schema_json
        return schema_id

    def schema_by_id(self, schema_id: int) -> str:
        """GET /schemas/ids/{id}."""
        if schema_id in self._by_id:
            return self._by_id[schema_id]
        response = self._http.get(f"/schemas/ids/{schema_id}", headers={"Accept": CONTENT_TYPE})
        if response.status_code != 200:
            raise RegistryError(f"schema id {schema_id}: HTTP {response.status_code}")
        schema: str = response.json()["schema"]
        self._by_id[schema_id] = schema
        return schema
