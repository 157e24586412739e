"""Reading a webhook body safely: content type, size limit, JSON, schema -> clear errors."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import HTTPException, Request, status
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


async def read_json_body(request: Request, model: type[Model], *, max_bytes: int) -> Model:
    """415 for a non-JSON content type, 413 above the limit, 422 naming the offending field."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"content-type must be application/json, got {content_type or 'none'!r}",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body over {max_bytes} bytes"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body over {max_bytes} bytes"
            )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[{"loc": ["body"], "msg": f"invalid JSON: {exc}"}],
        ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *exc_loc], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors()
            for exc_loc in [list(err["loc"])]
        ]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=errors) from exc


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting a JSON body that the route reads raw (limit first)."""
    schema = model.model_json_schema(by_alias=True)
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    content = {"application/json": {"schema": inline(schema)}}
    return {"requestBody": {"required": True, "content": content}}
