"""Caps that keep a hostile or broken invoice from hurting the service, and the typed
rejection raised when a document breaks one of them."""

from __future__ import annotations

from dataclasses import dataclass

# Reason codes a caller can park a message with; stable strings, shown to operators.
REJECTION_REASONS = frozenset(
    {
        "too_large",
        "too_many_pages",
        "encrypted",
        "malformed",
        "not_pdf",
        "timeout",
        "decompression_bomb",
        "no_text",
    }
)


class InvoiceRejected(Exception):
    """The document was refused; `reason` is one of REJECTION_REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in REJECTION_REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_pages: int = 20
    max_chars: int = 200_000
    timeout_seconds: float = 10.0
    # Per decoded stream: a real invoice page stream is kilobytes, a bomb is gigabytes.
    max_stream_bytes: int = 20 * 1024 * 1024
    # Address-space cap of the extraction child: the last line of defence against bombs
    # in code paths pypdf does not budget.
    max_child_memory_bytes: int = 1024 * 1024 * 1024


DEFAULT_LIMITS = Limits()
