"""The hash chain: each audit document holds its place in its stream and its predecessor's hash.

A stream is one source topic partition, chained in offset order. A document's hash is SHA-256
over its canonical form: the document without `commandcenter.chain.hash` and `event.ingested`
(the one field a rewrite after a crash may legitimately change), serialised as JSON with sorted
keys and no spaces (orjson). `commandcenter.chain` holds `stream`, `seq` (1, 2, ...),
`prev_hash` (64 zeros for the first), `prev_id` (the predecessor's event id) and `hash`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS = "0" * 64
ALGORITHM = "sha256-json-sorted-v1"


@dataclass(frozen=True)
class Link:
    """A stream's head: the last chained document."""

    seq: int
    hash: str
    event_id: str
    offset: int


def stream_of(topic: str, partition: int) -> str:
    """The chain a message of this topic partition belongs to."""
    return f"{topic}/{partition}"


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes a document's hash covers."""
    event = {k: v for k, v in doc.get("event", {}).items() if k != "ingested"}
    cc = dict(doc.get("commandcenter", {}))
    if "chain" in cc:
        cc["chain"] = {k: v for k, v in cc["chain"].items() if k != "hash"}
    return orjson.dumps({**doc, "event": event, "commandcenter": cc}, option=orjson.OPT_SORT_KEYS)


def document_hash(doc: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical form."""
    return hashlib.sha256(canonical(doc)).hexdigest()


def chained(doc: dict[str, Any], stream: str, head: Link | None, offset: int) -> Link:
    """Put the document after `head` in its stream (sets commandcenter.chain); its new link."""
    chain: dict[str, Any] = {
        "stream": stream,
        "seq": 1 if head is None else head.seq + 1,
        "prev_hash": GENESIS if head is None else head.hash,
        "prev_id": "" if head is None else head.event_id,
        "alg": ALGORITHM,
    }
    doc["commandcenter"]["chain"] = chain
    chain["hash"] = document_hash(doc)
    return Link(chain["seq"], chain["hash"], doc["event"]["id"], offset)


def link_of(source: dict[str, Any]) -> Link | None:
    """The link a stored document stands for (None if it carries no chain)."""
    chain = source.get("commandcenter", {}).get("chain")
    if not chain:
        return None
    return Link(
        int(chain["seq"]),
        str(chain["hash"]),
        str(source["event"]["id"]),
        int(source["kafka"]["offset"]),
    )


def placeholder(doc: dict[str, Any], reason: str) -> dict[str, Any]:
    """What stands in the chain for a document Elasticsearch refused (a mapping error): the
    chain fields, the coordinates, and the refused document verbatim (not indexed)."""
    event = doc["event"]
    return {
        "@timestamp": doc["@timestamp"],
        "ecs": doc["ecs"],
        "event": {
            "id": event["id"],
            "kind": "event",
            "category": event["category"],
            "type": event["type"],
            "action": event["action"],
            "outcome": "unknown",
            "dataset": event["dataset"],
            "ingested": event["ingested"],
        },
        "message": f"{doc['commandcenter']['record']}: document refused by Elasticsearch",
        "kafka": doc["kafka"],
        "commandcenter": {
            "record": doc["commandcenter"]["record"],
            "chain": doc["commandcenter"]["chain"],
            "rejected": {
                "reason": reason[:1000],
                "source": orjson.dumps(doc).decode(),
            },
        },
    }


def content_ok(doc_id: str, source: dict[str, Any]) -> bool:
    """The stored document hashes to its own `chain.hash` and sits under its event id."""
    cc = source.get("commandcenter", {})
    chain = cc.get("chain") or {}
    rejected = cc.get("rejected")
    if rejected:  # a placeholder: check the refused original it carries
        try:
            original = orjson.loads(rejected["source"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return False
        if original.get("commandcenter", {}).get("chain") != chain:
            return False
        source = original
    event_id = source.get("event", {}).get("id")
    return event_id == doc_id and document_hash(source) == chain.get("hash")
