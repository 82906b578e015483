"""email-scan end to end against the simulated tenant: detection quality, Graph requests per
mailbox against the least possible, in-memory classification rate, and a full scan of the
`bench` profile's mailboxes with the simulator's throttling on (`--quick`: the mailboxes with
vendor mail plus the first of the rest, 2,020 in all; the full run scans all 50,020 and takes
about 15 minutes on two cores, bound by the in-process simulator's CPU).

Every mailbox goes through the service's handler (`scan_requested_mailbox`) with the real
Graph client and the database (as the email-scan role), `WORKERS` at a time like parallel
Cloud Run instances. Tokens come straight from the simulator's token endpoint (the vault path
is exercised by tests/integration/test_email_scan_precision.py); the simulator runs without
TLS here because its server does not keep connections alive, and a TLS handshake per request
would measure the simulator, not the scan.

The least possible Graph requests for the same results, per mailbox: every catalog sender
must be named in some `$filter` and one filter holds at most the simulator's complexity limit
of comparisons, so at least ceil(sender clauses / limit) queries; and at least one page per
1,000 matching messages. The larger of the two is the baseline.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import requests
import sqlalchemy as sa

from infra.local import database
from infra.local.stack import LOCAL_DB_PASSWORD, StackConfig, up
from services.email_scan.classify import Classifier
from services.email_scan.graph_access import BatchedMailboxReader
from services.email_scan.handlers import FilterLimits, ScanDependencies, scan_requested_mailbox
from services.email_scan.quality import score
from services.email_scan.scan import scan_mailbox
from services.email_scan.sender_filter import is_catalog_sender, sender_clauses
from shared.catalog import load_catalog
from shared.db import UnitOfWorkFactory, make_engine
from shared.graph import GraphClient
from shared.messaging.contracts import MailboxScanRequested
from shared.topology import load_topology
from tests.m365sim.harness import start_simulator
from tests.m365sim.world import World
from tests.support.stack import create_org

ANCHOR = date(2026, 11, 30)
WORKERS = 4
QUICK_BENCH_MAILBOXES = 2_000
MESSAGES_ENDPOINT = "GET /users/{id}/messages"
THROTTLED_MAILBOXES = 120
BENCH_DB = "coax_bench_email_scan"


def _entry(name, value, unit, baseline=None):
    ratio = value / baseline if baseline else None
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio}


class ClientCredentials:
    """An app-only token from the simulator's token endpoint, renewed before it expires."""

    def __init__(self, sim, tenant_id: str):
        self._url = f"{sim.base_url}/{tenant_id}/oauth2/v2.0/token"
        self._form = {"grant_type": "client_credentials", "client_id": sim.client_id,
                      "client_secret": sim.client_secret,
                      "scope": "https://graph.microsoft.com/.default"}
        self._lock = threading.Lock()
        self._token, self._until = "", 0.0

    def __call__(self) -> str:
        with self._lock:
            if time.monotonic() >= self._until:
                answer = requests.post(self._url, data=self._form, timeout=30)
                answer.raise_for_status()
                body = answer.json()
                self._token = body["access_token"]
                self._until = time.monotonic() + body["expires_in"] - 60
            return self._token


class CountingMailboxes:
    """The service's reader on one GraphClient per worker thread; counts what each
    mailbox's filters matched."""

    def __init__(self, sim, tenant_id: str):
        self._tokens = ClientCredentials(sim, tenant_id)
        self._graph_url = sim.graph_url
        self._local = threading.local()
        self._lock = threading.Lock()
        self.matched: Counter[str] = Counter()

    def __call__(self, connection_id: str):
        if not hasattr(self._local, "reader"):
            self._local.reader = BatchedMailboxReader(GraphClient(self._tokens, self._graph_url))
        return self

    def messages_matching(self, user_id, filters, fields):
        count = 0
        for message in self._local.reader.messages_matching(user_id, filters, fields):
            count += 1
            yield message
        with self._lock:
            self.matched[user_id] += count


def _window() -> tuple[datetime, datetime]:
    end = datetime.combine(ANCHOR, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    return end - timedelta(days=200), end


def _scan_tenant(sim, tenant: dict, users: list[dict], owner, engine, catalog, classifier
                 ) -> tuple[str, CountingMailboxes, float]:
    mode = "attachments" if "Mail.Read" in tenant["roles"] else "metadata"
    org_id, connection_id = create_org(owner, name=f"bench {tenant['name']}",
                                       tenant_id=tenant["tenant_id"], mode=mode)
    mailboxes = CountingMailboxes(sim, tenant["tenant_id"])
    deps = ScanDependencies(catalog=catalog, classifier=classifier, open_mailbox=mailboxes,
                            limits=FilterLimits())
    uows = UnitOfWorkFactory(engine)
    start, end = _window()

    def scan_one(user: dict) -> None:
        event = MailboxScanRequested(org_id=org_id, connection_id=connection_id,
                                     mailbox_id=user["id"], window_start_at=start.isoformat(),
                                     window_end_at=end.isoformat())
        with uows(org_id=org_id) as uow:
            scan_requested_mailbox(event, uow, deps)
            uow.commit()

    began = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(scan_one, users))
    return org_id, mailboxes, time.perf_counter() - began


