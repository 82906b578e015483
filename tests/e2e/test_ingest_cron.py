"""The scheduled path end to end: cron -> outbox -> Pub/Sub emulator -> push -> a whole sync
against the simulated tenant through a real vault -> mailbox scans published."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import requests
import sqlalchemy as sa

from services.ingest.main import IngestOptions, create_app
from shared.graph import Backoff
from tests.m365sim.harness import start_simulator
from tests.m365sim.world import World
from tests.support.connect import connect_tenant, running_vault
from tests.support.stack import deactivate_other_connections, running_service
from tests.support.waiting import wait_for

ANCHOR = date(2026, 11, 30)


def test_the_hourly_cron_syncs_a_connected_tenant_and_fans_out_mailbox_scans(stack, owner):
    world = World(seed=5, profile="small", anchor_date=ANCHOR)
    with start_simulator(world=world) as sim, running_vault(stack, sim) as vault:
        sim.set_limits(window_scale=0.01)
        tenant = sim.tenants[0]
        org_id, connection_id = connect_tenant(stack, owner, sim, tenant.tenant_id, vault=vault,
                                               org_name="Northwind on a schedule")
        deactivate_other_connections(owner, keep=[connection_id])
        options = IngestOptions(clock=lambda: datetime.combine(ANCHOR, time.min, tzinfo=UTC),
                                http_session=sim.session,
                                graph_backoff=Backoff(base_s=0.01, cap_s=0.05))
        env = {"COAX_VAULT_URL": vault.url, "COAX_GRAPH_URL": sim.graph_url}
        # The topology's port: the emulator's push subscription delivers there.
        with running_service(stack, "ingest", create_app, extra_env=env, options=options) as ingest:
            answer = requests.post(f"{ingest.url}/cron/sync", timeout=30)
            assert answer.json() == {"requested": 1, "already_syncing": 0}
            again = requests.post(f"{ingest.url}/cron/sync", timeout=30)
            assert again.json() == {"requested": 0, "already_syncing": 1}

            def finished():
                with owner.connect() as c:
                    return c.execute(sa.text(
                        "select status from sync_runs where connection_id = :c"),
                        {"c": connection_id}).scalars().all()

            assert wait_for(finished, timeout_s=120, what="the scheduled sync") == ["succeeded"]
        truth = next(t for t in sim.ground_truth()["tenants"]
                     if t["tenant_id"] == tenant.tenant_id)
    with owner.connect() as c:
        apps = c.execute(sa.text("select count(*) from discovered_apps where org_id = :o"),
                         {"o": org_id}).scalar()
        scans = c.execute(sa.text(
            "select count(*), count(published_at) from outbox "
            "where topic = 'mailbox-scan-requested' and attributes->>'org_id' = :o"),
            {"o": org_id}).one()
        released = c.execute(sa.text("select sync_started_at is null from connections "
                                     "where id = :c"), {"c": connection_id}).scalar()
    assert apps == len(truth["apps"])
    mailboxes = sum(1 for u in truth["users"] if u["accountEnabled"])
    assert tuple(scans) == (mailboxes, mailboxes)
    assert released
