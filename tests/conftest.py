"""Session fixtures: the real local stack (PostgreSQL, Pub/Sub emulator).

`make test` brings the stack up before pytest and down after it; run alone,
pytest brings it up itself (idempotent) and leaves it running for the next run.
"""

from __future__ import annotations

import os

import pytest

from infra.local.stack import StackConfig


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.fspath)
        if "/integration/" in path or "/e2e/" in path:
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def stack() -> StackConfig:
    from infra.local.stack import up

    cfg = StackConfig.from_env()
    up(cfg)
    os.environ["PUBSUB_EMULATOR_HOST"] = cfg.pubsub_host
    os.environ["GOOGLE_CLOUD_PROJECT"] = cfg.project
    return cfg


@pytest.fixture(scope="session")
def owner(stack):
    from tests.support.stack import owner_engine

    engine = owner_engine(stack)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def no_privacy_violation_anywhere_in_the_suite():
    """Every simulator the suite starts is watched: at the end, none may have seen a
    request for an email body (tests that provoke one on purpose forget it)."""
    from tests.m365sim import harness

    started: list = []
    original_init = harness.SimulatorHandle.__init__

    def watched_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        started.append(self)

    harness.SimulatorHandle.__init__ = watched_init
    try:
        yield
    finally:
        harness.SimulatorHandle.__init__ = original_init
    for simulator in started:
        try:
            simulator._remember_privacy_violations()
        except Exception:  # noqa: BLE001, S110 (stopped already: its violations were kept)
            pass
    seen = [v for simulator in started for v in simulator.privacy_violations_seen]
    assert seen == [], f"the simulator recorded privacy violations: {seen[:5]}"
