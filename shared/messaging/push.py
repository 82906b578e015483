"""Decoding and validating Pub/Sub push requests (the wrapped format)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

MAX_ENVELOPE_BYTES = 1_000_000   # Pub/Sub's own message limit is 10 MB; ours are small


class MalformedEnvelope(ValueError):
    """The request is not a Pub/Sub push envelope; the message says why."""


@dataclass(frozen=True)
class PushMessage:
    subscription: str
    message_id: str
    data: bytes
    attributes: dict[str, str]
    publish_time: str | None
    delivery_attempt: int | None

    @property
    def dedupe_key(self) -> str:
        """The event id when the publisher set one (stable across publisher
        retries), else Pub/Sub's messageId (unique per topic)."""
        return self.attributes.get("event_id") or f"msg:{self.message_id}"


def decode_push(body: object) -> PushMessage:
    if not isinstance(body, dict):
        raise MalformedEnvelope("body is not a JSON object")
    message = body.get("message")
    if not isinstance(message, dict):
        raise MalformedEnvelope("missing 'message' object")
    message_id = message.get("messageId") or message.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise MalformedEnvelope("missing message.messageId")
    raw = message.get("data", "")
    if not isinstance(raw, str):
        raise MalformedEnvelope("message.data must be a base64 string")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedEnvelope("message.data is not valid base64") from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise MalformedEnvelope("message.attributes must map strings to strings")
    attempt = body.get("deliveryAttempt")
    if attempt is not None and not isinstance(attempt, int):
        raise MalformedEnvelope("deliveryAttempt must be an integer")
    subscription = body.get("subscription")
    if not isinstance(subscription, str) or not subscription:
        raise MalformedEnvelope("missing subscription")
    return PushMessage(
        subscription=subscription,
        message_id=message_id,
        data=data,
        attributes=attributes,
        publish_time=message.get("publishTime") or message.get("publish_time"),
        delivery_attempt=attempt,
    )
