"""Billing and sign-up detection on the simulator's `demo` profile, through the real handler,
tokens from a real token-vault (admin-consent connect), the real Graph client and the
database, scored against the simulator's ground truth.

Targets: precision >= 0.99, recall >= 0.97; and not one request the simulator counts as a
privacy violation (a body field asked for)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.email_scan.classify import Classifier
from services.email_scan.graph_access import ConnectionClients
from services.email_scan.handlers import ScanDependencies, scan_requested_mailbox
from services.email_scan.quality import score
from shared.catalog import load_catalog
from shared.db import UnitOfWorkFactory, make_engine
from shared.messaging.contracts import MailboxScanRequested
from tests.m365sim.harness import start_simulator
from tests.m365sim.world import World
from tests.support.connect import connect_tenant, running_vault

ANCHOR = date(2026, 11, 30)


@pytest.fixture(scope="module")
def demo():
    with start_simulator(world=World(seed=1, profile="demo", anchor_date=ANCHOR)) as sim:
        yield sim


class Tally:
    """Wraps the service's Graph access and counts every message that left Microsoft."""

    def __init__(self, inner):
        self.inner = inner
        self.fetched = 0

    def __call__(self, connection_id):
        self.reader = self.inner(connection_id)
        return self

    def messages_matching(self, user_id, filters, fields):
        for message in self.reader.messages_matching(user_id, filters, fields):
            self.fetched += 1
            yield message


def scan_tenant(engine, deps, org_id, connection_id, tenant: dict,
                window: tuple[datetime, datetime]) -> None:
    """Every mailbox of the tenant through the handler, one unit of work each."""
    uows = UnitOfWorkFactory(engine)
    for user in tenant["users"]:
        event = MailboxScanRequested(org_id=org_id, connection_id=connection_id,
                                     mailbox_id=user["id"],
                                     window_start_at=window[0].isoformat(),
                                     window_end_at=window[1].isoformat())
        with uows(org_id=org_id) as uow:
            scan_requested_mailbox(event, uow, deps)
            uow.commit()


def test_detection_precision_and_recall_on_the_demo_profile(stack, owner, demo):
    truth = demo.ground_truth()
    engine = make_engine(stack.url("coax_email_scan"))  # pooled, as in the service
    start = datetime.combine(ANCHOR, datetime.min.time(), tzinfo=UTC) - timedelta(days=200)
    window = (start, datetime.combine(ANCHOR, datetime.min.time(), tzinfo=UTC)
              + timedelta(days=1))
    expected, found, mailboxes, vendor_mail = set(), set(), 0, 0
    catalog = load_catalog()
    try:
        with running_vault(stack, demo) as vault:
            tally = Tally(ConnectionClients(vault.url, demo.graph_url, demo.session()))
            deps = ScanDependencies(catalog=catalog, classifier=Classifier(catalog),
                                    open_mailbox=tally)
            for tenant in truth["tenants"]:
                expected |= {(m["message_id"], m["vendor_id"], m["class"])
                             for m in tenant["billing_messages"]}
                # Only vendor mail (billing or not) and platform mail may leave Microsoft.
                vendor_mail += (len(tenant["billing_messages"])
                                + tenant["vendor_non_billing_messages"]
                                + tenant["platform_unknown_merchant_messages"])
                org_id, connection_id = connect_tenant(stack, owner, demo, tenant["tenant_id"],
                                                       vault=vault, org_name=tenant["name"])
                scan_tenant(engine, deps, org_id, connection_id, tenant, window)
                mailboxes += len(tenant["users"])
                with owner.connect() as c:
                    found |= {tuple(r) for r in c.execute(sa.text(
                        "select message_id, vendor_id, kind from billing_emails "
                        "where org_id = :o"), {"o": org_id})}
    finally:
        engine.dispose()
    result = score(found, expected)
    stats = demo.stats()
    print(f"\nemail-scan on demo: {mailboxes} mailboxes, {len(expected)} billing/sign-up "
          f"messages expected; {result.line()}; "
          f"{stats['by_endpoint'].get('GET /users/{id}/messages', 0)} message requests; "
          f"{tally.fetched} messages left Microsoft ({vendor_mail} vendor or platform mail)")
    assert len(expected) > 100
    assert result.precision >= 0.99
    assert result.recall >= 0.97
    assert stats["privacy_violations"] == []
    assert tally.fetched == vendor_mail
