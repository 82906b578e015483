"""The scan handler against the simulated Graph (small profile) with vault tokens: throttling
is survived without changing the result, Graph's permanent refusals park the request, and the
log lines carry counts and ids, never a subject or a person's address."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.email_scan.classify import Classifier
from services.email_scan.graph_access import BatchedMailboxReader, ConnectionClients
from services.email_scan.handlers import ScanDependencies, scan_requested_mailbox
from services.email_scan.scan import MESSAGE_FIELDS
from services.email_scan.sender_filter import sender_filters
from shared.catalog import load_catalog
from shared.db import UnitOfWorkFactory, make_engine
from shared.messaging.consumer import PermanentFailure
from shared.messaging.contracts import MailboxScanRequested
from tests.m365sim.harness import start_simulator
from tests.m365sim.world import World
from tests.support.connect import connect_tenant, running_vault

ANCHOR = date(2026, 11, 30)
MESSAGES = "GET /users/{id}/messages"
END = datetime.combine(ANCHOR, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
START = END - timedelta(days=200)


@pytest.fixture(scope="module")
def sim_server():
    with start_simulator(world=World(seed=1, profile="small", anchor_date=ANCHOR)) as sim:
        yield sim


@pytest.fixture()
def sim(sim_server):
    """Documented limits and fresh counters for every test."""
    sim_server.set_limits(enabled=True, window_scale=1.0, mailbox_requests=10_000,
                          mailbox_window_s=600.0, mailbox_concurrency=4)
    sim_server.reset_stats()
    return sim_server


@pytest.fixture(scope="module")
def setting(stack, owner, sim_server):
    """One connected tenant, a vault and the handler's dependencies, for the module."""
    sim = sim_server
    truth = sim.ground_truth()["tenants"][0]
    engine = make_engine(stack.url("coax_email_scan"))
    catalog = load_catalog()
    with running_vault(stack, sim) as vault:
        org_id, connection_id = connect_tenant(stack, owner, sim, truth["tenant_id"],
                                               vault=vault, org_name="Graph Scan Ltd")
        deps = ScanDependencies(catalog=catalog, classifier=Classifier(catalog),
                                open_mailbox=ConnectionClients(vault.url, sim.graph_url,
                                                               sim.session()))
        yield {"truth": truth, "engine": engine, "deps": deps, "org_id": org_id,
               "connection_id": connection_id, "owner": owner}
    engine.dispose()


def scan(setting, mailbox_id: str) -> None:
    event = MailboxScanRequested(org_id=setting["org_id"],
                                 connection_id=setting["connection_id"], mailbox_id=mailbox_id,
                                 window_start_at=START.isoformat(),
                                 window_end_at=END.isoformat())
    with UnitOfWorkFactory(setting["engine"])(org_id=setting["org_id"]) as uow:
        scan_requested_mailbox(event, uow, setting["deps"])
        uow.commit()


def billing_mailboxes(truth) -> dict[str, set]:
    found: dict[str, set] = {}
    for m in truth["billing_messages"]:
        found.setdefault(m["mailbox_user_id"], set()).add(
            (m["message_id"], m["vendor_id"], m["class"]))
    return found


def stored_for(setting, mailbox_id) -> set:
    with setting["owner"].connect() as c:
        return {tuple(r) for r in c.execute(sa.text(
            "select message_id, vendor_id, kind from billing_emails "
            "where org_id = :o and mailbox_id = :m"), {"o": setting["org_id"], "m": mailbox_id})}


def test_a_throttled_scan_waits_and_finds_the_same_mail(setting, sim):
    mailboxes = billing_mailboxes(setting["truth"])
    mailbox_id = sorted(mailboxes)[0]
    sim.set_limits(mailbox_requests=2, mailbox_window_s=2.0, window_scale=0.1)
    scan(setting, mailbox_id)
    stats = sim.stats()
    assert stats["throttled"] >= 1
    assert stored_for(setting, mailbox_id) == mailboxes[mailbox_id]
    assert stats["privacy_violations"] == []


def test_a_mailbox_graph_does_not_know_is_parked(setting, sim):
    with pytest.raises(PermanentFailure, match="mailbox not found"):
        scan(setting, str(uuid.uuid4()))


def test_log_lines_carry_counts_not_subjects_or_addresses(setting, sim, caplog):
    truth = setting["truth"]
    mailboxes = billing_mailboxes(truth)
    mailbox_id = sorted(mailboxes)[-1]
    with caplog.at_level(logging.DEBUG, logger="services.email_scan"):
        scan(setting, mailbox_id)
    records = [r for r in caplog.records if r.name.startswith("services.email_scan")]
    assert any(r.getMessage() == "mailbox scanned" for r in records)
    written = " ".join(r.getMessage() + json.dumps(getattr(r, "fields", {}), default=str)
                       for r in records).lower()
    subjects = {m["subject"].lower() for m in truth["billing_messages"]}
    people = {u["userPrincipalName"].lower() for u in truth["users"]}
    assert not [s for s in subjects if s in written]
    assert not [p for p in people if p in written]
    assert "@" not in written


def test_a_scan_is_one_round_trip_of_one_request_per_filter(setting, sim):
    mailboxes = billing_mailboxes(setting["truth"])
    mailbox_id = sorted(mailboxes)[len(mailboxes) // 2]
    scan(setting, mailbox_id)
    by_endpoint = sim.stats()["by_endpoint"]
    assert by_endpoint.get("POST /$batch") == 1
    assert by_endpoint.get(MESSAGES) == len(sender_filters(setting["deps"].catalog, START, END,
                                                           max_clauses=48, max_chars=3000))


def test_later_pages_are_followed_completely(setting, sim):
    mailboxes = billing_mailboxes(setting["truth"])
    mailbox_id = max(mailboxes, key=lambda m: len(mailboxes[m]))
    client = setting["deps"].open_mailbox(setting["connection_id"]).client
    filters = sender_filters(setting["deps"].catalog, START, END, max_clauses=48,
                             max_chars=3000)
    whole = [m["id"] for m in BatchedMailboxReader(client).messages_matching(
        mailbox_id, filters, MESSAGE_FIELDS)]
    sim.reset_stats()
    paged = [m["id"] for m in BatchedMailboxReader(client, page_size=2).messages_matching(
        mailbox_id, filters, MESSAGE_FIELDS)]
    assert len(whole) >= 3
    assert sorted(paged) == sorted(whole)
    assert sim.stats()["by_endpoint"][MESSAGES] > len(filters)
