"""Request accounting that tests and benchmarks read: per endpoint, mailbox, status, plus
throttling, injected faults and privacy violations (a request that asked for a body field)."""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.requests = 0
            self.by_endpoint: Counter[str] = Counter()
            self.by_mailbox: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()
            self.by_tenant: Counter[str] = Counter()
            self.faults: Counter[str] = Counter()
            self.throttled = 0
            self.retry_after_issued: list[float] = []
            self.privacy_violations: list[dict] = []
            self.batch_parts = 0
            self.token_requests: Counter[str] = Counter()
            self._in_flight: Counter[str] = Counter()
            self.max_concurrency: dict[str, int] = {}

    def record(self, *, endpoint: str, status: int, tenant_id: str | None,
               mailbox: str | None, via_batch: bool = False) -> None:
        with self._lock:
            self.requests += 1
            self.batch_parts += via_batch
            self.by_endpoint[endpoint] += 1
            self.by_status[str(status)] += 1
            if tenant_id:
                self.by_tenant[tenant_id] += 1
            if mailbox:
                self.by_mailbox[mailbox] += 1

    def record_throttle(self, retry_after: float | None, reason: str) -> None:
        with self._lock:
            self.throttled += 1
            self.faults[f"throttle:{reason}"] += 1
            if retry_after is not None:
                self.retry_after_issued.append(retry_after)

    def record_fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def record_token(self, grant_type: str, outcome: str) -> None:
        with self._lock:
            self.token_requests[f"{grant_type}:{outcome}"] += 1

    def record_privacy_violation(self, *, endpoint: str, mailbox: str | None, fields: list[str],
                                 reason: str) -> None:
        with self._lock:
            self.privacy_violations.append({"endpoint": endpoint, "mailbox": mailbox,
                                            "fields": fields, "reason": reason})

    @contextmanager
    def in_flight(self, mailbox: str | None):
        """Track concurrent requests per mailbox; the peak shows whether a client kept to 4."""
        if mailbox is None:
            yield
            return
        with self._lock:
            self._in_flight[mailbox] += 1
            peak = self._in_flight[mailbox]
            self.max_concurrency[mailbox] = max(self.max_concurrency.get(mailbox, 0), peak)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[mailbox] -= 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests": self.requests,
                "batch_parts": self.batch_parts,
                "by_endpoint": dict(self.by_endpoint),
                "by_mailbox": dict(self.by_mailbox),
                "by_status": dict(self.by_status),
                "by_tenant": dict(self.by_tenant),
                "throttled": self.throttled,
                "retry_after_issued": list(self.retry_after_issued),
                "faults": dict(self.faults),
                "token_requests": dict(self.token_requests),
                "max_concurrency": dict(self.max_concurrency),
                "privacy_violations": list(self.privacy_violations),
            }
