"""The scan handler against the real database, as the email-scan role: what it stores, what
it emits, what a re-scan adds (nothing), and what it refuses. Graph is faked (outer edge)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.email_scan.classify import Classifier
from services.email_scan.handlers import INDEXING_LAG, ScanDependencies, scan_requested_mailbox
from shared.catalog import load_catalog
from shared.db import UnitOfWorkFactory
from shared.messaging.consumer import PermanentFailure
from shared.messaging.contracts import MailboxScanRequested
from tests.support.stack import create_org, role_engine

NOW = datetime(2026, 3, 10, tzinfo=UTC)
MAILBOX = "6a1c3c1e-2b1d-4a51-8a9e-0c7b2f6d9e01"


class FakeMailbox:
    """Graph's side: messages filtered by the window of the filter it is asked for."""

    def __init__(self, messages):
        self.all = messages
        self.calls = []

    def messages_matching(self, user_id, filters, fields):
        for graph_filter in filters:
            self.calls.append(graph_filter)
            lower = graph_filter.split("receivedDateTime ge ")[1].split(" ")[0]
            upper = graph_filter.split("receivedDateTime lt ")[1].split(" ")[0]
            yield from (m for m in self.all if lower <= m["receivedDateTime"] < upper)


def msg(mid, sender, subject, day):
    return {"id": mid, "subject": subject, "hasAttachments": False,
            "receivedDateTime": f"2026-03-{day:02d}T09:00:00Z",
            "from": {"emailAddress": {"address": sender}}}


MAIL = [
    msg("AAMk-1", "billing@zoom.us", "Your Zoom invoice is available", 2),
    msg("AAMk-2", "receipts+acct_7@stripe.com", "Your receipt from Figma #1000-2000", 3),
    msg("AAMk-3", "billing@zoom.us", "Join our webinar on hybrid work", 4),
    msg("AAMk-4", "billing@zoom.us", "Your Zoom invoice is available", 6),
]


@pytest.fixture(scope="module")
def engine(stack):
    engine = role_engine(stack, "coax_email_scan")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def deps_for(catalog, mailbox, now=NOW):
    return ScanDependencies(catalog=catalog, classifier=Classifier(catalog),
                            open_mailbox=lambda connection_id: mailbox, clock=lambda: now)


def scan(engine, deps, org_id, connection_id, start, end, mailbox_id=MAILBOX):
    event = MailboxScanRequested(org_id=org_id, connection_id=connection_id,
                                 mailbox_id=mailbox_id, window_start_at=start.isoformat(),
                                 window_end_at=end.isoformat())
    with UnitOfWorkFactory(engine)(org_id=org_id) as uow:
        scan_requested_mailbox(event, uow, deps)
        uow.commit()


def rows(owner, sql, **params):
    with owner.connect() as c:
        return c.execute(sa.text(sql), params).all()


def day(n):
    return datetime(2026, 3, n, tzinfo=UTC)


def test_scan_stores_billing_mail_emits_once_and_rescans_add_nothing(engine, owner, catalog):
    org_id, connection_id = create_org(owner, name="Scan Storage Ltd", mode="metadata")
    mailbox = FakeMailbox(MAIL)
    deps = deps_for(catalog, mailbox)

    scan(engine, deps, org_id, connection_id, day(1), day(5))
    stored = rows(owner, "select message_id, vendor_id, kind, subject, sender from "
                  "billing_emails where org_id = :o order by message_id", o=org_id)
    assert [tuple(r) for r in stored] == [
        ("AAMk-1", "zoom", "receipt", "Your Zoom invoice is available", "billing@zoom.us"),
        ("AAMk-2", "figma", "receipt", "Your receipt from Figma #1000-2000",
         "receipts+acct_7@stripe.com")]
    events = rows(owner, "select payload from outbox where topic = 'billing-email-detected' "
                  "and attributes->>'org_id' = :o", o=org_id)
    assert sorted(e.payload["data"]["message_id"] for e in events) == ["AAMk-1", "AAMk-2"]
    assert {e.payload["data"]["mode"] for e in events} == {"metadata"}
    first_queries = len(mailbox.calls)
    assert first_queries >= 1

    # The same window again: covered by the watermark, so not a single Graph query.
    scan(engine, deps, org_id, connection_id, day(1), day(5))
    assert len(mailbox.calls) == first_queries

    # An overlapping, later window: only the new part is queried; one new message, one event.
    scan(engine, deps, org_id, connection_id, day(3), day(8))
    assert all("receivedDateTime ge 2026-03-05T00:00:00Z" in f
               for f in mailbox.calls[first_queries:])
    assert rows(owner, "select count(*) from billing_emails where org_id = :o", o=org_id)[0][0] == 3
    events = rows(owner, "select payload from outbox where topic = 'billing-email-detected' "
                  "and attributes->>'org_id' = :o", o=org_id)
    assert len(events) == 3
    watermark = rows(owner, "select scanned_from, scanned_until from mailbox_watermarks "
                     "where connection_id = :c", c=connection_id)
    assert [tuple(w) for w in watermark] == [(day(1), day(8))]
    discovered = rows(owner, "select vendor_id, first_seen_at, last_seen_at from "
                      "vendor_discoveries where org_id = :o order by vendor_id", o=org_id)
    assert [tuple(d) for d in discovered] == [
        ("figma", day(3) + timedelta(hours=9), day(3) + timedelta(hours=9)),
        ("zoom", day(2) + timedelta(hours=9), day(6) + timedelta(hours=9))]


