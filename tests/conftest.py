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
