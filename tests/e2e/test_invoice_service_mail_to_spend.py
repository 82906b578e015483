"""Mail to spend through the emulator: a mailbox scan request goes to email-scan, which
publishes `billing-email-detected`; Pub/Sub pushes each to invoice-parse, which reads the
PDFs through the vault and Graph (the simulator) and stores the fields. Checked against the
simulator's ground truth; then everything is delivered a second time and nothing changes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from services.email_scan.main import create_app as email_scan_app
from services.invoice_parse.main import create_app as invoice_parse_app
from shared.messaging.contracts import MailboxScanRequested
from shared.messaging.publisher import PubSubPublisher
from tests.m365sim.harness import start_simulator
from tests.support.connect import connect_tenant, running_vault
from tests.support.stack import running_service
from tests.support.waiting import wait_for


def _publish_scans(stack, org_id, connection_id, mailboxes, anchor):
    publisher = PubSubPublisher.create(stack.project)
    start = datetime.combine(anchor, datetime.min.time(), tzinfo=UTC) - timedelta(days=200)
    end = datetime.now(UTC)
    for mailbox in sorted(mailboxes):
        event = MailboxScanRequested(org_id=org_id, connection_id=connection_id,
                                     mailbox_id=mailbox, window_start_at=start.isoformat(),
                                     window_end_at=end.isoformat())
        publisher.publish(event.topic, json.dumps(event.to_payload()).encode(),
                          event.attributes(str(uuid.uuid4())))


def _stored(owner, org_id):
    with owner.connect() as c:
        return {r.source_message_id: r for r in c.execute(sa.text(
            "select source_message_id, vendor_id, invoice_number, total_minor, currency, "
            "tax_minor, invoice_date::text as invoice_date, period_start::text as period_start, "
            "period_end::text as period_end, source from invoices where org_id = :o"),
            {"o": org_id})}


def _detected_and_handled(owner, org_id) -> tuple[set[str], set[str]]:
    with owner.connect() as c:
        detected = set(c.execute(sa.text("select message_id from billing_emails where "
                                         "org_id = :o"), {"o": org_id}).scalars())
        handled = set(c.execute(sa.text("select source_message_id from "
                                        "invoice_parse_outcomes where org_id = :o"),
                                {"o": org_id}).scalars())
    return detected, handled


def _all_handled(owner, org_id, seen: list) -> bool:
    """Every email email-scan detected has an outcome, and no new one came for a while."""
    detected, handled = _detected_and_handled(owner, org_id)
    seen.append(len(detected))
    return bool(detected) and detected == handled and seen[-8:] == [len(detected)] * 8


def _republish_detected(stack, owner, org_id) -> datetime:
    with owner.connect() as c:
        payloads = c.execute(sa.text(
            "select payload from outbox where topic = 'billing-email-detected' "
            "and attributes->>'org_id' = :o"), {"o": org_id}).scalars().all()
        started = c.execute(sa.text("select now()")).scalar()
    publisher = PubSubPublisher.create(stack.project)
    for payload in payloads:
        attributes = {"type": payload["type"], "version": str(payload["version"]),
                      "org_id": org_id, "event_id": str(uuid.uuid4())}
        publisher.publish("billing-email-detected", json.dumps(payload).encode(), attributes)
    return started


def _handled_since(owner, org_id, since: datetime) -> int:
    with owner.connect() as c:
        return c.execute(sa.text("select count(*) from invoice_parse_outcomes where "
                                 "org_id = :o and recorded_at > :t"),
                         {"o": org_id, "t": since}).scalar()


def test_mail_flows_to_invoices_through_pubsub_exactly_once(stack, owner):
    with start_simulator(seed=7, profile="small") as sim, running_vault(stack, sim) as vault:
        truth = sim.ground_truth()
        tenant = truth["tenants"][0]                       # the tenant that allows attachments
        org_id, connection_id = connect_tenant(stack, owner, sim, tenant["tenant_id"],
                                               vault=vault, org_name=tenant["name"])
        env = {"COAX_VAULT_URL": vault.url, "COAX_GRAPH_URL": sim.graph_url}
        billing = tenant["billing_messages"]
        with running_service(stack, "email-scan", email_scan_app, extra_env=env,
                             http_session=sim.session()), \
                running_service(stack, "invoice-parse", invoice_parse_app, extra_env=env,
                                http_session=sim.session()):
            _publish_scans(stack, org_id, connection_id,
                           {m["mailbox_user_id"] for m in billing},
                           datetime.fromisoformat(truth["anchor_date"]).date())
            seen: list[int] = []
            wait_for(lambda: _all_handled(owner, org_id, seen), timeout_s=120,
                     interval_s=0.5, what="every detected billing email handled")
            detected, _ = _detected_and_handled(owner, org_id)
            first = _stored(owner, org_id)

            # Every detected invoice whose PDF the connection may read: every field exact.
            # (Which emails are detected is email-scan's business, scored in its own tests.)
            with_pdf = [i for i in tenant["invoices"]
                        if i["attachment_id"] and i["message_id"] in detected]
            assert len(with_pdf) >= 10
            for invoice in with_pdf:
                row = first[invoice["message_id"]]
                assert (row.vendor_id, row.invoice_number, row.total_minor, row.currency,
                        row.tax_minor, row.invoice_date, row.period_start, row.period_end,
                        row.source) == (
                    invoice["vendor_id"], invoice["invoice_number"], invoice["total_minor"],
                    invoice["currency"], invoice["tax_minor"], invoice["invoice_date"],
                    invoice["period_start"], invoice["period_end"], "attachment")
            # Nothing stored for a message that is not an invoice.
            assert set(first) <= {i["message_id"] for i in tenant["invoices"]}

            # The events left through the outbox.
            with owner.connect() as c:
                published = c.execute(sa.text(
                    "select count(*), count(published_at) from outbox where topic = "
                    "'invoice-parsed' and attributes->>'org_id' = :o"), {"o": org_id}).one()
            assert published[0] == len(first) and published[1] == published[0]

            # Every billing-email-detected published again under new event ids (as a
            # publisher retry would): handled again, and nothing changes.
            republished_at = _republish_detected(stack, owner, org_id)
            wait_for(lambda: _handled_since(owner, org_id, republished_at) == len(detected),
                     timeout_s=60, interval_s=0.5, what="every email handled a second time")
            assert _stored(owner, org_id) == first
            with owner.connect() as c:
                again = c.execute(sa.text(
                    "select count(*) from outbox where topic = 'invoice-parsed' "
                    "and attributes->>'org_id' = :o"), {"o": org_id}).scalar()
            assert again == published[0]

    # Nothing was downloaded to disk or kept: the simulator is gone, the invoices stay.
    assert _stored(owner, org_id) == first
