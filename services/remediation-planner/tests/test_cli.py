"""The CLI against the approval API served over real loopback HTTP."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from cc.platform.auth import TokenTable
from cc.platform.http import BackgroundServer
from cc.testing.events import T0, incident_opened
from cc.testing.fakes import RecordingProducer
from cc.testing.plans import planned
from remediation_planner import cli
from remediation_planner.api.app import create_app
from remediation_planner.api.read_model import PlanBook

TOKENS = "vera:viewer:viewer-token-00000001\nbob:approver:approver-token-00004\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    book = PlanBook()
    book.apply(incident_opened("inc-1"))
    hour = timedelta(hours=1)
    book.apply(
        planned(
            "p-1",
            "k8s_restart",
            {"kind": "Deployment", "name": "web"},
            gate="needs_approval",
            expires_in=hour,
        )
    )
    book.apply(
        planned(
            "p-2",
            "k8s_restart",
            {"kind": "Deployment", "name": "api"},
            gate="needs_approval",
            expires_in=hour,
        )
    )
    app = create_app(
        book,
        RecordingProducer(),  # type: ignore[arg-type]
        TokenTable.parse(TOKENS, "tokens"),
        registry=CollectorRegistry(),
        clock=lambda: T0 + timedelta(minutes=1),
    )
    server = BackgroundServer(app, "127.0.0.1", free_port())
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


APPROVER = "approver-token-00004"


def run(argv: list[str], token: str | None = APPROVER) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"REMEDIATION_PLANNER_TOKEN": token} if token else {}
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("REMEDIATION_PLANNER_TOKEN", raising=False)
        for k, v in env.items():
            mp.setenv(k, v)
        code = cli.main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


def test_list_show_and_approve(api_url: str) -> None:
    code, out, _ = run(["--url", api_url, "plans", "list", "--status", "pending"])
    assert code == 0
    assert out.splitlines()[0].startswith("PLAN_ID  STATUS")
    assert {line.split()[0] for line in out.splitlines()[1:]} == {"p-1", "p-2"}
    code, out, _ = run(["--url", api_url, "plans", "show", "p-1"])
    assert code == 0 and '"rationale": "k8s_restart because the test says so"' in out
    code, out, _ = run(["--url", api_url, "plans", "approve", "p-1", "--reason", "go"])
    assert (code, out) == (0, "plan p-1 approved by bob\n")


def test_refusals_print_the_apis_reason(api_url: str) -> None:
    code, _, err = run(
        ["--url", api_url, "plans", "reject", "p-2", "--reason", "no"],
        token="viewer-token-00000001",
    )
    assert code == 1 and err.startswith("error: 403: role viewer may not do this")
    code, _, err = run(["--url", api_url, "plans", "show", "nope"])
    assert (code, err) == (1, "error: 404: no plan nope\n")
    code, _, err = run(["--url", api_url, "plans", "list", "--status", "sideways"])
    assert code == 1 and "query.status" in err


def test_missing_token_and_unreachable_api_are_clear(api_url: str, tmp_path: Path) -> None:
    code, _, err = run(["--url", api_url, "plans", "list"], token=None)
    assert (code, err) == (2, "error: no token: set REMEDIATION_PLANNER_TOKEN or --token-file\n")
    code, _, err = run(
        ["--url", api_url, "--token-file", str(tmp_path / "none"), "plans", "list"], token=None
    )
    assert code == 2 and "cannot read token file" in err
    code, _, err = run(["--url", f"http://127.0.0.1:{free_port()}", "plans", "list"])
    assert code == 2 and err.startswith("error: cannot reach")


def test_the_module_runs_from_a_shell_with_a_token_file(api_url: str, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("viewer-token-00000001\n")
    env = {k: v for k, v in os.environ.items() if k != "REMEDIATION_PLANNER_TOKEN"}
    env |= {"REMEDIATION_PLANNER_URL": api_url, "REMEDIATION_PLANNER_TOKEN_FILE": str(token_file)}
    done = subprocess.run(
        [sys.executable, "-m", "remediation_planner.cli", "plans", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"plan_id": "p-2"' in done.stdout
