"""On the simulator's generated invoices, every field invoice-parse can know is exact.

Real everything except Microsoft: the simulated tenant serves the mail and the PDF
attachments over Graph, a real token-vault hands out `mail_attachments` tokens after a real
admin consent, and invoice-parse runs its real push endpoint against PostgreSQL. The
expected values come from the simulator's ground truth, never from our own parsing:
- a PDF the connection may read: every field exactly as the invoice states it;
- otherwise (metadata-only tenant, or mail without a PDF): only what the subject states.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid

import pytest
import sqlalchemy as sa

from infra.local.stack import service_env
from services.invoice_parse.main import create_app
from shared.messaging.contracts import BillingEmailDetected
from tests.m365sim.harness import start_simulator
from tests.support.connect import connect_tenant, running_vault

SPEND_CLASSES = ("receipt", "renewal")


@pytest.fixture(scope="module")
def world(stack, owner):
    """The simulator, a vault, both tenants connected, and invoice-parse wired to them."""
    with start_simulator(seed=7, profile="small") as sim, running_vault(stack, sim) as vault:
        truth = sim.ground_truth()
        tenants = []
        for tenant in truth["tenants"]:
            org_id, connection_id = connect_tenant(stack, owner, sim, tenant["tenant_id"],
                                                   vault=vault, org_name=tenant["name"])
            with owner.connect() as c:
                mode = c.execute(sa.text("select mode from connections where id = :c"),
                                 {"c": connection_id}).scalar()
            tenants.append({"truth": tenant, "org_id": org_id, "connection_id": connection_id,
                            "mode": mode})
        env = service_env(stack, "invoice-parse", {"COAX_VAULT_URL": vault.url,
                                                   "COAX_GRAPH_URL": sim.graph_url})
        app = create_app(env, http_session=sim.session())
        try:
            yield {"sim": sim, "client": app.test_client(), "tenants": tenants}
        finally:
            app.extensions["coax"].engine.dispose()


def _event(tenant, message) -> BillingEmailDetected:
    return BillingEmailDetected(
        org_id=tenant["org_id"], connection_id=tenant["connection_id"],
        mailbox_id=message["mailbox_user_id"], message_id=message["message_id"],
        vendor_id=message["vendor_id"], kind=message["class"], subject=message["subject"],
        received_at=message["received"].replace("Z", "+00:00"),
        has_attachments=message["has_pdf"], mode=tenant["mode"])


def _push(client, event, event_id=None):
    envelope = {"subscription": "projects/coax-local/subscriptions/"
                                "invoice-parse-billing-email-detected",
                "message": {"data": base64.b64encode(
                    json.dumps(event.to_payload()).encode()).decode(),
                    "attributes": event.attributes(event_id or str(uuid.uuid4())),
                    "messageId": secrets.token_hex(6)}}
    return client.post("/push/billing-email-detected", json=envelope)


def _stored(owner, org_id) -> dict[str, dict]:
    with owner.connect() as c:
        rows = c.execute(sa.text(
            "select source_message_id, vendor_id, invoice_number, total_minor, currency, "
            "tax_minor, invoice_date::text, period_start::text, period_end::text, source, "
            "received_on::text from invoices where org_id = :org"), {"org": org_id})
        return {r.source_message_id: dict(r._mapping) for r in rows}


def _expected(invoice: dict, message: dict, mode: str) -> dict | None:
    """What the ground truth says we can know, or None when nothing can be known."""
    if mode == "attachments" and invoice["attachment_id"]:
        return {"vendor_id": invoice["vendor_id"], "invoice_number": invoice["invoice_number"],
                "total_minor": invoice["total_minor"], "currency": invoice["currency"],
                "tax_minor": invoice["tax_minor"], "invoice_date": invoice["invoice_date"],
                "period_start": invoice["period_start"], "period_end": invoice["period_end"],
                "source": "attachment"}
    in_subject = invoice["amount_in_subject"]
    number_in_subject = invoice["invoice_number"] in message["subject"]
    return {"vendor_id": invoice["vendor_id"],
            "total_minor": invoice["total_minor"] if in_subject else None,
            "currency": invoice["currency"] if in_subject else None,
            "invoice_number": invoice["invoice_number"] if number_in_subject else "<subject's>",
            "tax_minor": None, "invoice_date": None, "period_start": None, "period_end": None,
            "received_on": invoice["invoice_date"], "source": "subject"}


def test_every_ground_truth_invoice_is_stored_exactly_and_only_once(world, owner):
    client = world["client"]
    checked = {"attachment": 0, "subject": 0, "nothing": 0}
    for tenant in world["tenants"]:
        truth = tenant["truth"]
        messages = {m["message_id"]: m for m in truth["billing_messages"]}
        for message in truth["billing_messages"]:
            answer = _push(client, _event(tenant, message))
            assert answer.status_code == 204, (message["message_id"], answer.get_data())
        stored = _stored(owner, tenant["org_id"])
        problems = []
        for invoice in truth["invoices"]:
            message = messages[invoice["message_id"]]
            want = _expected(invoice, message, tenant["mode"])
            got = stored.pop(invoice["message_id"], None)
            if want["total_minor"] is None and want["invoice_number"] == "<subject's>" \
                    and got is None:
                checked["nothing"] += 1   # the subject states neither amount nor number
                continue
            if got is None:
                problems.append(("missing", invoice["message_id"], want))
                continue
            if want["invoice_number"] == "<subject's>":
                # A receipt number or account reference the subject prints, not the
                # invoice's own number: it must at least be copied from the subject.
                want["invoice_number"] = got["invoice_number"]
                assert got["invoice_number"] is None or got["invoice_number"] in \
                    message["subject"]
            diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
            if diff:
                problems.append((invoice["message_id"], invoice["language"], diff))
            checked[want["source"]] += 1
        assert problems == [], f"{len(problems)} invoices differ: {problems[:5]}"
        # Nothing stored that the ground truth does not list as an invoice.
        assert stored == {}
    # Both paths were exercised (seed 7: 16 from PDFs, 32 from subjects, 17 with neither).
    assert checked["attachment"] >= 10 and checked["subject"] >= 10, checked


def test_redelivering_everything_changes_nothing(world, owner):
    tenant = world["tenants"][0]
    assert tenant["mode"] == "attachments"
    before = _stored(owner, tenant["org_id"])
    if not before:  # run alone: do the first delivery here
        for message in tenant["truth"]["billing_messages"]:
            _push(world["client"], _event(tenant, message))
        before = _stored(owner, tenant["org_id"])

    def counts():
        with owner.connect() as c:
            events = c.execute(sa.text("select count(*) from outbox where topic = "
                                       "'invoice-parsed' and attributes->>'org_id' = :o"),
                               {"o": tenant["org_id"]}).scalar()
            spend = c.execute(sa.text("select month, currency, amount_minor, amount_org_minor "
                                      "from spend_monthly where org_id = :o order by 1, 2"),
                              {"o": tenant["org_id"]}).all()
        return events, spend

    events_before, spend_before = counts()
    for message in tenant["truth"]["billing_messages"]:
        assert _push(world["client"], _event(tenant, message)).status_code == 204
    assert _stored(owner, tenant["org_id"]) == before
    assert counts() == (events_before, spend_before)
    # The spend roll-up in the invoice currency adds up to the ground truth's invoices.
    totals: dict[str, int] = {}
    for row in spend_before:
        totals[row.currency] = totals.get(row.currency, 0) + row.amount_minor
    expected: dict[str, int] = {}
    for invoice in before.values():
        if invoice["total_minor"] is not None:
            expected[invoice["currency"]] = expected.get(invoice["currency"], 0) \
                + invoice["total_minor"]
    assert totals == expected and totals
