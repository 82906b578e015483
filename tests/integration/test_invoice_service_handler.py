"""invoice-parse against real PostgreSQL: business-key idempotency, spend roll-ups, hostile
documents. Microsoft is the only stand-in: a mailbox that serves PDF attachments from
memory (the simulator-backed run is in test_invoice_service_simulator.py)."""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from fpdf import FPDF

from infra.local.stack import service_env
from services.invoice_parse.documents import AttachmentMeta
from services.invoice_parse.main import create_app
from shared.messaging.contracts import BillingEmailDetected
from tests.support.stack import create_org

PUSH_PATH = "/push/billing-email-detected"
REPO = Path(__file__).resolve().parents[2]


# --- Microsoft's side: a mailbox whose attachments live in memory --------------------------
@dataclass
class MemoryMailbox:
    attachments: dict[str, list[tuple[AttachmentMeta, bytes]]] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)

    def attach(self, message_id: str, document: bytes, *, name: str = "invoice.pdf",
               content_type: str = "application/pdf", listed_size: int | None = None) -> None:
        meta = AttachmentMeta(f"att-{len(self.downloads)}-{secrets.token_hex(4)}", name,
                              content_type, listed_size if listed_size is not None
                              else len(document))
        self.attachments.setdefault(message_id, []).append((meta, document))

    def list_attachments(self, user_id: str, message_id: str) -> list[AttachmentMeta]:
        return [meta for meta, _ in self.attachments.get(message_id, [])]

    def download(self, user_id, message_id, attachment_id, max_bytes) -> bytes:
        self.downloads.append(attachment_id)
        for meta, document in self.attachments[message_id]:
            if meta.id == attachment_id:
                return document[:max_bytes + 1]
        raise KeyError(attachment_id)


def invoice_pdf(number: str, total: str, *, tax: str = "20.00", date: str = "October 5, 2026",
                period: str = "Oct 5, 2026 - Nov 4, 2026", currency: str = "USD",
                marker: str = "") -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_compression(False)  # so a leak of the document would show its text verbatim
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    for line in ("Slack Technologies", "Invoice", f"Invoice number: {number}",
                 f"Invoice date: {date}", f"Service period: {period}",
                 f"Customer reference: {marker}", f"VAT 20%  {currency} {tax}",
                 f"Total  {currency} {total}"):
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def encrypted_pdf() -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(invoice_pdf("ENC-1", "10.00")))
    writer.encrypt(user_password="not-shared", owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bomb_pdf() -> bytes:
    """One page whose content stream inflates from ~100 KB to 200 MB."""
    stream = zlib.compress(b" " * 200_000_000, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


# --- the service, driven through its real push endpoint -------------------------------------
@pytest.fixture(scope="module")
def mailbox():
    return MemoryMailbox()


@pytest.fixture(scope="module")
def service(stack, mailbox):
    app = create_app(service_env(stack, "invoice-parse"), open_attachments=lambda _: mailbox)
    yield app.test_client()
    app.extensions["coax"].engine.dispose()


def detected(org_id, connection_id, *, subject="Your Slack receipt", kind="receipt",
             mode="attachments", has_attachments=True, vendor="slack",
             received_at="2026-10-05T09:30:00+00:00", message_id=None) -> BillingEmailDetected:
    return BillingEmailDetected(
        org_id=org_id, connection_id=connection_id, mailbox_id=str(uuid.uuid4()),
        message_id=message_id or f"AAMk{secrets.token_hex(12)}", vendor_id=vendor, kind=kind,
        subject=subject, received_at=received_at, has_attachments=has_attachments, mode=mode)


def push(client, event, *, message_id=None, event_id=None):
    envelope = {
        "subscription": "projects/coax-local/subscriptions/invoice-parse-billing-email-detected",
        "message": {
            "data": base64.b64encode(json.dumps(event.to_payload()).encode()).decode(),
            "attributes": event.attributes(event_id or str(uuid.uuid4())),
            "messageId": message_id or secrets.token_hex(6),
            "publishTime": "2026-12-04T10:00:00Z",
        },
    }
    return client.post(PUSH_PATH, json=envelope)


def rows(owner, sql, **params):
    with owner.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.text(sql), params)]


def invoices(owner, org_id):
    return rows(owner, "select vendor_id, invoice_number, total_minor, currency, tax_minor, "
                "invoice_date::text, period_start::text, period_end::text, source, "
                "received_on::text from invoices where org_id = :org order by received_on, "
                "invoice_number", org=org_id)


def parsed_events(owner, org_id):
    return rows(owner, "select payload->'data' as data from outbox where topic = "
                "'invoice-parsed' and attributes->>'org_id' = :org order by created_at",
                org=org_id)


