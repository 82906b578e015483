"""Every event that crosses a topic, in one place, versioned.

A newcomer finds each topic's payload here. An event travels as JSON:
`{"type": <topic>, "version": N, "data": {...fields...}}` with the attributes
`type`, `version`, `org_id` and `event_id` (consumers de-duplicate on
`event_id`, because a publisher retry gets a new Pub/Sub messageId).

Changing a payload incompatibly means a new version class next to the old
one, and consumers accept both until the old one is drained.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import ClassVar, get_type_hints


class ContractError(ValueError):
    """A payload does not match its contract: retrying will not help."""


@dataclass(frozen=True)
class Event:
    topic: ClassVar[str]
    version: ClassVar[int]

    org_id: str

    def to_payload(self) -> dict:
        return {"type": self.topic, "version": self.version, "data": dataclasses.asdict(self)}

    def attributes(self, event_id: str) -> dict[str, str]:
        return {"type": self.topic, "version": str(self.version), "org_id": self.org_id,
                "event_id": event_id}

    @classmethod
    def from_data(cls, data: dict) -> Event:
        if not isinstance(data, dict):
            raise ContractError(f"{cls.topic} v{cls.version}: data must be an object")
        hints = get_type_hints(cls)
        values = {}
        for field in fields(cls):
            if field.name not in data:
                if field.default is not dataclasses.MISSING:
                    continue
                raise ContractError(f"{cls.topic} v{cls.version}: missing field {field.name!r}")
            values[field.name] = _check(cls, field.name, hints[field.name], data[field.name])
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ContractError(f"{cls.topic} v{cls.version}: unknown fields {sorted(unknown)}")
        return cls(**values)


def _check(cls, name: str, hint, value):
    where = f"{cls.topic} v{cls.version}: field {name!r}"
    allowed = _allowed_types(hint)
    if value is None:
        if type(None) in allowed:
            return None
        raise ContractError(f"{where} must not be null")
    if not isinstance(value, tuple(t for t in allowed if t is not type(None))) or (
        isinstance(value, bool) and bool not in allowed
    ):
        raise ContractError(f"{where} has the wrong type ({type(value).__name__})")
    if isinstance(value, str) and (name == "org_id" or name.endswith("_uuid")):
        try:
            uuid.UUID(value)
        except ValueError:
            raise ContractError(f"{where} is not a UUID") from None
    if isinstance(value, str) and name.endswith("_at"):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ContractError(f"{where} is not an ISO 8601 time") from None
    return value


def _allowed_types(hint) -> tuple:
    args = getattr(hint, "__args__", None)
    if args:
        return tuple(getattr(a, "__origin__", a) for a in args)
    return (getattr(hint, "__origin__", hint),)


@dataclass(frozen=True)
class SyncRequested(Event):
    """ingest -> ingest: sync one connection now (fan-out of the hourly cron)."""

    topic: ClassVar[str] = "sync-requested"
    version: ClassVar[int] = 1
    connection_id: str
    reason: str                 # "schedule" | "manual"
    requested_at: str           # ISO 8601 UTC


@dataclass(frozen=True)
class MailboxScanRequested(Event):
    """ingest -> email-scan: scan one mailbox for one time window."""

    topic: ClassVar[str] = "mailbox-scan-requested"
    version: ClassVar[int] = 1
    connection_id: str
    mailbox_id: str             # Graph user id of the mailbox
    window_start_at: str        # ISO 8601 UTC, inclusive
    window_end_at: str          # ISO 8601 UTC, exclusive
    sync_id: str | None = None


@dataclass(frozen=True)
class BillingEmailDetected(Event):
    """email-scan -> invoice-parse: a billing or sign-up email from a catalog vendor."""

    topic: ClassVar[str] = "billing-email-detected"
    version: ClassVar[int] = 1
    connection_id: str
    mailbox_id: str
    message_id: str             # Graph message id
    vendor_id: str              # catalog vendor id
    kind: str                   # "receipt" | "renewal" | "payment_failed" | "signup"
    subject: str
    received_at: str
    has_attachments: bool
    mode: str                   # "metadata" | "attachments": what the connection allows


@dataclass(frozen=True)
class InvoiceParsed(Event):
    """invoice-parse -> (api, analytics): invoice fields were stored."""

    topic: ClassVar[str] = "invoice-parsed"
    version: ClassVar[int] = 1
    invoice_id: str
    vendor_id: str
    total_minor: int | None
    currency: str | None
    invoice_date: str | None
    source: str                 # "subject" | "attachment"


@dataclass(frozen=True)
class ConnectionNeedsConsent(Event):
    """token-vault -> (api, ingest): a grant was revoked or expired; admin must reconnect."""

    topic: ClassVar[str] = "connection-needs-consent"
    version: ClassVar[int] = 1
    connection_id: str
    reason: str


@dataclass(frozen=True)
class OrgOffboarded(Event):
    """api -> retention-purge: the organization left; purge after the grace period."""

    topic: ClassVar[str] = "org-offboarded"
    version: ClassVar[int] = 1
    requested_at: str


ALL_EVENTS: tuple[type[Event], ...] = (
    SyncRequested,
    MailboxScanRequested,
    BillingEmailDetected,
    InvoiceParsed,
    ConnectionNeedsConsent,
    OrgOffboarded,
)


def event_class(topic: str, version: int) -> type[Event]:
    for cls in ALL_EVENTS:
        if cls.topic == topic and cls.version == version:
            return cls
    raise ContractError(f"no contract for {topic!r} version {version}")


def decode_event(data: bytes) -> Event:
    """Bytes from a Pub/Sub message -> a validated event, or ContractError."""
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ContractError("message data is not JSON") from None
    if not isinstance(payload, dict):
        raise ContractError("message data must be a JSON object")
    topic, version = payload.get("type"), payload.get("version")
    if not isinstance(topic, str) or not isinstance(version, int):
        raise ContractError("message data lacks a type and an integer version")
    return event_class(topic, version).from_data(payload.get("data"))
