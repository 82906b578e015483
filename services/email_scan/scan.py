"""One mailbox, one window: query Graph per sender-filter chunk, classify in memory, keep only
billing and sign-up metadata. No database here, so the same code serves the handler, the
precision/recall test and the benchmark.

What leaves Microsoft is already limited by the server-side sender filter and `$select`;
what arrives is reduced further here: mail classified "other" or "not_vendor" (e.g. a
`receipts+` prefix on a stranger's domain, or a Stripe receipt from a merchant outside the
catalog) is counted and forgotten, never stored or logged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.email_scan.classify import Classifier
from services.email_scan.minimize import minimize_subject, sender_address

# Exactly the fields we keep; never body, bodyPreview or uniqueBody.
MESSAGE_FIELDS = ("id", "subject", "from", "receivedDateTime", "hasAttachments")
KEPT_KINDS = frozenset({"receipt", "renewal", "payment_failed", "signup"})


class MailboxReader(Protocol):
    """What the scan needs from Graph: every message of a mailbox matching any of the filters
    (one query per filter, all pages followed), with only `fields` selected. A message
    matching two filters may come twice."""

    def messages_matching(self, user_id: str, filters: Sequence[str],
                          fields: Sequence[str]) -> Iterable[dict]: ...


@dataclass(frozen=True)
class DetectedEmail:
    message_id: str
    vendor_id: str
    kind: str
    subject: str          # minimized (see minimize.py)
    sender: str           # the vendor's address
    received_at: datetime
    has_attachments: bool


@dataclass
class ScanOutcome:
    detected: list[DetectedEmail] = field(default_factory=list)
    fetched: int = 0
    queries: int = 0
    dropped: Counter[str] = field(default_factory=Counter)  # reason -> count, no content

    def counts(self) -> dict:
        """Safe to log: numbers only, no subject, no address."""
        kept = Counter(e.kind for e in self.detected)
        return {"queries": self.queries, "fetched": self.fetched, "kept": dict(kept),
                "dropped": dict(self.dropped)}


def scan_mailbox(reader: MailboxReader, classifier: Classifier, mailbox_id: str,
                 filters: Sequence[str]) -> ScanOutcome:
    outcome = ScanOutcome(queries=len(filters))
    seen: set[str] = set()
    for message in reader.messages_matching(mailbox_id, filters, MESSAGE_FIELDS):
        outcome.fetched += 1
        detected, reason = _keep_or_drop(classifier, message)
        if detected is None:
            outcome.dropped[reason] += 1
        elif detected.message_id in seen:
            outcome.dropped["repeated"] += 1  # a sender matched by two filters
        else:
            seen.add(detected.message_id)
            outcome.detected.append(detected)
    return outcome


def _keep_or_drop(classifier: Classifier, message: dict) -> tuple[DetectedEmail | None, str]:
    """The message reduced to what we keep, or None with the reason it was dropped."""
    if not isinstance(message, dict):
        return None, "malformed"
    message_id, received = message.get("id"), _received_at(message.get("receivedDateTime"))
    if not isinstance(message_id, str) or not message_id or received is None:
        return None, "malformed"
    subject = message.get("subject")
    if not isinstance(subject, str):
        subject = None
    sender = sender_address(message)
    verdict = classifier.classify(sender or None, subject)
    if verdict.kind not in KEPT_KINDS or verdict.vendor_id is None:
        return None, verdict.kind
    return DetectedEmail(
        message_id=message_id,
        vendor_id=verdict.vendor_id,
        kind=verdict.kind,
        subject=minimize_subject(subject),
        sender=sender,
        received_at=received,
        has_attachments=message.get("hasAttachments") is True,
    ), verdict.kind


def _received_at(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
