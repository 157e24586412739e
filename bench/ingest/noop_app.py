"""The baseline: a FastAPI endpoint that reads and parses the same JSON body and answers 202.

Run by bench/ingest/run.py exactly like the ingestor (uvicorn, one worker, same flags).
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request, status

app = FastAPI()


@app.post("/webhooks/alertmanager", status_code=status.HTTP_202_ACCEPTED)
async def parse_only(request: Request) -> dict[str, int]:
    """Parse the body, do nothing else."""
    payload = orjson.loads(await request.body())
    return {"accepted": len(payload["alerts"])}