def outcome(owner, org_id, message_id):
    [row] = rows(owner, "select outcome, document, reason from invoice_parse_outcomes "
                 "where org_id = :org and source_message_id = :m", org=org_id, m=message_id)
    return row


# --- the behaviour -----------------------------------------------------------------------------
def test_a_metadata_only_receipt_keeps_what_its_subject_states(service, owner):
    org_id, connection_id = create_org(owner, mode="metadata")
    event = detected(org_id, connection_id, mode="metadata",
                     subject="Your receipt from Slack: $45.00 for invoice INV-2026-00042")
    assert push(service, event).status_code == 204
    assert invoices(owner, org_id) == [{
        "vendor_id": "slack", "invoice_number": "INV-2026-00042", "total_minor": 4500,
        "currency": "USD", "tax_minor": None, "invoice_date": None, "period_start": None,
        "period_end": None, "source": "subject", "received_on": "2026-10-05"}]
    [published] = parsed_events(owner, org_id)
    assert published["data"]["total_minor"] == 4500 and published["data"]["source"] == "subject"
    assert outcome(owner, org_id, event.message_id) == {
        "outcome": "stored", "document": None, "reason": None}


def test_the_pdf_gives_every_field_and_redelivery_changes_nothing(service, owner, mailbox):
    org_id, connection_id = create_org(owner)
    event = detected(org_id, connection_id, subject="Your Slack receipt #1234-5678")
    mailbox.attach(event.message_id, invoice_pdf("SL-2026-0042", "120.00"))
    event_id = str(uuid.uuid4())
    assert push(service, event, event_id=event_id).status_code == 204
    expected = [{
        "vendor_id": "slack", "invoice_number": "SL-2026-0042", "total_minor": 12000,
        "currency": "USD", "tax_minor": 2000, "invoice_date": "2026-10-05",
        "period_start": "2026-10-05", "period_end": "2026-11-04", "source": "attachment",
        "received_on": "2026-10-05"}]
    assert invoices(owner, org_id) == expected
    spend_before = rows(owner, "select * from spend_monthly where org_id = :org", org=org_id)

    # The same delivery again, the same event re-published, and a second email about the
    # same invoice: one invoice, one event, the same spend.
    assert push(service, event, event_id=event_id).status_code == 204
    assert push(service, event).status_code == 204
    again = detected(org_id, connection_id, subject="Slack invoice SL-2026-0042",
                     received_at="2026-10-06T08:00:00+00:00")
    mailbox.attach(again.message_id, invoice_pdf("SL-2026-0042", "120.00"))
    assert push(service, again).status_code == 204
    assert invoices(owner, org_id) == expected
    assert len(parsed_events(owner, org_id)) == 1
    assert rows(owner, "select * from spend_monthly where org_id = :org", org=org_id) \
        == spend_before


def test_a_later_pdf_improves_a_subject_only_record_but_a_subject_never_downgrades_it(
        service, owner, mailbox):
    org_id, connection_id = create_org(owner)
    first = detected(org_id, connection_id, has_attachments=False,
                     subject="Payment of $99.00 received, invoice SL-2026-0077")
    assert push(service, first).status_code == 204
    assert invoices(owner, org_id)[0]["source"] == "subject"
    second = detected(org_id, connection_id, subject="Your Slack invoice SL-2026-0077")
    mailbox.attach(second.message_id, invoice_pdf("SL-2026-0077", "120.00"))
    assert push(service, second).status_code == 204
    third = detected(org_id, connection_id, has_attachments=False,
                     subject="Reminder: invoice SL-2026-0077 of $99.00")
    assert push(service, third).status_code == 204
    [stored] = invoices(owner, org_id)
    assert (stored["source"], stored["total_minor"], stored["tax_minor"]) == ("attachment",
                                                                              12000, 2000)
    assert len(parsed_events(owner, org_id)) == 2   # stored, then improved; not downgraded


