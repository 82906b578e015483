"""Handing out access tokens: stampede, rotation, consent loss, refusals, tampering, shredding."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from shared.crypto import RecordShredded
from shared.vault_client import ConnectionNeedsConsentError, VaultRefused, VaultTokenProvider
from tests.m365sim.harness import start_simulator
from tests.support.connect import (
    API_CALLER,
    connect_tenant,
    create_org_only,
    expire_access_token,
    running_vault,
    stored_token,
    vault_secrets_dir,
)

ACCESS, REFRESH = "access_token:default", "refresh_token"


class IssuedRefreshTokens:
    """Watches the vault's session: every refresh token the token endpoint hands out."""

    def __init__(self, session: requests.Session):
        self.values: list[str] = []
        self._lock = threading.Lock()
        session.hooks["response"].append(self._seen)

    def _seen(self, response, *args, **kwargs):
        if response.url.endswith("/oauth2/v2.0/token") and response.status_code == 200:
            token = response.json().get("refresh_token")
            if token:
                with self._lock:
                    self.values.append(token)


@pytest.fixture(scope="module")
def sim():
    with start_simulator(seed=1, profile="small") as simulator:
        yield simulator


@pytest.fixture(scope="module")
def issued(sim):
    return IssuedRefreshTokens(sim.session())


@pytest.fixture(scope="module")
def vault(stack, sim, issued):
    session = sim.session()
    session.hooks["response"].append(issued._seen)
    with running_vault(stack, sim, http_session=session) as running:
        yield running


def _handout(vault_url: str, connection_id: str, purpose: str = "directory",
             caller: str = "ingest") -> requests.Response:
    return requests.post(f"{vault_url}/v1/access-token", headers={"X-Coax-Local-Caller": caller},
                         json={"connection_id": connection_id, "purpose": purpose}, timeout=60)


def _stampede(vault_url: str, connection_id: str, callers: int) -> list[requests.Response]:
    barrier = threading.Barrier(callers)

    def one(_):
        barrier.wait()
        return _handout(vault_url, connection_id)

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(one, range(callers)))


def _token_requests(sim) -> dict:
    return sim.stats()["token_requests"]


def _delegated_connect(vault_url: str, sim, owner) -> tuple[str, str]:
    org_id = create_org_only(owner)
    start = requests.post(f"{vault_url}/connect/delegated/start", headers=API_CALLER,
                          json={"org_id": org_id, "mode": "attachments",
                                "tenant": sim.tenants[0].tenant_id}, timeout=30).json()
    authorize = sim.session().get(start["authorize_url"], allow_redirects=False, timeout=30)
    answer = requests.get(authorize.headers["Location"], timeout=30)
    assert answer.status_code == 200, answer.text
    return org_id, answer.json()["connection_id"]


def _audit_actions(owner, org_id: str | None, action: str) -> list[dict]:
    with owner.connect() as db:
        return [row.details for row in db.execute(sa.text(
            "select details from audit_log where org_id is not distinct from :org "
            "and action = :a order by id"), {"org": org_id, "a": action})]


def test_a_stampede_on_an_expired_token_makes_exactly_one_refresh(stack, owner, sim, vault):
    _, connection_id = connect_tenant(stack, owner, sim, sim.tenants[0].tenant_id, vault=vault)
    expire_access_token(owner, connection_id)
    sim.reset_stats()

    answers = _stampede(vault.url, connection_id, 100)

    assert [a.status_code for a in answers] == [200] * 100
    assert len({a.json()["access_token"] for a in answers}) == 1
    assert _token_requests(sim) == {"client_credentials:200": 1}


def test_a_delegated_stampede_refreshes_once_and_keeps_the_newest_refresh_token(
        stack, owner, sim, vault, issued):
    _, connection_id = _delegated_connect(vault.url, sim, owner)
    secrets_dir = vault_secrets_dir(stack, sim)
    assert stored_token(owner, secrets_dir, connection_id, REFRESH) == issued.values[-1]
    expire_access_token(owner, connection_id)
    sim.reset_stats()

    answers = _stampede(vault.url, connection_id, 50)

    assert {a.status_code for a in answers} == {200}
    assert _token_requests(sim) == {"refresh_token:200": 1}
    kept = stored_token(owner, secrets_dir, connection_id, REFRESH)
    assert kept == issued.values[-1]
    # Each later refresh rotates again; the vault always holds the one issued last.
    for _ in range(3):
        expire_access_token(owner, connection_id)
        assert _handout(vault.url, connection_id).status_code == 200
        newest = stored_token(owner, secrets_dir, connection_id, REFRESH)
        assert newest == issued.values[-1] and newest != kept
        kept = newest


