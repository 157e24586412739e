"""A planner over in-memory stores with the shipped runbooks and policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from cc.kafka.state import MemoryStateStore
from remediation_planner.adapters.policy_file import load_policy
from remediation_planner.adapters.runbook_file import load_runbooks
from remediation_planner.handlers import Planner, Stores, Timing

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "remediation-planner"
TIMING = Timing(
    group_window=timedelta(minutes=15),
    suspect_window=timedelta(minutes=30),
    quiet_period=timedelta(minutes=5),
    update_interval=timedelta(seconds=10),
    verify_period=timedelta(minutes=10),
    retention=timedelta(hours=1),
)

MakePlanner = Callable[..., Planner]


@pytest.fixture
def make_planner() -> MakePlanner:
    """Build a planner; pass `stores=` to restart one over the same state."""

    def make(stores: Stores | None = None, timing: Timing = TIMING) -> Planner:
        stores = stores or Stores(MemoryStateStore(), MemoryStateStore(), MemoryStateStore())
        planner = Planner(
            runbooks=load_runbooks(DEPLOY / "runbooks.yaml"),
            policy=load_policy(DEPLOY / "policy.yaml"),
            timing=timing,
            stores=stores,
        )
        planner.load()
        return planner

    return make
