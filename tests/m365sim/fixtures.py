"""pytest fixtures other test modules import:

    from tests.m365sim import fixtures
    m365sim = fixtures.m365sim                  # pytest finds fixtures by module attribute
    m365sim_server = fixtures.m365sim_server    # (needed by m365sim)

`m365sim` is a running simulator (small profile, seed 1, a fixed anchor date) shared by a test
module; stats and faults are reset and documented limits restored before each test."""

from __future__ import annotations

from datetime import date

import pytest

from tests.m365sim.harness import SimulatorHandle, start_simulator
from tests.m365sim.throttling import Limits
from tests.m365sim.world import World

ANCHOR_DATE = date(2026, 11, 30)


@pytest.fixture(scope="session")
def m365sim_world() -> World:
    return World(seed=1, profile="small", anchor_date=ANCHOR_DATE)


@pytest.fixture(scope="module")
def m365sim_server():
    # A fresh World per module: directory changes made by one module stay in that module.
    world = World(seed=1, profile="small", anchor_date=ANCHOR_DATE)
    with start_simulator(world=world) as sim:
        yield sim


@pytest.fixture()
def m365sim(m365sim_server: SimulatorHandle) -> SimulatorHandle:
    m365sim_server.set_faults()
    m365sim_server.set_limits(**Limits().as_dict())  # the documented limits
    m365sim_server.reset_stats()
    return m365sim_server
