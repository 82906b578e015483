"""Full and incremental syncs against the simulated tenant, checked against its ground truth.

Real components throughout: the simulator's identity platform and Graph, a real token-vault
holding the connection's tokens, the ingest service over HTTP, PostgreSQL with row-level
security. The sync's clock is the simulator's anchor, so "active in the last 7 days" means
the same days on both sides.
"""

from __future__ import annotations

import base64
import json
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
import requests
import sqlalchemy as sa

from services.ingest.main import IngestOptions, create_app
from shared.graph import Backoff
from shared.messaging.contracts import SyncRequested
from tests.m365sim.harness import start_simulator
from tests.m365sim.world import World
from tests.support.connect import connect_tenant, free_port, running_vault
from tests.support.stack import running_service

ANCHOR = date(2026, 11, 30)
ANCHOR_TIME = datetime.combine(ANCHOR, time.min, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim():
    with start_simulator(world=World(seed=7, profile="small", anchor_date=ANCHOR)) as running:
        # Documented limits, on a clock 100x faster, so throttling happens but costs ms.
        running.set_limits(window_scale=0.01)
        yield running


@pytest.fixture(scope="module")
def vault(stack, sim):
    with running_vault(stack, sim) as running:
        yield running


class RecordingPublisher:
    """Google Pub/Sub is the outer edge here: events are kept for the test to look at (and
    are not pushed to services other tests may be running on the topology's ports)."""

    def __init__(self):
        self.published: list[tuple[str, dict]] = []

    def publish(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        self.published.append((topic, json.loads(data)))
        return str(len(self.published))

    def events(self, topic: str) -> list[dict]:
        return [payload["data"] for t, payload in self.published if t == topic]


@contextmanager
def ingest_service(stack, sim, vault, budget_s: float = 420.0, publisher=None):
    options = IngestOptions(clock=lambda: ANCHOR_TIME, http_session=sim.session,
                            graph_backoff=Backoff(base_s=0.01, cap_s=0.05),
                            sync_budget_s=budget_s)
    env = {"COAX_VAULT_URL": vault.url, "COAX_GRAPH_URL": sim.graph_url}
    with running_service(stack, "ingest", create_app, extra_env=env, port=free_port(),
                         options=options, publisher=publisher or RecordingPublisher()
                         ) as service:
        yield service


def push_sync(service, org_id: str, connection_id: str, reason: str = "manual",
              requested_at: str | None = None) -> requests.Response:
    event = SyncRequested(org_id=org_id, connection_id=connection_id, reason=reason,
                          requested_at=requested_at or datetime.now(UTC).isoformat())
    envelope = {"subscription": "projects/coax-local/subscriptions/ingest-sync-requested",
                "message": {"data": base64.b64encode(json.dumps(event.to_payload()).encode())
                            .decode(), "attributes": event.attributes(str(uuid.uuid4())),
                            "messageId": str(uuid.uuid4())}}
    return requests.post(f"{service.url}/push/sync-requested", json=envelope, timeout=300)


def tenant_truth(sim, tenant_id: str) -> dict:
    return next(t for t in sim.ground_truth()["tenants"] if t["tenant_id"] == tenant_id)


def stored_users(owner, connection_id: str) -> tuple[dict, set]:
    with owner.connect() as c:
        rows = c.execute(sa.text(
            "select user_id, user_principal_name, department, account_enabled, removed_at "
            "from directory_users where connection_id = :c"), {"c": connection_id}).all()
    present = {str(r.user_id): {"id": str(r.user_id), "userPrincipalName": r.user_principal_name,
                                "department": r.department, "accountEnabled": r.account_enabled}
               for r in rows if r.removed_at is None}
    removed = {str(r.user_id) for r in rows if r.removed_at is not None}
    return present, removed


def stored_apps(owner, org_id: str) -> list[dict]:
    with owner.connect() as c:
        rows = c.execute(sa.text(
            "select app_id, display_name, vendor_id, first_seen_at, last_seen_at, "
            "active_users_7d, active_users_30d, active_users_90d from discovered_apps "
            "where org_id = :o order by display_name"), {"o": org_id}).all()
    return [{"app_id": str(r.app_id), "display_name": r.display_name, "vendor_id": r.vendor_id,
             "first_seen": r.first_seen_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "last_seen": r.last_seen_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "active_users_7d": r.active_users_7d, "active_users_30d": r.active_users_30d,
             "active_users_90d": r.active_users_90d} for r in rows]


def counts(owner, sql: str, **params) -> int:
    with owner.connect() as c:
        return c.execute(sa.text(sql), params).scalar()


def assert_matches_truth(owner, sim, tenant_id: str, org_id: str, connection_id: str, *,
                         saw_removals: bool = False) -> None:
    """`saw_removals`: the connection synced before users were removed (a first delta round
    lists current users only, so a new connection never hears of earlier leavers)."""
    truth = tenant_truth(sim, tenant_id)
    present, removed = stored_users(owner, connection_id)
    assert present == {u["id"]: u for u in truth["users"]}
    assert removed == (set(truth["removed_user_ids"]) if saw_removals else set())
    apps = stored_apps(owner, org_id)
    # Entra keeps 30 days, so 90 days of activity is the 30 days the simulator holds.
    assert [a.pop("active_users_90d") for a in apps] == [a["active_users_30d"] for a in apps]
    assert sorted(apps, key=lambda a: a["app_id"]) == sorted(truth["apps"],
                                                             key=lambda a: a["app_id"])


def sync_runs(owner, connection_id: str) -> list[str]:
    with owner.connect() as c:
        return c.execute(sa.text("select status from sync_runs where connection_id = :c "
                                 "order by finished_at"), {"c": connection_id}).scalars().all()


@pytest.fixture(scope="module")
def northwind(stack, owner, sim, vault):
    """Tenant A connected and fully synced once (the incremental test continues from it)."""
    tenant = sim.tenants[0]
    assert tenant.has_p1
    org_id, connection_id = connect_tenant(stack, owner, sim, tenant.tenant_id, vault=vault,
                                           org_name="Northwind")
    with ingest_service(stack, sim, vault) as ingest:
        assert push_sync(ingest, org_id, connection_id).status_code == 204
    return tenant, org_id, connection_id


def test_a_full_sync_reproduces_the_ground_truth(owner, sim, northwind):
    tenant, org_id, connection_id = northwind
    assert_matches_truth(owner, sim, tenant.tenant_id, org_id, connection_id)
    stored = counts(owner, "select count(*) from sign_ins where org_id = :o", o=org_id)
    assert stored == len(sim.world.tenants[0].signins.events)
    unmapped = [a for a in stored_apps(owner, org_id) if a["vendor_id"] is None]
    assert [a["display_name"] for a in unmapped] == ["Northwind Traders Expense Portal"]
    assert sync_runs(owner, connection_id) == ["succeeded"]
    with owner.connect() as c:
        released, licensed = c.execute(sa.text(
            "select sync_started_at is null, has_p1_licence from connections where id = :c"),
            {"c": connection_id}).one()
    assert released and licensed


def test_an_incremental_sync_applies_joiners_movers_and_leavers(stack, owner, sim, vault,
                                                                 northwind):
    tenant, org_id, connection_id = northwind
    stored = counts(owner, "select count(*) from sign_ins where org_id = :o", o=org_id)
    changes = sim.directory_changes(tenant.tenant_id)
    assert changes["hired"] and changes["removed"] and changes["department_changed"]
    sim.reset_stats()
    with ingest_service(stack, sim, vault) as ingest:
        assert push_sync(ingest, org_id, connection_id).status_code == 204
    # One delta page from the stored deltaLink, not a new full listing.
    assert sim.stats()["by_endpoint"].get("GET /users/delta") == 1
    # Re-reading the late-arrival overlap added no sign-in twice.
    assert counts(owner, "select count(*) from sign_ins where org_id = :o", o=org_id) == stored
    assert sync_runs(owner, connection_id) == ["succeeded", "succeeded"]
    assert_matches_truth(owner, sim, tenant.tenant_id, org_id, connection_id, saw_removals=True)


def test_a_tenant_without_p1_is_flagged_and_the_rest_of_the_sync_goes_on(stack, owner, sim,
                                                                         vault):
    tenant = sim.tenants[1]
    assert not tenant.has_p1
    org_id, connection_id = connect_tenant(stack, owner, sim, tenant.tenant_id, vault=vault,
                                           mode="metadata", org_name="Fabrikam")
    with ingest_service(stack, sim, vault) as ingest:
        assert push_sync(ingest, org_id, connection_id).status_code == 204
    present, _ = stored_users(owner, connection_id)
    assert present == {u["id"]: u for u in tenant_truth(sim, tenant.tenant_id)["users"]}
    with owner.connect() as c:
        flagged = c.execute(sa.text("select has_p1_licence from connections where id = :c"),
                            {"c": connection_id}).scalar()
        run = c.execute(sa.text("select status from sync_runs where connection_id = :c"),
                        {"c": connection_id}).scalar()
        scans = c.execute(sa.text(
            "select count(*) from outbox where topic = 'mailbox-scan-requested' "
            "and payload->'data'->>'connection_id' = :c"), {"c": connection_id}).scalar()
    assert flagged is False
    assert run == "succeeded"
    mailboxes = [u for u in tenant_truth(sim, tenant.tenant_id)["users"] if u["accountEnabled"]]
    assert scans == len(mailboxes)


def test_sync_reproduces_the_truth_under_injected_throttling_and_errors(stack, owner, sim,
                                                                        vault):
    tenant = sim.tenants[0]
    org_id, connection_id = connect_tenant(stack, owner, sim, tenant.tenant_id, vault=vault,
                                           org_name="Northwind under fire")
    sim.set_faults(throttle_rate=0.25, error_rate=0.2, throttle_without_retry_after_rate=0.05,
                   drop_rate=0.05, retry_after_s=0.01, seed=3)
    sim.reset_stats()
    try:
        with ingest_service(stack, sim, vault) as ingest:
            assert push_sync(ingest, org_id, connection_id).status_code == 204
            assert_matches_truth(owner, sim, tenant.tenant_id, org_id, connection_id)
            stored = counts(owner, "select count(*) from sign_ins where org_id = :o", o=org_id)
            # An incremental round under the same fire: nothing lost, nothing doubled.
            assert push_sync(ingest, org_id, connection_id).status_code == 204
    finally:
        faults = sim.stats()["faults"]
        sim.set_faults()
    assert faults.get("error", 0) > 0 and faults.get("throttle:Injected", 0) > 0
    assert faults.get("drop", 0) > 0
    assert_matches_truth(owner, sim, tenant.tenant_id, org_id, connection_id)
    assert counts(owner, "select count(*) from sign_ins where org_id = :o", o=org_id) == stored
    assert sync_runs(owner, connection_id) == ["succeeded", "succeeded"]


def test_a_sync_longer_than_its_budget_continues_in_slices_until_done(stack, owner, sim, vault):
    tenant = sim.tenants[0]
    org_id, connection_id = connect_tenant(stack, owner, sim, tenant.tenant_id, vault=vault,
                                           org_name="Northwind in slices")
    publisher = RecordingPublisher()
    with ingest_service(stack, sim, vault, budget_s=0.0, publisher=publisher) as ingest:
        event = {"reason": "manual", "requested_at": datetime.now(UTC).isoformat()}
        for _slice in range(30):
            assert push_sync(ingest, org_id, connection_id, **event).status_code == 204
            continuations = [e for e in publisher.events("sync-requested")
                             if e["reason"] == "continue"]
            if not sync_runs(owner, connection_id):
                event = {"reason": "continue", "requested_at": continuations[-1]["requested_at"]}
                continue
            break
    assert len(continuations) > 2
    assert sync_runs(owner, connection_id) == ["succeeded"]
    assert_matches_truth(owner, sim, tenant.tenant_id, org_id, connection_id,
                         saw_removals=False)
    scans = publisher.events("mailbox-scan-requested")
    enabled = [u for u in tenant_truth(sim, tenant.tenant_id)["users"] if u["accountEnabled"]]
    assert sorted(s["mailbox_id"] for s in scans) == sorted(u["id"] for u in enabled)
    assert {(s["window_start_at"], s["window_end_at"]) for s in scans} == {
        ((ANCHOR_TIME - timedelta(days=180)).isoformat(), ANCHOR_TIME.isoformat())}
