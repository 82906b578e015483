"""Graph's documented throttling, and fault injection for reliability tests.

Limits (per app): Outlook 10,000 requests per 10 minutes and 4 concurrent requests per mailbox;
sign-in reports about 5 requests per 10 s per tenant; the directory a token bucket of resource
units per 10 s sized by tenant (3,500 / 5,000 / 8,000; `GET users` costs 2, `$select` saves 1).
`window_scale` shrinks every window (and so every Retry-After) so tests run in seconds; scaled
Retry-After values are sent as decimals, an extension real Graph never needs.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields


@dataclass
class Limits:
    enabled: bool = True
    window_scale: float = 1.0
    mailbox_requests: int = 10_000
    mailbox_window_s: float = 600.0
    mailbox_concurrency: int = 4
    signin_requests: int = 5
    signin_window_s: float = 10.0
    directory_window_s: float = 10.0
    directory_units: int | None = None  # None: by tenant size as documented

    def update(self, changes: dict) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown limit(s): {sorted(unknown)}")
        for name, value in changes.items():
            setattr(self, name, value)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Throttle:
    reason: str  # MailboxConcurrency | MailboxRequestRate | SignInReports | Directory
    retry_after: float


def directory_units_for(user_count: int) -> int:
    return 3_500 if user_count < 50 else 5_000 if user_count <= 500 else 8_000


def _retry_after(seconds: float, scale: float) -> float:
    # Graph sends whole seconds; scaled windows need fractions to stay fast.
    return float(max(1, math.ceil(seconds))) if scale >= 1 else round(max(seconds, 0.01), 3)


class Limiter:
    def __init__(self, limits: Limits, clock=time.monotonic):
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple, deque] = {}
        self._buckets: dict[tuple, tuple[float, float]] = {}  # key -> (units, last refill)
        self._in_flight: dict[tuple, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._buckets.clear()

    def _sliding_window(self, key: tuple, limit: int, window: float) -> float | None:
        now = self._clock()
        hits = self._windows.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return hits[0] + window - now
        hits.append(now)
        return None

    def check_mailbox(self, app_id: str, mailbox: str) -> Throttle | None:
        limits = self.limits
        if not limits.enabled:
            return None
        with self._lock:
            window = limits.mailbox_window_s * limits.window_scale
            wait = self._sliding_window(("mailbox", app_id, mailbox), limits.mailbox_requests,
                                        window)
        if wait is None:
            return None
        return Throttle("MailboxRequestRate", _retry_after(wait, limits.window_scale))

    def enter_mailbox(self, app_id: str, mailbox: str) -> Throttle | None:
        """Claim a concurrency slot; the caller must call leave_mailbox when done."""
        limits = self.limits
        with self._lock:
            key = (app_id, mailbox)
            if limits.enabled and self._in_flight.get(key, 0) >= limits.mailbox_concurrency:
                return Throttle("MailboxConcurrency", _retry_after(1.0 * limits.window_scale,
                                                                   limits.window_scale))
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return None

    def leave_mailbox(self, app_id: str, mailbox: str) -> None:
        with self._lock:
            self._in_flight[(app_id, mailbox)] -= 1

    def check_signins(self, app_id: str, tenant_id: str) -> Throttle | None:
        limits = self.limits
        if not limits.enabled:
            return None
        with self._lock:
            wait = self._sliding_window(("signins", app_id, tenant_id), limits.signin_requests,
                                        limits.signin_window_s * limits.window_scale)
        if wait is None:
            return None
        return Throttle("SignInReports", _retry_after(wait, limits.window_scale))

    def check_directory(self, app_id: str, tenant_id: str, user_count: int, cost: int
                        ) -> tuple[Throttle | None, float]:
        """Spend `cost` units from the tenant's bucket; returns (throttle, percent used)."""
        limits = self.limits
        capacity = limits.directory_units or directory_units_for(user_count)
        if not limits.enabled:
            return None, 0.0
        window = limits.directory_window_s * limits.window_scale
        with self._lock:
            now = self._clock()
            units, last = self._buckets.get((app_id, tenant_id), (float(capacity), now))
            units = min(capacity, units + (now - last) * capacity / window)
            if units < cost:
                self._buckets[(app_id, tenant_id)] = (units, now)
                wait = (cost - units) * window / capacity
                return Throttle("Directory", _retry_after(wait, limits.window_scale)), 100.0
            units -= cost
            self._buckets[(app_id, tenant_id)] = (units, now)
        return None, round(100.0 * (capacity - units) / capacity, 1)


@dataclass
class Faults:
    error_rate: float = 0.0
    latency_ms: float = 0.0
    throttle_rate: float = 0.0
    throttle_without_retry_after_rate: float = 0.0
    drop_rate: float = 0.0
    retry_after_s: float = 1.0  # injected 429s say 1x, 2x or 3x this
    token_error_rate: float = 0.0  # the token endpoint answers 503 temporarily_unavailable
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure({})

    def configure(self, settings: dict) -> Faults:
        known = {f.name for f in fields(Faults)}
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {sorted(unknown)}")
        faults = Faults(**settings)
        for name in ("error_rate", "throttle_rate", "throttle_without_retry_after_rate",
                     "drop_rate", "token_error_rate"):
            if not 0.0 <= getattr(faults, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)
        return faults

    def draw(self, allow_drop: bool = True) -> tuple[str | None, float]:
        """Which fault (if any) hits the next request: error | throttle | throttle_no_ra | drop,
        and the Retry-After for an injected throttle."""
        with self._lock:
            faults, roll = self.faults, self._rng.random()
            retry_after = faults.retry_after_s * self._rng.choice((1, 2, 3))
        edges = (("drop", faults.drop_rate if allow_drop else 0.0),
                 ("error", faults.error_rate),
                 ("throttle", faults.throttle_rate),
                 ("throttle_no_ra", faults.throttle_without_retry_after_rate))
        for kind, rate in edges:
            if roll < rate:
                return kind, retry_after
            roll -= rate
        return None, retry_after

    def token_error(self) -> bool:
        with self._lock:
            return self._rng.random() < self.faults.token_error_rate

    def latency_s(self) -> float:
        return self.faults.latency_ms / 1000.0
