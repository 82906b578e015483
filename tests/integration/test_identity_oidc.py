"""Push, scheduler and service-to-service authentication on real signed tokens."""

from __future__ import annotations

import pytest
import requests

from infra.local.stack import service_env
from services.ingest.main import create_app
from shared.identity.oidc import Forbidden, LocalTrust, OidcVerifier, Unauthenticated
from shared.topology import load_topology
from tests.support.oidc_issuer import LocalOidcIssuer
from tests.support.stack import running_service

AUDIENCE = "https://ingest-abc-ew.a.run.app"


@pytest.fixture(scope="module")
def issuer():
    issuer = LocalOidcIssuer().start()
    yield issuer
    issuer.stop()


@pytest.fixture
def verifier(issuer):
    topology = load_topology()
    push = topology.service_account("pubsub-push")
    return OidcVerifier(AUDIENCE, {push: "pubsub-push"}, certs_url=issuer.certs_url)


def _bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_valid_push_token_names_its_identity(issuer, verifier):
    email = load_topology().service_account("pubsub-push")
    caller = verifier.verify(_bearer(issuer.token(email=email, audience=AUDIENCE)))
    assert caller.identity == "pubsub-push"


@pytest.mark.parametrize("case, expected", [
    ("expired", "expired"),
    ("wrong_audience", "audience"),
    ("forged", "signature"),
])
def test_bad_tokens_are_refused_with_the_reason(issuer, verifier, case, expected):
    email = load_topology().service_account("pubsub-push")
    token = {
        "expired": lambda: issuer.token(email=email, audience=AUDIENCE, issued_ago_s=4000,
                                        lifetime_s=3600),
        "wrong_audience": lambda: issuer.token(email=email, audience="https://other.run.app"),
        "forged": lambda: issuer.token(email=email, audience=AUDIENCE,
                                       signer=issuer.foreign_signer()),
    }[case]()
    with pytest.raises(Unauthenticated, match=expected):
        verifier.verify(_bearer(token))


def test_wrong_issuer_unverified_email_and_missing_token_are_refused(issuer, verifier):
    email = load_topology().service_account("pubsub-push")
    with pytest.raises(Unauthenticated, match="issuer"):
        verifier.verify(_bearer(issuer.token(email=email, audience=AUDIENCE,
                                             issuer="https://evil.example")))
    with pytest.raises(Unauthenticated, match="not verified"):
        verifier.verify(_bearer(issuer.token(email=email, audience=AUDIENCE,
                                             email_verified=False)))
    with pytest.raises(Unauthenticated, match="missing"):
        verifier.verify(None)


def test_an_unknown_caller_is_forbidden(issuer, verifier):
    token = issuer.token(email="intruder@evil.iam.gserviceaccount.com", audience=AUDIENCE)
    with pytest.raises(Forbidden):
        verifier.verify(_bearer(token))


def test_signing_certs_are_cached(issuer, verifier):
    email = load_topology().service_account("pubsub-push")
    before = issuer.fetches
    for _ in range(5):
        verifier.verify(_bearer(issuer.token(email=email, audience=AUDIENCE)))
    assert issuer.fetches - before == 1


def test_a_service_with_push_auth_checks_tokens_on_push_and_scheduler_routes(stack, issuer):
    topology = load_topology()
    env = {"COAX_ENV": "cloud", "COAX_PUSH_AUTH": "true", "COAX_PUSH_AUDIENCE": AUDIENCE}
    with running_service(stack, "ingest", create_app, extra_env=env, port=0,
                         certs_url=issuer.certs_url) as ingest:
        anonymous = requests.post(f"{ingest.url}/cron/sync", timeout=10)
        push_identity = issuer.token(email=topology.service_account("pubsub-push"),
                                     audience=AUDIENCE)
        wrong_identity_on_cron = requests.post(
            f"{ingest.url}/cron/sync", headers={"Authorization": _bearer(push_identity)},
            timeout=10)
        envelope = {"subscription": "s", "message": {"messageId": "1", "data": ""}}
        push_ok = requests.post(f"{ingest.url}/push/sync-requested", json=envelope,
                                headers={"Authorization": _bearer(push_identity)}, timeout=10)
    assert anonymous.status_code == 401
    assert wrong_identity_on_cron.status_code == 403
    assert push_ok.status_code == 200      # authenticated; the empty message is then parked


def test_local_no_auth_mode_refuses_to_start_on_cloud_run(stack, monkeypatch):
    monkeypatch.setenv("K_SERVICE", "ingest")
    with pytest.raises(RuntimeError, match="K_SERVICE"):
        LocalTrust("pubsub-push", {"pubsub-push"})
    from shared.settings import Settings, SettingsError

    env = service_env(stack, "ingest") | {"K_SERVICE": "ingest"}
    with pytest.raises(SettingsError, match="refusing"):
        Settings.from_env("ingest", env)