def _stored(owner, org_id: str) -> set[tuple]:
    with owner.connect() as c:
        return {tuple(r) for r in c.execute(sa.text(
            "select message_id, vendor_id, kind from billing_emails where org_id = :o"),
            {"o": org_id})}


def _check_every_mailbox_scanned(owner, org_id: str, mailboxes: int) -> None:
    """Every mailbox must have been scanned, or the figures mean nothing."""
    with owner.connect() as c:
        scanned = c.execute(sa.text(
            "select count(*) from mailbox_watermarks where org_id = :o "
            "and scanned_until is not null"), {"o": org_id}).scalar()
    if scanned != mailboxes:
        raise RuntimeError(f"only {scanned} of {mailboxes} mailboxes were scanned; figures "
                           "discarded")


def _least_requests(matched: Counter[str], mailboxes: int, clauses: int, limit: int) -> int:
    least_queries = math.ceil(clauses / limit)
    pages = sum(max(least_queries, math.ceil(matched[m] / 1000)) - least_queries
                for m in matched)
    return least_queries * mailboxes + pages


def _scan_profile(profile: str, users_for, owner, engine, catalog, classifier, *, limits=None
                  ) -> dict:
    world = World(seed=1, profile=profile, anchor_date=ANCHOR)
    with start_simulator(world=world, tls=False, limits=limits) as sim:
        truth = sim.ground_truth()
        sim.reset_stats()
        expected, found, matched, mailboxes, seconds = set(), set(), Counter(), 0, 0.0
        for tenant in truth["tenants"]:
            users = users_for(tenant)
            scanned = {u["id"] for u in users}
            expected |= {(m["message_id"], m["vendor_id"], m["class"])
                         for m in tenant["billing_messages"] if m["mailbox_user_id"] in scanned}
            org_id, counting, elapsed = _scan_tenant(sim, tenant, users, owner, engine, catalog,
                                                     classifier)
            _check_every_mailbox_scanned(owner, org_id, len(users))
            found |= _stored(owner, org_id)
            matched.update(counting.matched)
            mailboxes += len(users)
            seconds += elapsed
        stats = sim.stats()
        limit = sim.state.settings.max_filter_clauses
    return {"score": score(found, expected), "stats": stats, "mailboxes": mailboxes,
            "seconds": seconds, "matched": matched, "limit": limit}


def _requests_entries(prefix: str, result: dict, clauses: int) -> list[dict]:
    sent = result["stats"]["by_endpoint"].get(MESSAGES_ENDPOINT, 0)
    least = _least_requests(result["matched"], result["mailboxes"], clauses, result["limit"])
    return [_entry(f"{prefix}_graph_requests_per_mailbox", sent / result["mailboxes"],
                   "requests", least / result["mailboxes"])]


def _classification_rate(catalog, classifier, quick: bool) -> list[dict]:
    """The in-memory part of a scan (validate, classify, minimize) over the demo tenants'
    vendor and platform mail (what the sender filters let through); the bare classifier on
    the same messages is the baseline, so the ratio is what the scan adds around it."""
    world = World(seed=1, profile="demo", anchor_date=ANCHOR)
    messages = [m.graph() for t in world.tenants for u in t.directory.active_users()
                for m in t.mail.mailbox(u)]
    vendor_mail = [{k: m[k] for k in ("id", "subject", "from", "receivedDateTime",
                                      "hasAttachments")}
                   for m in messages
                   if is_catalog_sender(catalog, m["from"]["emailAddress"]["address"])]

    class Canned:
        def messages_matching(self, user_id, filters, fields):
            return vendor_mail

    rounds = 20 if quick else 100
    began = time.perf_counter()
    for _ in range(rounds):
        scan_mailbox(Canned(), classifier, "bench", ["all"])
    scan_rate = rounds * len(vendor_mail) / (time.perf_counter() - began)
    began = time.perf_counter()
    for _ in range(rounds):
        for m in vendor_mail:
            classifier.classify(m["from"]["emailAddress"]["address"], m["subject"])
    bare_rate = rounds * len(vendor_mail) / (time.perf_counter() - began)
    return [_entry("scan_messages_classified_per_s", scan_rate, "messages/s", bare_rate)]