def test_spend_rolls_up_per_month_in_invoice_and_org_currency(service, owner, mailbox):
    org_id, connection_id = create_org(owner)
    with owner.begin() as connection:
        connection.execute(sa.text("update organizations set currency = 'DKK' where id = :o"),
                           {"o": org_id})
    for number, day, period in (("SL-1", "August 5, 2026", "Aug 5, 2026 - Sep 4, 2026"),
                                ("SL-2", "September 5, 2026", "Sep 5, 2026 - Oct 4, 2026"),
                                ("SL-3", "October 5, 2026", "Oct 5, 2026 - Nov 4, 2026")):
        event = detected(org_id, connection_id)
        mailbox.attach(event.message_id, invoice_pdf(number, "116.00", tax="0.00", date=day,
                                                     period=period))
        assert push(service, event).status_code == 204
    monthly = rows(owner, "select month::text, currency, amount_minor, org_currency, "
                   "amount_org_minor, invoices from spend_monthly where org_id = :org "
                   "order by month", org=org_id)
    # The migration's reference rates in force from 2026-07-01: 1.16 USD and 7.46 DKK per EUR.
    assert monthly == [
        {"month": m, "currency": "USD", "amount_minor": 11600, "org_currency": "DKK",
         "amount_org_minor": 74600, "invoices": 1}
        for m in ("2026-08-01", "2026-09-01", "2026-10-01")]
    annual = rows(owner, "select currency, annualized_minor, annualized_org_minor, "
                  "as_of::text, invoices from spend_annualized where org_id = :org", org=org_id)
    assert annual == [{"currency": "USD", "annualized_minor": 139200,
                       "annualized_org_minor": 895200, "as_of": "2026-10-05", "invoices": 1}]


@pytest.mark.parametrize(("document", "listed_size", "reason"), [
    (encrypted_pdf, None, "encrypted"),
    (bomb_pdf, None, "decompression_bomb"),
    (lambda: b"%PDF-1.7\n" + secrets.token_bytes(4000), None, "malformed"),
    (lambda: invoice_pdf("BIG-1", "1.00"), 50 * 1024 * 1024, "too_large"),
])
def test_a_hostile_document_is_set_aside_with_its_reason_and_the_service_goes_on(
        service, owner, mailbox, document, listed_size, reason):
    org_id, connection_id = create_org(owner)
    hostile = detected(org_id, connection_id, subject="Your Slack receipt")
    mailbox.attach(hostile.message_id, document(), listed_size=listed_size)
    started = time.monotonic()
    assert push(service, hostile).status_code == 204
    assert time.monotonic() - started < 30
    assert outcome(owner, org_id, hostile.message_id) == {
        "outcome": "nothing_found", "document": "rejected", "reason": reason}
    assert invoices(owner, org_id) == []
    fine = detected(org_id, connection_id)
    mailbox.attach(fine.message_id, invoice_pdf("SL-OK-1", "12.00"))
    assert push(service, fine).status_code == 204
    assert [i["invoice_number"] for i in invoices(owner, org_id)] == ["SL-OK-1"]


def test_an_oversize_attachment_is_refused_from_its_listing_without_downloading(
        service, owner, mailbox):
    org_id, connection_id = create_org(owner)
    event = detected(org_id, connection_id, subject="Your receipt: EUR 10.00")
    mailbox.attach(event.message_id, b"%PDF-1.7 tiny", listed_size=11 * 1024 * 1024)
    assert push(service, event).status_code == 204
    assert not [a for a in mailbox.downloads
                if a == mailbox.attachments[event.message_id][0][0].id]
    # The subject still counts; the document's reason is kept beside it.
    assert outcome(owner, org_id, event.message_id) == {
        "outcome": "stored", "document": "rejected", "reason": "too_large"}
    assert invoices(owner, org_id)[0]["total_minor"] == 1000


def test_non_spend_kinds_and_narrowed_connections(service, owner, mailbox):
    org_id, connection_id = create_org(owner, mode="metadata")
    signup = detected(org_id, connection_id, kind="signup", subject="Welcome to Slack")
    assert push(service, signup).status_code == 204
    assert outcome(owner, org_id, signup.message_id)["outcome"] == "not_spend"
    # Detected while attachments were allowed; the admin has narrowed the connection since.
    narrowed = detected(org_id, connection_id, subject="Receipt: $5.00")
    mailbox.attach(narrowed.message_id, invoice_pdf("SL-N-1", "5.00"))
    assert push(service, narrowed).status_code == 204
    assert invoices(owner, org_id)[0]["source"] == "subject"
    assert narrowed.message_id not in str(mailbox.downloads)


def test_an_unknown_connection_is_parked(service, owner):
    org_id, _ = create_org(owner)
    event = detected(org_id, str(uuid.uuid4()), subject="Receipt: $5.00")
    answer = push(service, event)
    assert answer.status_code == 200 and answer.get_json()["result"] == "parked"
    assert invoices(owner, org_id) == []


