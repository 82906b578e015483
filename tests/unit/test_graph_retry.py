"""Retry-After parsing and the jittered backoff used when Graph gives no Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from shared.graph import Backoff, GraphClient, parse_retry_after


@pytest.mark.parametrize("header,seconds", [
    ("41", 41.0), ("0.25", 0.25), (" 3 ", 3.0), ("-5", 0.0), (None, None), ("", None),
    ("soon", None),
])
def test_retry_after_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_http_date():
    now = datetime(2026, 12, 4, 20, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Fri, 04 Dec 2026 20:00:30 GMT", now=now) == 30.0


def test_backoff_grows_stays_in_jitter_band_and_is_capped():
    backoff = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(4))
    for attempt in range(8):
        ceiling = min(8.0, 2.0 ** attempt)
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1, "jitter spreads clients out"


def test_client_rejects_nonsense_settings():
    with pytest.raises(ValueError):
        GraphClient(lambda: "t", max_retries=-1)
    with pytest.raises(ValueError):
        GraphClient(lambda: "t", max_concurrency_per_mailbox=0)
