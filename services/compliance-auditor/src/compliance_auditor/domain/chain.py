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
    return chained_source(doc, stream, head, offset)[0]


def chained_source(
    doc: dict[str, Any], stream: str, head: Link | None, offset: int
) -> tuple[Link, bytes]:
    """`chained`, also giving the document as JSON: the canonical bytes the hash covers with
    `chain.hash` and `event.ingested` spliced in (one serialisation per document)."""
    chain: dict[str, Any] = {
        "stream": stream,
        "seq": 1 if head is None else head.seq + 1,
        "prev_hash": GENESIS if head is None else head.hash,
        "prev_id": "" if head is None else head.event_id,
        "alg": ALGORITHM,
    }
    doc["commandcenter"]["chain"] = chain
    event = doc["event"]
    ingested = event.pop("ingested", _ABSENT)
    try:
        body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    finally:
        if ingested is not _ABSENT:
            event["ingested"] = ingested
    digest = hashlib.sha256(body).hexdigest()
    chain["hash"] = digest
    link = Link(chain["seq"], digest, event["id"], offset)
    return link, _spliced(body, doc, digest, ingested)


_ABSENT = object()


def _spliced(body: bytes, doc: dict[str, Any], digest: str, ingested: object) -> bytes:
    """The canonical bytes with `"hash"` first in commandcenter.chain and `"ingested"` first in
    the top-level event. Keys are sorted, so the first `"chain":{...}` is commandcenter's (only
    `@timestamp` and `causation_id`, strings, precede it) and the last `"event":{...}` is the
    top-level one (only kafka, labels, message, service, trace, user follow: no nested event)."""
    chain_at = body.find(b'"chain":{"alg":')
    event_at = body.rfind(b'"event":{')
    if chain_at < 0 or event_at < chain_at or set(doc) - _TOP_LEVEL:
        return orjson.dumps(doc)  # not the shape audit_document builds
    chain_at += len(b'"chain":{')
    event_at += len(b'"event":{')
    hash_field = b'"hash":"' + digest.encode() + b'",'
    if ingested is _ABSENT:
        return body[:chain_at] + hash_field + body[chain_at:]
    ingested_field = b'"ingested":' + orjson.dumps(ingested) + b","
    return body[:chain_at] + hash_field + body[chain_at:event_at] + ingested_field + body[event_at:]


# the top-level keys of an audit document (see documents.audit_document)
_TOP_LEVEL = frozenset(
    {"@timestamp", "commandcenter", "ecs", "event", "kafka", "labels", "message", "service"}
    | {"trace", "user"}
)


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