def test_unknown_callers_and_purposes_are_refused_and_audited(stack, owner, sim, vault):
    org_id, connection_id = connect_tenant(stack, owner, sim, sim.tenants[0].tenant_id,
                                           vault=vault)
    stranger = _handout(vault.url, connection_id, caller="stranger")
    wrong_purpose = _handout(vault.url, connection_id, purpose="mail_attachments")
    unknown_purpose = _handout(vault.url, connection_id, purpose="everything")

    assert stranger.status_code == 403
    assert (wrong_purpose.status_code, wrong_purpose.json()["error"]) == (
        403, "purpose_not_allowed")
    assert (unknown_purpose.status_code, unknown_purpose.json()["error"]) == (
        403, "unknown_purpose")
    refusals = _audit_actions(owner, org_id, "token.refused")
    assert [r["reason"] for r in refusals] == ["purpose_not_allowed", "unknown_purpose"]
    assert "access_token" not in str(refusals)
    assert any("stranger" in d["reason"] for d in _audit_actions(owner, None,
                                                                  "vault.caller_refused"))


def test_handouts_are_audited_without_the_token(stack, owner, sim, vault):
    org_id, connection_id = connect_tenant(stack, owner, sim, sim.tenants[0].tenant_id,
                                           vault=vault)
    token = _handout(vault.url, connection_id, "sign_ins").json()["access_token"]
    handouts = _audit_actions(owner, org_id, "token.handout")
    assert handouts[-1]["purpose"] == "sign_ins"
    with owner.connect() as db:
        every_detail = db.execute(sa.text("select string_agg(details::text, ' ') from audit_log "
                                          "where org_id = :o"), {"o": org_id}).scalar()
    assert token not in every_detail and token.split(".")[1] not in every_detail


def test_a_swapped_or_replayed_ciphertext_fails_closed(stack, owner, sim, vault):
    _, first = connect_tenant(stack, owner, sim, sim.tenants[0].tenant_id, vault=vault)
    _, second = connect_tenant(stack, owner, sim, sim.tenants[0].tenant_id, vault=vault)
    with owner.begin() as db:
        db.execute(sa.text(
            "update vault_tokens t set ciphertext = s.ciphertext, wrapped_dek = s.wrapped_dek "
            "from vault_tokens s where t.connection_id = :a and s.connection_id = :b "
            "and t.kind = s.kind and t.kind = :k"), {"a": first, "b": second, "k": ACCESS})
    swapped = _handout(vault.url, first)
    assert (swapped.status_code, swapped.json()["error"]) == (500, "stored_token_unreadable")
    assert "access_token" not in swapped.json()

    # Replay: an older generation of the same row, put back after a refresh.
    with owner.connect() as db:
        old = db.execute(sa.text("select wrapped_dek, ciphertext from vault_tokens "
                                 "where connection_id = :c and kind = :k"),
                         {"c": second, "k": ACCESS}).one()
    expire_access_token(owner, second)
    assert _handout(vault.url, second).status_code == 200
    with owner.begin() as db:
        db.execute(sa.text("update vault_tokens set wrapped_dek = :d, ciphertext = :c "
                           "where connection_id = :id and kind = :k"),
                   {"d": old.wrapped_dek, "c": old.ciphertext, "id": second, "k": ACCESS})
    replayed = _handout(vault.url, second)
    assert (replayed.status_code, replayed.json()["error"]) == (500, "stored_token_unreadable")