def test_no_invoice_document_reaches_the_database_or_the_disk(service, owner, mailbox, stack):
    marker = f"LEAKCHECK-{secrets.token_hex(8)}"
    org_id, connection_id = create_org(owner)
    event = detected(org_id, connection_id)
    document = invoice_pdf("SL-LEAK-1", "33.00", marker=marker)
    assert marker.encode() in document
    mailbox.attach(event.message_id, document)
    since, since_xid = time.time() - 1, current_xid(owner)
    assert push(service, event).status_code == 204
    assert invoices(owner, org_id)[0]["invoice_number"] == "SL-LEAK-1"

    # Each search is first shown to find what it looks for: the stored invoice number in
    # the database, and a control file holding the marker on disk.
    found = tables_containing(owner, ("SL-LEAK-1", marker, "%PDF-"), since_xid)
    assert found == {"SL-LEAK-1": ["invoices"], marker: [], "%PDF-": []}
    control = Path("/tmp") / f"invoice-leak-control-{secrets.token_hex(4)}"
    control.write_bytes(marker.encode())
    try:
        assert files_containing(marker.encode(), since) == [control]
    finally:
        control.unlink()


def current_xid(owner) -> int:
    with owner.connect() as connection:
        return connection.execute(sa.text("select txid_current() % 4294967296")).scalar()


def tables_containing(owner, needles: tuple[str, ...], since_xid: int) -> dict[str, list[str]]:
    """Which tables hold each needle in a row written since `since_xid` (one pass each)."""
    found: dict[str, list[str]] = {needle: [] for needle in needles}
    counts = ", ".join(f"count(*) filter (where strpos(t::text, :n{i}) > 0)"
                       for i in range(len(needles)))
    params = {f"n{i}": needle for i, needle in enumerate(needles)}
    with owner.connect() as connection:
        tables = connection.execute(sa.text(
            "select table_name from information_schema.tables where table_schema = 'public' "
            "and table_type = 'BASE TABLE' order by table_name")).scalars().all()
        for table in tables:
            hits = connection.execute(sa.text(
                f"select {counts} from {table} t where t.xmin::text::bigint >= :since"),
                {**params, "since": since_xid}).one()
            for needle, count in zip(needles, hits, strict=True):
                if count:
                    found[needle].append(table)
    return found


def files_containing(needle: bytes, since: float) -> list[Path]:
    """Files under .local and /tmp written since `since` that contain `needle` (other
    tests create and delete files meanwhile: whatever vanishes is skipped)."""
    found = []
    for folder in (REPO / ".local", Path("/tmp")):
        for root, _, names in os.walk(folder, onerror=lambda _: None):
            for name in names:
                path = Path(root) / name
                try:
                    if path.is_file() and path.stat().st_mtime >= since \
                            and needle in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


def test_concurrent_invoices_of_one_vendor_are_all_counted(stack, owner, mailbox):
    """Each handler rebuilds the vendor's spend from what it can see; the per-vendor lock
    makes the last one see every invoice, so none is lost from the roll-up."""
    org_id, connection_id = create_org(owner)
    events = []
    for n in range(8):
        event = detected(org_id, connection_id, received_at="2026-10-05T09:30:00+00:00")
        mailbox.attach(event.message_id, invoice_pdf(f"SL-C-{n}", f"{10 + n}.00", tax="0.00"))
        events.append(event)
    apps = [create_app(service_env(stack, "invoice-parse"), open_attachments=lambda _: mailbox)
            for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=len(events)) as pool:
            answers = list(pool.map(
                lambda pair: push(apps[pair[0] % len(apps)].test_client(), pair[1]).status_code,
                enumerate(events)))
    finally:
        for app in apps:
            app.extensions["coax"].engine.dispose()
    assert answers == [204] * len(events)
    [month] = rows(owner, "select amount_minor, invoices from spend_monthly where org_id = :o",
                   o=org_id)
    assert month == {"amount_minor": sum((10 + n) * 100 for n in range(8)), "invoices": 8}


def test_neither_the_subject_nor_the_document_text_is_logged(service, owner, mailbox, caplog,
                                                            capsys):
    org_id, connection_id = create_org(owner)
    secret_subject = f"Receipt for Dr. Quill Marsh {secrets.token_hex(4)}: $10.00"
    marker = f"DOCTEXT-{secrets.token_hex(6)}"
    event = detected(org_id, connection_id, subject=secret_subject)
    mailbox.attach(event.message_id, invoice_pdf("SL-LOG-1", "10.00", marker=marker))
    with caplog.at_level("DEBUG"):
        assert push(service, event).status_code == 204
    logged = caplog.text + "".join(capsys.readouterr())
    assert "invoice stored" in logged                 # the handler did log its story
    assert secret_subject not in logged and "Quill Marsh" not in logged
    assert marker not in logged and "SL-LOG-1" not in logged
