"""The Graph client against the simulator: complete, duplicate-free results under injected 429s,
5xx and dropped connections; every Retry-After honoured; documented limits respected; typed
errors when retrying cannot help."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from shared.graph import (
    AttachmentTooLarge,
    GraphAuthError,
    GraphClient,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
)
from tests.m365sim import fixtures

m365sim = fixtures.m365sim  # pytest finds fixtures by module attribute
m365sim_server = fixtures.m365sim_server

NASTY = {"throttle_rate": 0.2, "throttle_without_retry_after_rate": 0.1, "error_rate": 0.1,
         "drop_rate": 0.05, "retry_after_s": 2.0, "seed": 11}


class RecordingSleep:
    """Records each wait; sleeps for real only when told to (scaled windows)."""

    def __init__(self, real: bool = False):
        self.waits: list[float] = []
        self.real = real
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
        if self.real:
            time.sleep(seconds)


@pytest.fixture(scope="module")
def providers(m365sim_server):
    return [m365sim_server.token_provider(t.tenant_id) for t in m365sim_server.tenants]


def _client(sim, provider, sleep=None, **kwargs) -> GraphClient:
    return GraphClient(provider, sim.graph_url, session=sim.session(),
                       sleep=sleep or RecordingSleep(), **kwargs)


def _assert_every_retry_after_honoured(sim, sleep: RecordingSleep) -> None:
    issued = Counter(sim.stats()["retry_after_issued"])
    assert issued, "the test must have seen throttling"
    waited = Counter(sleep.waits)
    assert all(waited[value] >= count for value, count in issued.items()), (issued, waited)


def _truth(sim, index=0) -> dict:
    return sim.world.ground_truth()["tenants"][index]


def test_user_paging_is_complete_under_faults(m365sim, providers):
    m365sim.set_limits(enabled=False)  # only injected faults here
    m365sim.set_faults(**NASTY)
    sleep = RecordingSleep()
    client = _client(m365sim, providers[0], sleep)
    users = list(client.list_users(page_size=3))
    ids = [u["id"] for u in users]
    assert len(ids) == len(set(ids)), "no duplicates"
    assert set(ids) == {u["id"] for u in _truth(m365sim)["users"]}
    assert "mobilePhone" not in users[0]
    _assert_every_retry_after_honoured(m365sim, sleep)
    stats = m365sim.stats()
    assert client.counters.retries >= stats["throttled"] + stats["faults"].get("error", 0)
    assert client.counters.throttled_seconds >= sum(stats["retry_after_issued"])


def test_delta_rounds_under_faults_report_changes_and_removals(m365sim, providers):
    m365sim.set_limits(enabled=False)
    m365sim.set_faults(**NASTY)
    sleep = RecordingSleep()
    client = _client(m365sim, providers[0], sleep)
    first = client.users_delta(["displayName", "department"], page_size=2)
    assert {u["id"] for u in first.changes} == {u["id"] for u in _truth(m365sim)["users"]}
    quiet = client.users_delta(delta_link=first.delta_link, page_size=2)
    assert quiet.changes == []
    changes = m365sim.directory_changes(m365sim.tenants[0].tenant_id)
    second = client.users_delta(delta_link=quiet.delta_link, page_size=2)
    removed = {c["id"] for c in second.changes if "@removed" in c}
    changed = {c["id"] for c in second.changes if "@removed" not in c}
    assert removed == set(changes["removed"])
    assert changed == set(changes["hired"]) | set(changes["department_changed"])
    assert len(second.changes) == len(removed) + len(changed), "no duplicates"
    assert all(set(c) == {"id", "displayName", "department"} for c in second.changes
               if "@removed" not in c), "the deltaLink keeps the first round's $select"
    truth_ids = {u["id"] for u in _truth(m365sim)["users"]}
    assert truth_ids == ({u["id"] for u in first.changes} | changed) - removed
    _assert_every_retry_after_honoured(m365sim, sleep)


def test_sign_ins_are_complete_and_minimal_under_faults(m365sim, providers):
    m365sim.set_limits(enabled=False)
    m365sim.set_faults(**NASTY)
    sleep = RecordingSleep()
    client = _client(m365sim, providers[0], sleep)
    anchor = m365sim.world.anchor
    events = list(client.sign_ins(anchor - timedelta(days=30), anchor, top=100))
    assert len(events) == len({e["id"] for e in events}) == \
        len(m365sim.world.tenants[0].signins.events)
    assert set(events[0]) == {"id", "createdDateTime", "userId", "userPrincipalName", "appId",
                              "appDisplayName", "status", "isInteractive"}
    _assert_every_retry_after_honoured(m365sim, sleep)


def test_vendor_messages_and_attachments_under_faults(m365sim, providers):
    m365sim.set_limits(enabled=False)
    m365sim.set_faults(**NASTY)
    truth = _truth(m365sim)
    invoice = next(i for i in truth["invoices"] if i["attachment_id"])
    mailbox = invoice["mailbox_user_id"]
    expected = {m["message_id"]: m for m in truth["billing_messages"]
                if m["mailbox_user_id"] == mailbox}
    senders = sorted({m["sender"] for m in expected.values()})
    clause = " or ".join(f"from/emailAddress/address eq '{s}'" for s in senders)
    sleep = RecordingSleep()
    client = _client(m365sim, providers[0], sleep)
    found = list(client.messages(mailbox, f"receivedDateTime ge "
                                 f"{m365sim.world.mail_start:%Y-%m-%dT%H:%M:%SZ} and ({clause})",
                                 top=2))
    ids = [m["id"] for m in found]
    assert len(ids) == len(set(ids)) and set(expected) <= set(ids)
    listed = client.attachments(mailbox, invoice["message_id"])
    assert [a["id"] for a in listed] == [invoice["attachment_id"]]
    assert "contentBytes" not in listed[0]
    pdf = client.attachment_bytes(mailbox, invoice["message_id"], invoice["attachment_id"],
                                  max_bytes=1_000_000)
    assert pdf.startswith(b"%PDF")
    with pytest.raises(AttachmentTooLarge):
        client.attachment_bytes(mailbox, invoice["message_id"], invoice["attachment_id"],
                                max_bytes=100)
    _assert_every_retry_after_honoured(m365sim, sleep)
    assert m365sim.stats()["privacy_violations"] == []


def test_batch_retries_throttled_parts_until_complete(m365sim, providers):
    m365sim.set_limits(enabled=False)
    m365sim.set_faults(throttle_rate=0.3, error_rate=0.1, retry_after_s=1.5, seed=5)
    users = m365sim.world.tenants[0].directory.active_users()
    requests_ = [{"id": f"u{i}", "method": "GET",
                  "url": f"/users/{u.id}/messages?$select=id,subject&$top=5"}
                 for i, u in enumerate(users)]
    sleep = RecordingSleep()
    results = _client(m365sim, providers[0], sleep).batch(requests_)
    assert set(results) == {r["id"] for r in requests_}
    assert {r["status"] for r in results.values()} == {200}
    issued = m365sim.stats()["retry_after_issued"]
    assert issued and all(any(w >= ra for w in sleep.waits) for ra in issued)


def test_documented_signin_throttle_is_waited_out(m365sim, providers):
    m365sim.set_limits(window_scale=0.1)  # 5 requests per 1 s instead of per 10 s
    sleep = RecordingSleep(real=True)
    client = _client(m365sim, providers[0], sleep)
    anchor = m365sim.world.anchor
    events = list(client.sign_ins(anchor - timedelta(days=30), anchor, top=50))
    assert len(events) == len(m365sim.world.tenants[0].signins.events)
    stats = m365sim.stats()
    assert stats["faults"].get("throttle:SignInReports", 0) > 0
    _assert_every_retry_after_honoured(m365sim, sleep)


def test_directory_token_bucket_is_waited_out(m365sim, providers):
    m365sim.set_limits(directory_units=2, window_scale=0.05)  # 2 units, refilled 4 per s
    sleep = RecordingSleep(real=True)
    users = list(_client(m365sim, providers[0], sleep).list_users(["displayName"], page_size=2))
    assert len(users) == len({u["id"] for u in users}) == len(_truth(m365sim)["users"])
    assert m365sim.stats()["faults"].get("throttle:Directory", 0) > 0
    _assert_every_retry_after_honoured(m365sim, sleep)


def _hammer(client: GraphClient, mailbox: str, threads: int = 12) -> list[Exception]:
    errors: list[Exception] = []

    def read() -> None:
        try:
            list(client.messages(mailbox, "receivedDateTime ge 2026-01-01T00:00:00Z",
                                 ["subject"]))
        except Exception as exc:  # collected and asserted by the test
            errors.append(exc)

    workers = [threading.Thread(target=read) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


def test_client_never_exceeds_four_concurrent_requests_per_mailbox(m365sim, providers):
    m365sim.set_faults(latency_ms=40)
    m365sim.set_limits(window_scale=0.01)
    mailbox = m365sim.world.tenants[0].directory.users[0].id
    client = _client(m365sim, providers[0], RecordingSleep(real=True))
    assert _hammer(client, mailbox) == []
    stats = m365sim.stats()
    assert stats["max_concurrency"][mailbox] == 4
    assert "throttle:MailboxConcurrency" not in stats["faults"]


def test_the_simulator_enforces_mailbox_concurrency(m365sim, providers):
    """Control for the test above: a client allowing 8 in flight is throttled."""
    m365sim.set_faults(latency_ms=40)
    m365sim.set_limits(window_scale=0.01)
    mailbox = m365sim.world.tenants[0].directory.users[0].id
    client = _client(m365sim, providers[0], RecordingSleep(real=True),
                     max_concurrency_per_mailbox=8)
    assert _hammer(client, mailbox) == []
    assert m365sim.stats()["faults"]["throttle:MailboxConcurrency"] > 0


def test_retry_budget_is_bounded_then_typed(m365sim, providers):
    m365sim.set_faults(throttle_rate=1.0)
    client = _client(m365sim, providers[0], max_retries=3)
    with pytest.raises(GraphThrottled) as throttled:
        list(client.list_users())
    assert throttled.value.status == 429
    assert throttled.value.retry_after in (1.0, 2.0, 3.0), "last Retry-After, for parking"
    assert client.counters.retries == 3 and client.counters.requests == 4
    m365sim.set_faults(error_rate=1.0)
    with pytest.raises(GraphUnavailable):
        list(_client(m365sim, providers[0], max_retries=2).list_users())
    m365sim.set_faults(drop_rate=1.0)
    with pytest.raises(GraphUnavailable):
        list(_client(m365sim, providers[0], max_retries=1).list_users())


def test_401_gets_one_fresh_token_then_auth_error(m365sim, providers):
    calls = []

    def stale_then_fresh() -> str:
        calls.append(1)
        return "stale" if len(calls) == 1 else providers[0]()

    assert list(_client(m365sim, stale_then_fresh).list_users())
    assert len(calls) == 2  # the stale token, then exactly one fresh one

    bad_calls = []
    client = _client(m365sim, lambda: bad_calls.append(1) or "never-valid")
    with pytest.raises(GraphAuthError) as failure:
        list(client.list_users())
    assert len(bad_calls) == 2 and "never-valid" not in str(failure.value)


def test_401_invalidates_a_caching_provider_before_asking_again(m365sim, providers):
    class CachingProvider:
        """Like the vault client: returns its cached token until invalidated."""

        def __init__(self):
            self.cached, self.invalidated = "revoked-but-cached", 0

        def __call__(self) -> str:
            return self.cached

        def invalidate(self) -> None:
            self.invalidated += 1
            self.cached = providers[0]()

    provider = CachingProvider()
    assert list(_client(m365sim, provider).list_users())
    assert provider.invalidated == 1


def test_forbidden_and_not_found_are_typed(m365sim, providers):
    client = _client(m365sim, providers[1])
    now = datetime.now(UTC)
    with pytest.raises(GraphForbidden) as forbidden:
        list(client.sign_ins(now - timedelta(days=1), now))
    assert forbidden.value.code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    with pytest.raises(GraphNotFound):
        list(client.messages("nobody@nowhere.example", "receivedDateTime ge "
                             "2026-01-01T00:00:00Z"))
    truth = _truth(m365sim, 1)
    invoice = next(i for i in truth["invoices"] if i["attachment_id"])
    with pytest.raises(GraphForbidden) as no_mail_read:
        client.attachments(invoice["mailbox_user_id"], invoice["message_id"])
    assert no_mail_read.value.code == "ErrorAccessDenied"


def test_attachments_for_many_messages_use_batch(m365sim, providers):
    m365sim.set_limits(enabled=False)
    m365sim.set_faults(throttle_rate=0.2, seed=2)
    truth = _truth(m365sim)
    mailbox = truth["invoices"][0]["mailbox_user_id"]
    invoices = [i for i in truth["invoices"] if i["mailbox_user_id"] == mailbox]
    found = _client(m365sim, providers[0]).attachments_for(
        mailbox, [i["message_id"] for i in invoices] + ["AAMkAgone"])
    assert found.pop("AAMkAgone") == []
    for invoice in invoices:
        ids = [a["id"] for a in found[invoice["message_id"]]]
        assert ids == ([invoice["attachment_id"]] if invoice["attachment_id"] else [])
    stats = m365sim.stats()
    assert stats["by_endpoint"]["POST /$batch"] < len(invoices)


def test_expired_delta_link_is_a_410_and_a_fresh_round_recovers(m365sim, providers):
    client = _client(m365sim, providers[0])
    first = client.users_delta(["displayName"])
    m365sim.expire_delta_tokens(m365sim.tenants[0].tenant_id)
    with pytest.raises(GraphError) as gone:
        client.users_delta(delta_link=first.delta_link)
    assert gone.value.status == 410 and gone.value.code == "syncStateNotFound"
    again = client.users_delta(["displayName"])
    assert {u["id"] for u in again.changes} == {u["id"] for u in _truth(m365sim)["users"]}
