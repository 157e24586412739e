"""Bearer-token roles: parsing, constant-time lookup, JWTs, the FastAPI dependency."""

from __future__ import annotations

import time
from typing import Annotated

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from cc.platform.auth import Principal, Role, TokenFileError, TokenTable, require_role

TOKENS = """
# people
ada:viewer:viewer-token-0000000001
bob:approver:approver-token-000000002
"""
SECRET = "jwt-secret-for-tests-only-0123456789"  # noqa: S105 - a test key


def table() -> TokenTable:
    return TokenTable.parse(TOKENS, "tokens.txt", jwt_secret=SECRET)


def test_tokens_map_to_principals_and_unknown_ones_to_none() -> None:
    assert table().authenticate("approver-token-000000002") == Principal("bob", Role.APPROVER)
    assert table().authenticate("approver-token-00000000") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ada:viewer", "tokens.txt:1: expected name:role:token"),
        ("\nada:root:abcdefghijklmnopqrstu", "tokens.txt:2: role 'root' is not one of"),
        ("ada:viewer:short", "tokens.txt:1: token must be at least 16"),
    ],
)
def test_bad_token_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(TokenFileError, match=message):
        TokenTable.parse(text, "tokens.txt")


def test_jwts_need_the_secret_a_role_and_an_unexpired_exp() -> None:
    good = jwt.encode({"sub": "cy", "role": "operator", "exp": time.time() + 60}, SECRET)
    expired = jwt.encode({"sub": "cy", "role": "operator", "exp": time.time() - 60}, SECRET)
    forged = jwt.encode({"sub": "cy", "role": "admin", "exp": time.time() + 60}, "x" * 40)
    no_role = jwt.encode({"sub": "cy", "exp": time.time() + 60}, SECRET)
    assert table().authenticate(good) == Principal("cy", Role.OPERATOR)
    assert [table().authenticate(t) for t in (expired, forged, no_role)] == [None] * 3


def test_dependency_answers_401_without_a_known_token_and_403_below_the_role() -> None:
    app = FastAPI()

    @app.post("/approve")
    def approve(who: Annotated[Principal, Depends(require_role(table(), Role.APPROVER))]) -> str:
        return who.name

    client = TestClient(app)
    missing = client.post("/approve")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert client.post("/approve", headers={"Authorization": "Bearer nope"}).status_code == 401
    viewer = client.post("/approve", headers={"Authorization": "Bearer viewer-token-0000000001"})
    assert viewer.status_code == 403 and "needs approver" in viewer.json()["detail"]
    ok = client.post("/approve", headers={"Authorization": "Bearer approver-token-000000002"})
    assert ok.status_code == 200 and ok.json() == "bob"
    assert app.openapi()["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
