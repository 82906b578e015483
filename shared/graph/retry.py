"""When and how long to wait before trying a Graph request again, and what the client counts."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds (decimals accepted) or an
    HTTP date. None when absent or unreadable (then we back off ourselves)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


@dataclass
class Backoff:
    """Exponential backoff with jitter for answers without Retry-After: attempt n waits a
    random time in [base * 2**n / 2, base * 2**n], capped, so many clients spread out."""

    base_s: float = 1.0
    cap_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** attempt))
        return ceiling / 2 + self.rng.random() * ceiling / 2


class GraphCounters:
    """What a client sent, for services to report: requests, retries, waits, statuses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.throttled = 0
        self.throttled_seconds = 0.0
        self.backoff_seconds = 0.0
        self.token_refreshes = 0
        self.request_seconds = 0.0  # time spent in HTTP calls (by the injected clock)
        self.by_status: Counter[str] = Counter()

    def sent(self, status: int | None, seconds: float = 0.0) -> None:
        with self._lock:
            self.requests += 1
            self.request_seconds += seconds
            self.by_status["error" if status is None else str(status)] += 1

    def waited(self, seconds: float, throttled: bool) -> None:
        with self._lock:
            self.retries += 1
            if throttled:
                self.throttled += 1
                self.throttled_seconds += seconds
            else:
                self.backoff_seconds += seconds

    def refreshed_token(self) -> None:
        with self._lock:
            self.token_refreshes += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": self.requests, "retries": self.retries,
                    "throttled": self.throttled,
                    "throttled_seconds": round(self.throttled_seconds, 3),
                    "backoff_seconds": round(self.backoff_seconds, 3),
                    "token_refreshes": self.token_refreshes,
                    "request_seconds": round(self.request_seconds, 3),
                    "by_status": dict(self.by_status)}
