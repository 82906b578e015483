"""Connect flows end to end: real vault, real msal, the simulated tenant, real PostgreSQL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from shared.vault_client import VaultTokenProvider
from tests.m365sim.harness import start_simulator
from tests.support.connect import (
    API_CALLER,
    admin_consent,
    connect_tenant,
    create_org_only,
    running_vault,
)


@pytest.fixture(scope="module")
def sim():
    with start_simulator(seed=1, profile="small") as simulator:
        yield simulator


@pytest.fixture(scope="module")
def vault(stack, sim):
    with running_vault(stack, sim) as running:
        yield running


def _connection(owner, connection_id: str) -> dict:
    with owner.connect() as db:
        row = db.execute(sa.text(
            "select c.tenant_id, c.mode, c.status, c.permissions, g.flow from connections c "
            "join vault_grants g on g.connection_id = c.id where c.id = :id"),
            {"id": connection_id}).mappings().one()
    return dict(row)


def _audit(owner, org_id: str) -> list[tuple[str, str, dict]]:
    with owner.connect() as db:
        rows = db.execute(sa.text("select actor, action, details from audit_log "
                                  "where org_id = :org order by id"), {"org": org_id}).all()
    return [tuple(row) for row in rows]


def test_admin_consent_connects_the_tenant_with_its_granted_roles(stack, owner, sim, vault):
    tenant = sim.tenants[0]
    org_id, connection_id = connect_tenant(stack, owner, sim, tenant.tenant_id, vault=vault)

    row = _connection(owner, connection_id)
    assert row["tenant_id"] == tenant.tenant_id
    assert (row["status"], row["mode"], row["flow"]) == ("active", "attachments", "app_only")
    assert sorted(row["permissions"]) == sorted(tenant.roles)
    actions = [action for _, action, _ in _audit(owner, org_id)]
    assert actions[:2] == ["connect.started", "connection.connected"]

    token = VaultTokenProvider(vault.url, connection_id, "directory", caller="ingest")()
    users = sim.session().get(f"{sim.graph_url}/users?$select=id", timeout=30,
                              headers={"Authorization": f"Bearer {token}"})
    assert users.status_code == 200 and users.json()["value"]


def test_attachments_mode_falls_back_to_metadata_without_mail_read(owner, sim, vault):
    metadata_tenant = next(t for t in sim.tenants if "Mail.Read" not in t.roles)
    org_id = create_org_only(owner)
    answer = admin_consent(vault.url, sim, org_id, metadata_tenant.tenant_id, "attachments")
    assert answer["mode"] == "metadata"
    assert "Mail.Read" in answer["note"]
    refused = requests.post(f"{vault.url}/v1/access-token",
                            headers={"X-Coax-Local-Caller": "invoice-parse"},
                            json={"connection_id": answer["connection_id"],
                                  "purpose": "mail_attachments"}, timeout=30)
    assert refused.status_code == 403
    assert refused.json()["error"] == "purpose_not_granted"


def test_a_connect_state_works_once_and_cannot_be_forged(owner, sim, vault):
    org_id = create_org_only(owner)
    tenant_id = sim.tenants[0].tenant_id
    start = requests.post(f"{vault.url}/connect/admin-consent/start", headers=API_CALLER,
                          json={"org_id": org_id, "mode": "metadata", "tenant": tenant_id},
                          timeout=30).json()
    consent = sim.session().get(start["authorize_url"], allow_redirects=False, timeout=30)
    callback_url = consent.headers["Location"]
    assert requests.get(callback_url, timeout=30).status_code == 200
    replay = requests.get(callback_url, timeout=30)
    assert replay.status_code == 409 and replay.json()["error"] == "state_used"

    state = parse_qs(urlsplit(callback_url).query)["state"][0]
    forged = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")
    answer = requests.get(f"{vault.url}/connect/admin-consent/callback",
                          params={"admin_consent": "True", "tenant": tenant_id, "state": forged},
                          timeout=30)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_state"


def test_the_callback_cannot_swap_in_another_tenant(owner, sim, vault):
    org_id = create_org_only(owner)
    first, second = sim.tenants[0].tenant_id, sim.tenants[1].tenant_id
    start = requests.post(f"{vault.url}/connect/admin-consent/start", headers=API_CALLER,
                          json={"org_id": org_id, "mode": "metadata", "tenant": first},
                          timeout=30).json()
    state = parse_qs(urlsplit(start["authorize_url"]).query)["state"][0]
    answer = requests.get(f"{vault.url}/connect/admin-consent/callback",
                          params={"admin_consent": "True", "tenant": second, "state": state},
                          timeout=30)
    assert answer.status_code == 400 and answer.json()["error"] == "tenant_mismatch"


def test_only_the_api_may_start_a_connect(owner, sim, vault):
    org_id = create_org_only(owner)
    answer = requests.post(f"{vault.url}/connect/admin-consent/start",
                           headers={"X-Coax-Local-Caller": "ingest"},
                           json={"org_id": org_id, "mode": "metadata",
                                 "tenant": sim.tenants[0].tenant_id}, timeout=30)
    assert answer.status_code == 403


def test_a_declined_consent_is_reported_and_audited(owner, sim, vault):
    org_id = create_org_only(owner)
    start = requests.post(f"{vault.url}/connect/admin-consent/start", headers=API_CALLER,
                          json={"org_id": org_id, "mode": "metadata",
                                "tenant": sim.tenants[0].tenant_id}, timeout=30).json()
    consent = sim.session().get(start["authorize_url"] + "&sim_decline=1",
                                allow_redirects=False, timeout=30)
    answer = requests.get(consent.headers["Location"], timeout=30)
    assert answer.status_code == 400 and answer.json()["error"] == "consent_declined"
    assert "AADSTS65004" in answer.json()["detail"]
    assert ("microsoft", "connect.declined") in [(a, b) for a, b, _ in _audit(owner, org_id)]


def test_delegated_connect_stores_a_refresh_token_and_hands_out(owner, sim, vault):
    org_id = create_org_only(owner)
    tenant_id = sim.tenants[0].tenant_id
    start = requests.post(f"{vault.url}/connect/delegated/start", headers=API_CALLER,
                          json={"org_id": org_id, "mode": "attachments", "tenant": tenant_id},
                          timeout=30)
    assert start.status_code == 200, start.text
    authorize = sim.session().get(start.json()["authorize_url"], allow_redirects=False,
                                  timeout=30)
    assert authorize.status_code == 302
    answer = requests.get(authorize.headers["Location"], timeout=30)
    assert answer.status_code == 200, answer.text
    connection_id = answer.json()["connection_id"]
    row = _connection(owner, connection_id)
    assert (row["flow"], row["mode"], row["status"]) == ("delegated", "attachments", "active")
    assert "Mail.Read" in row["permissions"]
    with owner.connect() as db:
        kinds = db.execute(sa.text("select kind from vault_tokens where connection_id = :c "
                                   "order by kind"), {"c": connection_id}).scalars().all()
    assert kinds == ["access_token:default", "refresh_token"]
    token = VaultTokenProvider(vault.url, connection_id, "mail_attachments",
                               caller="invoice-parse")()
    assert token.count(".") == 2
