"""A connection's life through the vault: connect, Graph reads with handed-out tokens,
consent revoked at Microsoft, the caller told clearly, the event on Pub/Sub, reconnect."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from google.cloud import pubsub_v1

from shared.vault_client import ConnectionNeedsConsentError, VaultTokenProvider
from tests.m365sim.harness import start_simulator
from tests.support.connect import admin_consent, connect_tenant, expire_access_token, running_vault
from tests.support.waiting import wait_for


@pytest.fixture()
def consent_events(stack):
    """A subscription of our own on the vault's topic, so nothing else takes our message."""
    subscriber = pubsub_v1.SubscriberClient()
    topic = f"projects/{stack.project}/topics/connection-needs-consent"
    name = subscriber.subscription_path(stack.project, f"vault-e2e-{uuid.uuid4().hex[:12]}")
    subscriber.create_subscription(request={"name": name, "topic": topic})

    def pull() -> list[dict]:
        response = subscriber.pull(request={"subscription": name, "max_messages": 50},
                                   timeout=10)
        if response.received_messages:
            subscriber.acknowledge(request={"subscription": name, "ack_ids": [
                m.ack_id for m in response.received_messages]})
        return [json.loads(m.message.data) for m in response.received_messages]

    yield pull
    subscriber.delete_subscription(subscription=name)
    subscriber.close()


def test_a_connection_from_consent_to_revocation_and_back(stack, owner, consent_events):
    with start_simulator(seed=1, profile="small") as sim, running_vault(stack, sim) as vault:
        tenant_id = sim.tenants[0].tenant_id
        org_id, connection_id = connect_tenant(stack, owner, sim, tenant_id, vault=vault)
        directory = VaultTokenProvider(vault.url, connection_id, "directory", caller="ingest")
        graph = sim.session()

        users = graph.get(f"{sim.graph_url}/users?$select=id,displayName", timeout=30,
                          headers={"Authorization": f"Bearer {directory()}"})
        assert users.status_code == 200 and len(users.json()["value"]) > 0

        sim.revoke(tenant_id, consent=True)
        expire_access_token(owner, connection_id)
        directory.invalidate()
        with pytest.raises(ConnectionNeedsConsentError) as refused:
            directory()
        assert refused.value.code == "needs_consent"

        seen: list[dict] = []

        def our_event():
            seen.extend(consent_events())
            return [e for e in seen if e["data"]["connection_id"] == connection_id]

        event = wait_for(our_event, timeout_s=30, what="connection-needs-consent on Pub/Sub")[0]
        assert event["data"]["org_id"] == org_id and "7000229" in event["data"]["reason"]
        assert "access_token" not in json.dumps(event)

        # The admin consents again: the same connection comes back to life.
        again = admin_consent(vault.url, sim, org_id, tenant_id)
        assert again["connection_id"] == connection_id
        directory.invalidate()
        users = requests.get(f"{sim.graph_url}/users?$select=id", timeout=30,
                             headers={"Authorization": f"Bearer {directory()}"},
                             verify=str(sim.ca_bundle))
        assert users.status_code == 200
