"""The simulator's documented limits, on a fake clock: sliding windows, the directory token
bucket, mailbox concurrency, and fault draws."""

from __future__ import annotations

import pytest

from tests.m365sim.throttling import FaultInjector, Limiter, Limits, directory_units_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_mailbox_window_allows_ten_thousand_per_ten_minutes():
    clock = FakeClock()
    limiter = Limiter(Limits(), clock)
    assert all(limiter.check_mailbox("app", "box") is None for _ in range(10_000))
    throttle = limiter.check_mailbox("app", "box")
    assert throttle.reason == "MailboxRequestRate" and throttle.retry_after == 600
    assert limiter.check_mailbox("app", "other-box") is None, "limits are per mailbox"
    clock.now += 600
    assert limiter.check_mailbox("app", "box") is None


def test_four_concurrent_requests_per_mailbox():
    limiter = Limiter(Limits(), FakeClock())
    assert [limiter.enter_mailbox("app", "box") for _ in range(4)] == [None] * 4
    assert limiter.enter_mailbox("app", "box").reason == "MailboxConcurrency"
    limiter.leave_mailbox("app", "box")
    assert limiter.enter_mailbox("app", "box") is None


def test_signin_reports_five_per_ten_seconds_scaled():
    clock = FakeClock()
    limiter = Limiter(Limits(window_scale=0.01), clock)
    assert [limiter.check_signins("app", "t") for _ in range(5)] == [None] * 5
    throttle = limiter.check_signins("app", "t")
    assert throttle.retry_after == pytest.approx(0.1)  # decimal Retry-After when scaled
    clock.now += 0.1
    assert limiter.check_signins("app", "t") is None


def test_directory_bucket_by_tenant_size_and_refill():
    assert [directory_units_for(n) for n in (10, 300, 50_000)] == [3_500, 5_000, 8_000]
    clock = FakeClock()
    limiter = Limiter(Limits(directory_units=10), clock)
    for _ in range(5):
        assert limiter.check_directory("app", "t", 10, cost=2)[0] is None
    throttle, used = limiter.check_directory("app", "t", 10, cost=2)
    assert throttle.reason == "Directory" and used == 100.0
    assert throttle.retry_after == 2  # 2 units at 1 unit/s, in whole seconds
    clock.now += 2
    assert limiter.check_directory("app", "t", 10, cost=2)[0] is None


def test_disabled_limits_never_throttle():
    limiter = Limiter(Limits(enabled=False, mailbox_requests=1, signin_requests=1), FakeClock())
    assert all(limiter.check_mailbox("a", "b") is None for _ in range(5))
    assert all(limiter.check_signins("a", "t") is None for _ in range(5))


def test_fault_draws_are_seeded_and_proportional():
    first, second = FaultInjector(), FaultInjector()
    for injector in (first, second):
        injector.configure({"error_rate": 0.2, "throttle_rate": 0.3, "seed": 9})
    draws = [first.draw()[0] for _ in range(2000)]
    assert draws == [second.draw()[0] for _ in range(2000)]
    assert 0.15 < draws.count("error") / 2000 < 0.25
    assert 0.25 < draws.count("throttle") / 2000 < 0.35


@pytest.mark.parametrize("settings", [{"error_rate": 1.5}, {"bogus": 1}])
def test_bad_fault_settings_are_refused(settings):
    with pytest.raises(ValueError):
        FaultInjector().configure(settings)


def test_unknown_limits_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        Limits().update({"mailbox_requestz": 5})