def test_the_watermark_stays_behind_now_and_the_next_scan_starts_there(engine, owner,
                                                                       catalog):
    org_id, connection_id = create_org(owner, name="Future Window Ltd")
    mailbox = FakeMailbox(MAIL)
    scan(engine, deps_for(catalog, mailbox, now=day(4)), org_id, connection_id, day(1), day(20))
    until = rows(owner, "select scanned_until from mailbox_watermarks where connection_id = :c",
                 c=connection_id)[0][0]
    assert until == day(4) - INDEXING_LAG
    # The next request starts where the previous one ended ("now" then): the scan goes back
    # to the watermark, so mail indexed late in that last stretch is not skipped.
    before = len(mailbox.calls)
    scan(engine, deps_for(catalog, mailbox, now=day(7)), org_id, connection_id, day(4), day(7))
    assert all(f"receivedDateTime ge {(day(4) - INDEXING_LAG).strftime('%Y-%m-%dT%H:%M:%SZ')}"
               in f for f in mailbox.calls[before:])


def test_attachment_mode_is_carried_on_the_event(engine, owner, catalog):
    org_id, connection_id = create_org(owner, name="Attachments Ltd", mode="attachments")
    scan(engine, deps_for(catalog, FakeMailbox(MAIL[:1])), org_id, connection_id, day(1), day(3))
    payload = rows(owner, "select payload from outbox where attributes->>'org_id' = :o",
                   o=org_id)[0].payload
    assert payload["data"]["mode"] == "attachments"
    assert payload["data"]["kind"] == "receipt"


def test_an_inactive_connection_is_not_scanned(engine, owner, catalog):
    org_id, connection_id = create_org(owner, name="Needs Consent Ltd", status="needs_consent")
    mailbox = FakeMailbox(MAIL)
    scan(engine, deps_for(catalog, mailbox), org_id, connection_id, day(1), day(5))
    assert mailbox.calls == []


def test_a_mailbox_outside_the_configured_scope_is_refused(engine, owner, catalog):
    org_id, connection_id = create_org(owner, name="Scoped Ltd",
                                       mailbox_scope=[str(uuid.uuid4())])
    mailbox = FakeMailbox(MAIL)
    with pytest.raises(PermanentFailure, match="scope"):
        scan(engine, deps_for(catalog, mailbox), org_id, connection_id, day(1), day(5))
    assert mailbox.calls == []


@pytest.mark.parametrize("change,reason", [
    ({"mailbox_id": "ana@contoso.com"}, "mailbox_id is not a UUID"),
    ({"window_start_at": "2026-03-05T00:00:00+00:00",
      "window_end_at": "2026-03-01T00:00:00+00:00"}, "invalid scan window"),
])
def test_bad_requests_are_permanent_failures(engine, owner, catalog, change, reason):
    org_id, connection_id = create_org(owner, name="Bad Request Ltd")
    data = {"org_id": org_id, "connection_id": connection_id, "mailbox_id": MAILBOX,
            "window_start_at": day(1).isoformat(), "window_end_at": day(5).isoformat(), **change}
    event = MailboxScanRequested(**data)
    with UnitOfWorkFactory(engine)(org_id=org_id) as uow, pytest.raises(PermanentFailure,
                                                                       match=reason):
        scan_requested_mailbox(event, uow, deps_for(catalog, FakeMailbox(MAIL)))


def test_another_organizations_connection_is_invisible(engine, owner, catalog):
    _, foreign_connection = create_org(owner, name="Other Org Ltd")
    org_id, _ = create_org(owner, name="Prober Ltd")
    mailbox = FakeMailbox(MAIL)
    with pytest.raises(PermanentFailure, match="not found"):
        scan(engine, deps_for(catalog, mailbox), org_id, foreign_connection, day(1), day(5))
    assert mailbox.calls == []


def as_role(engine, org_id, sql, params=None):
    """Run one statement as a role in the organization, then roll back."""
    with engine.connect() as c:
        c.execute(sa.text("select set_config('app.org_id', :o, true)"), {"o": org_id})
        try:
            result = c.execute(sa.text(sql), params or {})
            return result.rowcount if result.returns_rows is False else result.all()
        finally:
            c.rollback()


def test_grants_scan_role_cannot_delete_api_reads_purge_deletes(stack, owner, engine, catalog):
    org_id, connection_id = create_org(owner, name="Grants Ltd")
    scan(engine, deps_for(catalog, FakeMailbox(MAIL[:1])), org_id, connection_id, day(1), day(3))
    with pytest.raises(sa.exc.ProgrammingError):
        as_role(engine, org_id, "delete from billing_emails")
    api = role_engine(stack, "coax_api")
    purge = role_engine(stack, "coax_retention_purge")
    try:
        assert as_role(api, org_id, "select count(*) from billing_emails")[0][0] == 1
        with pytest.raises(sa.exc.ProgrammingError):
            as_role(api, org_id, "update billing_emails set subject = 'x'")
        assert as_role(purge, org_id, "delete from billing_emails where org_id = :o",
                       {"o": org_id}) == 1
    finally:
        api.dispose()
        purge.dispose()


def test_nothing_but_the_promised_columns_is_stored(owner):
    columns = rows(owner, "select column_name from information_schema.columns "
                   "where table_name = 'billing_emails' order by ordinal_position")
    assert [c[0] for c in columns] == [
        "id", "org_id", "connection_id", "mailbox_id", "message_id", "vendor_id", "kind",
        "subject", "sender", "received_at", "has_attachments", "detected_at"]
    assert json.dumps([c[0] for c in columns]).count("body") == 0
