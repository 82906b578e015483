"""The bench profile: 50,000 users, with mail generated only for mailboxes that are read."""

from __future__ import annotations

from datetime import date

from tests.m365sim.world import World


def test_bench_profile_is_large_and_keeps_mail_lazy():
    bench = World(seed=1, profile="bench", anchor_date=date(2026, 11, 30))
    tenant = bench.tenants[0]
    assert len(tenant.directory.users) >= 50_000
    assert len(tenant.mail._cache) == 0, "no mailbox generated before it is read"
    last_user = tenant.directory.users[-1]
    first_read = tenant.mail.mailbox(last_user)
    assert first_read and first_read == tenant.mail.mailbox(last_user)
    assert len(tenant.mail._cache) == 1
    assert len({e.user_index for e in tenant.signins.events}) <= bench.profile.signin_user_cap