def test_org_shred_makes_tokens_unrecoverable_and_handouts_fail_clearly(stack, owner, sim, vault):
    org_id, connection_id = _delegated_connect(vault.url, sim, owner)
    refused = requests.post(f"{vault.url}/v1/orgs/{org_id}/shred", headers=API_CALLER,
                            timeout=30)
    assert refused.status_code == 403
    shred = requests.post(f"{vault.url}/v1/orgs/{org_id}/shred",
                          headers={"X-Coax-Local-Caller": "retention-purge"}, timeout=30)
    assert shred.status_code == 200 and shred.json()["records_shredded"] == 2

    with pytest.raises(RecordShredded):
        stored_token(owner, vault_secrets_dir(stack, sim), connection_id, REFRESH)
    provider = VaultTokenProvider(vault.url, connection_id, "directory", caller="ingest")
    with pytest.raises(ConnectionNeedsConsentError) as raised:
        provider()
    assert raised.value.code == "not_connected"
    assert _audit_actions(owner, org_id, "org.shredded")[-1]["records_shredded"] == 2


def test_revoke_shreds_one_connection(stack, owner, sim, vault):
    _, connection_id = connect_tenant(stack, owner, sim, sim.tenants[0].tenant_id, vault=vault)
    answer = requests.post(f"{vault.url}/v1/connections/{connection_id}/revoke",
                           headers=API_CALLER, timeout=30)
    assert answer.status_code == 200 and answer.json()["records_shredded"] == 1
    with owner.connect() as db:
        readable = db.execute(sa.text("select count(*) from vault_tokens where connection_id = :c "
                                      "and wrapped_dek is not null"), {"c": connection_id})
        assert readable.scalar() == 0
    assert _handout(vault.url, connection_id).status_code == 409


def test_bad_requests_get_clear_errors(vault):
    for body in (None, {}, {"connection_id": "not-a-uuid", "purpose": "directory"},
                 {"connection_id": "8b0c2b8e-0000-4000-8000-000000000000"}):
        answer = requests.post(f"{vault.url}/v1/access-token", json=body, timeout=30,
                               headers={"X-Coax-Local-Caller": "ingest"})
        assert answer.status_code == 400, body
    unknown = _handout(vault.url, "8b0c2b8e-0000-4000-8000-000000000000")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_connection")
    with pytest.raises(VaultRefused):
        VaultTokenProvider(vault.url, "8b0c2b8e-0000-4000-8000-000000000000", "directory",
                           caller="ingest")()


class TestConsentLoss:
    """On its own simulator: revoking consent there must not disturb the other tests."""

    def test_revoked_consent_marks_the_connection_and_is_not_retried(self, stack, owner):
        with start_simulator(seed=1, profile="small") as sim, running_vault(stack, sim) as vault:
            tenant_id = sim.tenants[0].tenant_id
            org_id, connection_id = connect_tenant(stack, owner, sim, tenant_id, vault=vault)
            sim.revoke(tenant_id, consent=True)
            expire_access_token(owner, connection_id)
            sim.reset_stats()

            first = _handout(vault.url, connection_id)
            second = _handout(vault.url, connection_id)

            assert (first.status_code, first.json()["error"]) == (409, "needs_consent")
            assert (second.status_code, second.json()["error"]) == (409, "needs_consent")
            assert sum(_token_requests(sim).values()) == 1   # the second asked nobody
            with owner.connect() as db:
                status = db.execute(sa.text("select status from connections where id = :c"),
                                    {"c": connection_id}).scalar()
                events = db.execute(sa.text(
                    "select payload from outbox where topic = 'connection-needs-consent' "
                    "and payload->'data'->>'connection_id' = :c"), {"c": connection_id}).all()
            assert status == "needs_consent"
            assert len(events) == 1 and "7000229" in events[0].payload["data"]["reason"]

    def test_a_revoked_refresh_token_needs_consent(self, stack, owner):
        with start_simulator(seed=1, profile="small") as sim, running_vault(stack, sim) as vault:
            _, connection_id = _delegated_connect(vault.url, sim, owner)
            sim.revoke(sim.tenants[0].tenant_id, refresh_tokens=True)
            expire_access_token(owner, connection_id)
            provider = VaultTokenProvider(vault.url, connection_id, "directory", caller="ingest")
            with pytest.raises(ConnectionNeedsConsentError) as raised:
                provider()
            assert raised.value.code == "needs_consent"
