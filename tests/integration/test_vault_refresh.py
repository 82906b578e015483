"""The scheduled refresh: which connections are due, and refreshing one of them.

The cron itself walks every due connection in the shared database, so these tests
check its two halves (the due query and the per-connection refresh) on their own rows.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.token_vault.handlers import refresh_one
from tests.m365sim.harness import start_simulator
from tests.support.connect import connect_tenant, running_vault
from tests.support.stack import role_engine


@pytest.fixture(scope="module")
def sim():
    with start_simulator(seed=1, profile="small") as simulator:
        yield simulator


@pytest.fixture(scope="module")
def vault(stack, sim):
    with running_vault(stack, sim) as running:
        yield running


def _expires_in(owner, connection_id: str, seconds: int) -> None:
    with owner.begin() as db:
        db.execute(sa.text("update vault_tokens set expires_at = now() + make_interval(secs => "
                           ":s) where connection_id = :c"), {"s": seconds, "c": connection_id})


def _due(stack, horizon_s: int) -> set[str]:
    engine = role_engine(stack, "coax_token_vault")
    try:
        with engine.connect() as db:
            return {str(row.connection_id) for row in db.execute(sa.text(
                "select connection_id from vault_refresh_due(:h)"), {"h": horizon_s})}
    finally:
        engine.dispose()


def test_a_connection_is_due_only_when_its_token_expires_within_the_horizon(
        stack, owner, sim, vault):
    _, connection_id = connect_tenant(stack, owner, sim, sim.tenants[0].tenant_id, vault=vault)
    assert connection_id not in _due(stack, 600)
    _expires_in(owner, connection_id, 120)
    assert connection_id in _due(stack, 600)
    assert connection_id not in _due(stack, 60)


def test_refresh_one_refreshes_a_due_token_once(stack, owner, sim, vault):
    org_id, connection_id = connect_tenant(stack, owner, sim, sim.tenants[0].tenant_id,
                                           vault=vault)
    vault_ctx = vault.app.extensions["token-vault"]
    _expires_in(owner, connection_id, 120)   # inside the refresh margin
    sim.reset_stats()

    assert refresh_one(vault_ctx, org_id, connection_id) == "refreshed"
    assert refresh_one(vault_ctx, org_id, connection_id) == "fresh"
    assert sim.stats()["token_requests"] == {"client_credentials:200": 1}
    assert connection_id not in _due(stack, 600)


def test_refresh_one_marks_a_lost_grant_for_consent(stack, owner):
    with start_simulator(seed=1, profile="small") as sim, running_vault(stack, sim) as vault:
        tenant_id = sim.tenants[0].tenant_id
        org_id, connection_id = connect_tenant(stack, owner, sim, tenant_id, vault=vault)
        sim.revoke(tenant_id, consent=True)
        _expires_in(owner, connection_id, 10)
        vault_ctx = vault.app.extensions["token-vault"]
        assert refresh_one(vault_ctx, org_id, connection_id) == "needs_consent"
        assert refresh_one(vault_ctx, org_id, connection_id) == "fresh"   # left alone now
        assert connection_id not in _due(stack, 600)
