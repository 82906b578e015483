"""A mailbox scan through the whole pipeline: an ingest-style `mailbox-scan-requested` leaves an
outbox, the Pub/Sub emulator pushes it to a running email-scan, which gets a token from a
running token-vault (after a real admin-consent connect), queries the simulated Graph, stores
the billing and sign-up metadata once and publishes `billing-email-detected` with the
connection's mode. A second request for the same window adds nothing and costs no Graph request.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.email_scan.main import create_app
from shared.db import UnitOfWorkFactory
from shared.messaging.contracts import MailboxScanRequested
from shared.messaging.outbox import OutboxRelay
from shared.messaging.publisher import PubSubPublisher
from tests.m365sim.harness import start_simulator
from tests.m365sim.world import World
from tests.support.connect import connect_tenant, running_vault
from tests.support.stack import role_engine, running_service
from tests.support.waiting import wait_for

ANCHOR = date(2026, 11, 30)
MESSAGES = "GET /users/{id}/messages"


@pytest.fixture(scope="module")
def sim():
    with start_simulator(world=World(seed=1, profile="small", anchor_date=ANCHOR)) as running:
        yield running


def request_scan(stack, org_id, connection_id, mailbox_id, start, end) -> str:
    """What ingest does: the event goes into the outbox and out after commit."""
    engine = role_engine(stack, "coax_ingest")
    relay = OutboxRelay(engine, PubSubPublisher.create(stack.project))
    try:
        with UnitOfWorkFactory(engine, after_commit=relay.publish_ids)(org_id=org_id) as uow:
            event_id = uow.emit(MailboxScanRequested(
                org_id=org_id, connection_id=connection_id, mailbox_id=mailbox_id,
                window_start_at=start.isoformat(), window_end_at=end.isoformat()))
            uow.commit()
    finally:
        engine.dispose()
    return event_id


def stored(owner, org_id) -> set[tuple]:
    with owner.connect() as c:
        return {tuple(r) for r in c.execute(sa.text(
            "select message_id, vendor_id, kind from billing_emails where org_id = :o"),
            {"o": org_id})}


def detected_events(owner, org_id) -> list[dict]:
    with owner.connect() as c:
        return [dict(r._mapping) for r in c.execute(sa.text(
            "select payload, published_at from outbox where topic = 'billing-email-detected' "
            "and attributes->>'org_id' = :o"), {"o": org_id})]


def test_a_requested_scan_stores_and_publishes_each_billing_email_once(stack, owner, sim):
    truth = sim.ground_truth()["tenants"][0]
    by_mailbox: dict[str, set] = {}
    for m in truth["billing_messages"]:
        by_mailbox.setdefault(m["mailbox_user_id"], set()).add(
            (m["message_id"], m["vendor_id"], m["class"]))
    mailbox_id, expected = max(by_mailbox.items(), key=lambda item: len(item[1]))
    end = datetime.combine(ANCHOR, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    start = end - timedelta(days=200)

    with running_vault(stack, sim) as vault:
        org_id, connection_id = connect_tenant(stack, owner, sim, truth["tenant_id"],
                                               vault=vault, org_name="Pipeline Ltd")
        env = {"COAX_VAULT_URL": vault.url, "COAX_GRAPH_URL": sim.graph_url}
        with running_service(stack, "email-scan", create_app, extra_env=env,
                             http_session=sim.session()):
            sim.reset_stats()
            request_scan(stack, org_id, connection_id, mailbox_id, start, end)
            wait_for(lambda: stored(owner, org_id) == expected, timeout_s=30,
                     what="the mailbox's billing mail stored")
            events = wait_for(lambda: [e for e in detected_events(owner, org_id)
                                       if e["published_at"] is not None] or None,
                              what="billing-email-detected published")
            requests_after_first = sim.stats()["by_endpoint"][MESSAGES]

            # The same window again (a duplicate request from ingest): nothing new.
            again = request_scan(stack, org_id, connection_id, mailbox_id, start, end)
            wait_for(lambda: _consumed(owner, again), timeout_s=30,
                     what="the second scan request consumed")

    events = detected_events(owner, org_id)
    assert len(events) == len(expected)
    assert {e["payload"]["data"]["message_id"] for e in events} == {m[0] for m in expected}
    assert {e["payload"]["data"]["mode"] for e in events} == {"attachments"}
    assert all(e["published_at"] is not None for e in events)
    assert stored(owner, org_id) == expected
    stats = sim.stats()
    assert stats["by_endpoint"][MESSAGES] == requests_after_first
    assert requests_after_first == 3
    assert stats["privacy_violations"] == []


def _consumed(owner, event_id) -> bool:
    with owner.connect() as c:
        return c.execute(sa.text(
            "select count(*) from processed_messages where db_role = 'coax_email_scan' "
            "and message_key = :k"), {"k": event_id}).scalar() == 1
