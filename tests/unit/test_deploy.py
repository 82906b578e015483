"""The deployment derived from the topology keeps the residency and access promises."""

from __future__ import annotations

import pytest

from infra.deploy import ResidencyError, commands
from shared.topology import load_topology


def test_deploying_outside_the_eu_needs_an_explicit_override():
    with pytest.raises(ResidencyError, match="outside the EU"):
        commands(load_topology(), "p", "us-central1", allow_non_eu=False)
    assert commands(load_topology(), "p", "us-central1", allow_non_eu=True)


def test_secrets_are_granted_to_their_one_owner_and_internal_services_are_private():
    cmds = [" ".join(c) for c in commands(load_topology(), "p", "europe-west1", False)]
    kek_grants = [c for c in cmds if "add-iam-policy-binding token-kek" in c]
    assert len(kek_grants) == 1 and "token-vault@p.iam" in kek_grants[0]
    # Services without a public route (OAuth callbacks, the tenant API) are closed
    # at Cloud Run's front door; the others check every non-public route in the app.
    for name in ("ingest", "email-scan", "invoice-parse", "retention-purge"):
        deploy = next(c for c in cmds if c.startswith(f"gcloud run deploy {name} "))
        assert "--no-allow-unauthenticated" in deploy
    subscriptions = [c for c in cmds if "subscriptions create" in c and "--push-endpoint" in c]
    assert subscriptions and all("--dead-letter-topic" in c and "--push-auth-service-account" in c
                                 for c in subscriptions)
