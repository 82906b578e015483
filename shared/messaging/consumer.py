"""Idempotent push consumption and the status-code policy.

What arrives: a Pub/Sub push envelope. What it answers:
- 204 when the handler's effects are committed, or when the message was
  already processed (a redelivery: the processed-message record, written in
  the same transaction as the effects, says so);
- 200 when the message can never succeed (malformed envelope, broken
  contract, a handler's PermanentFailure): it is parked with its reason in
  `parked_messages` first, so nothing is lost, then acknowledged so Pub/Sub
  stops retrying;
- 500 for anything transient: Pub/Sub retries with backoff and, after the
  subscription's max delivery attempts, moves it to the dead-letter topic.
  Nothing is retried forever.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from shared.db.uow import UnitOfWork, UnitOfWorkFactory
from shared.logs import log_fields
from shared.messaging.contracts import ContractError, Event, decode_event
from shared.messaging.push import MalformedEnvelope, PushMessage, decode_push

log = logging.getLogger(__name__)

MAX_PARKED_BYTES = 64_000


class PermanentFailure(Exception):
    """Raise from a handler when retrying cannot help; the reason is stored."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


Handler = Callable[[Event, UnitOfWork], None]


@dataclass(frozen=True)
class Outcome:
    status: int
    result: str      # "processed" | "duplicate" | "parked" | "retry"
    detail: str = ""


class PushConsumer:
    def __init__(self, consumer: str, uow_factory: UnitOfWorkFactory,
                 handlers: dict[type[Event], Handler]):
        self.consumer = consumer
        self.uow_factory = uow_factory
        self.handlers = handlers

    def handle(self, raw_body: bytes) -> Outcome:
        try:
            envelope = json.loads(raw_body or b"null")
            message = decode_push(envelope)
        except (ValueError, MalformedEnvelope) as exc:
            reason = f"malformed envelope: {exc}" if isinstance(exc, MalformedEnvelope) \
                else "malformed envelope: body is not JSON"
            return self._park(None, raw_body, reason)
        try:
            event = decode_event(message.data)
        except ContractError as exc:
            return self._park(message, raw_body, f"contract: {exc}")
        handler = self.handlers.get(type(event))
        if handler is None:
            return self._park(message, raw_body, f"no handler for {event.topic} v{event.version}")
        try:
            with self.uow_factory(org_id=event.org_id) as uow:
                if not uow.claim_message(self.consumer, message.dedupe_key):
                    return Outcome(204, "duplicate")
                handler(event, uow)
                if not uow.committed:
                    uow.commit()
        except PermanentFailure as exc:
            return self._park(message, raw_body, exc.reason, org_id=event.org_id)
        except Exception as exc:
            log.error("handler failed; Pub/Sub will retry", exc_info=True, extra=log_fields(
                consumer=self.consumer, message_id=message.message_id, error=type(exc).__name__))
            return Outcome(500, "retry", type(exc).__name__)
        return Outcome(204, "processed")

    def _park(self, message: PushMessage | None, raw_body: bytes, reason: str,
              org_id: str | None = None) -> Outcome:
        """Store the message with its reason, then acknowledge it."""
        try:
            with self.uow_factory() as uow:
                uow.execute(
                    "insert into parked_messages (consumer, message_id, subscription, org_id, "
                    "reason, envelope) values (:consumer, :mid, :sub, :org, :reason, :envelope)",
                    {
                        "consumer": self.consumer,
                        "mid": message.message_id if message else None,
                        "sub": message.subscription if message else None,
                        "org": org_id,
                        "reason": reason[:1000],
                        "envelope": raw_body[:MAX_PARKED_BYTES].decode("utf-8", "replace"),
                    },
                )
                uow.commit()
        except Exception:
            # If we cannot even park it, do not ack: Pub/Sub keeps it and dead-letters it.
            log.error("parking failed; leaving the message to Pub/Sub", exc_info=True)
            return Outcome(500, "retry", "park failed")
        log.warning("message parked", extra=log_fields(
            consumer=self.consumer, reason=reason,
            message_id=message.message_id if message else None))
        return Outcome(200, "parked", reason)