def run(ctx) -> list[dict]:
    # One INFO line per mailbox is right for the service, noise for 50,000 mailboxes here.
    logging.getLogger("services.email_scan").setLevel(logging.WARNING)
    cfg = StackConfig.from_env()
    up(cfg)
    catalog = load_catalog()
    classifier = Classifier(catalog)
    clauses = len(sender_clauses(catalog))
    entries: list[dict] = []
    with _own_database(cfg):
        owner = sa.create_engine(cfg.url("coax_owner", BENCH_DB), poolclass=sa.pool.NullPool)
        engine = make_engine(cfg.url("coax_email_scan", BENCH_DB), pool_size=WORKERS)
        try:
            demo = _scan_profile("demo", lambda t: t["users"], owner, engine, catalog,
                                 classifier)
            print(f"   demo: {demo['mailboxes']} mailboxes, {demo['score'].line()}")
            entries += [_entry("demo_precision", demo["score"].precision, "ratio"),
                        _entry("demo_recall", demo["score"].recall, "ratio"),
                        _entry("demo_privacy_violations",
                               len(demo["stats"]["privacy_violations"]), "requests")]
            entries += _requests_entries("demo", demo, clauses)
            entries += _classification_rate(catalog, classifier, ctx.quick)
            entries += _bench_profile(owner, engine, catalog, classifier, clauses, ctx.quick)
            entries += _throttled(owner, engine, catalog, classifier, clauses)
        finally:
            engine.dispose()
            owner.dispose()
    return entries


@contextmanager
def _own_database(cfg: StackConfig):
    """A fresh database with every migration, dropped afterwards: other test runs share the
    stack's database (and some deactivate every connection but their own), and 50,000
    watermark rows per run do not belong there."""
    _drop_database(cfg)
    database.bootstrap(cfg.superuser_url, BENCH_DB, load_topology(), LOCAL_DB_PASSWORD)
    database.migrate(cfg.url("coax_owner", BENCH_DB))
    try:
        yield
    finally:
        _drop_database(cfg)


def _drop_database(cfg: StackConfig) -> None:
    engine = sa.create_engine(cfg.superuser_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f"drop database if exists {BENCH_DB} with (force)"))
    finally:
        engine.dispose()


def _billing_first(tenant: dict, limit: int | None) -> list[dict]:
    """Mailboxes with vendor mail first, so a partial (quick) scan still finds all of it."""
    with_mail = {m["mailbox_user_id"] for m in tenant["billing_messages"]}
    users = sorted(tenant["users"], key=lambda u: u["id"] not in with_mail)
    return users if limit is None else users[:limit]


def _bench_profile(owner, engine, catalog, classifier, clauses, quick) -> list[dict]:
    limit = QUICK_BENCH_MAILBOXES if quick else None
    result = _scan_profile("bench", lambda t: _billing_first(t, limit), owner, engine, catalog,
                           classifier)
    stats = result["stats"]
    print(f"   bench: {result['mailboxes']} mailboxes in {result['seconds']:.1f} s, "
          f"{stats['throttled']} throttled answers, {result['score'].line()}")
    return [
        _entry("bench_mailboxes_scanned", result["mailboxes"], "mailboxes"),
        _entry("bench_scan_mailboxes_per_s", result["mailboxes"] / result["seconds"],
               "mailboxes/s"),
        _entry("bench_throttled_answers", stats["throttled"], "responses"),
        _entry("bench_max_requests_in_flight_per_mailbox",
               max(stats["max_concurrency"].values(), default=0), "requests", 4),
        _entry("bench_recall", result["score"].recall, "ratio"),
        _entry("bench_precision", result["score"].precision, "ratio"),
        _entry("bench_privacy_violations", len(stats["privacy_violations"]), "requests"),
        *_requests_entries("bench", result, clauses),
    ]


def _throttled(owner, engine, catalog, classifier, clauses) -> list[dict]:
    """Tight limits (2 requests per mailbox per 0.2 s): every scan meets 429s with
    Retry-After; the results must not change, and the retries show in requests per mailbox."""
    limits = {"mailbox_requests": 2, "mailbox_window_s": 2.0, "window_scale": 0.1}
    result = _scan_profile("demo", lambda t: _billing_first(t, THROTTLED_MAILBOXES // 2),
                           owner, engine, catalog, classifier, limits=limits)
    stats = result["stats"]
    print(f"   demo under tight throttling: {result['mailboxes']} mailboxes, "
          f"{stats['throttled']} throttled answers, {result['score'].line()}")
    return [
        _entry("throttled_answers", stats["throttled"], "responses"),
        _entry("throttled_recall", result["score"].recall, "ratio"),
        _entry("throttled_precision", result["score"].precision, "ratio"),
        *_requests_entries("throttled", result, clauses),
    ]
