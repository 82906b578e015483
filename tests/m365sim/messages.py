"""Messages and attachments as Graph returns them, with deterministic ids.

Ids encode (tenant, mailbox, kind, slot) so a mailbox generated lazily can find its messages
again without an index of every message in the tenant."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tests.m365sim.signins import iso

PLANNED, ORDINARY = 0, 1


def message_id(seed: int, tenant_index: int, user_index: int, kind: int, slot: int) -> str:
    packed = struct.pack(">HIBI", tenant_index, user_index, kind, slot)
    salt = hashlib.sha256(repr((seed, packed)).encode()).digest()[:24]
    return "AAMkA" + base64.urlsafe_b64encode(packed + salt).decode().rstrip("=")


def attachment_id(message: str, number: int) -> str:
    digest = hashlib.sha256(f"{message}:{number}".encode()).digest()[:30]
    return "AAMkAGAtt" + base64.urlsafe_b64encode(bytes([number]) + digest).decode().rstrip("=")


def _address(name: str, address: str) -> dict:
    return {"emailAddress": {"name": name, "address": address}}


@dataclass
class SimAttachment:
    id: str
    name: str
    content_type: str
    modified: datetime
    render: Callable[[], bytes]
    _content: bytes | None = field(default=None, repr=False)

    def content(self) -> bytes:
        if self._content is None:
            self._content = self.render()
        return self._content

    def graph(self) -> dict:
        data = self.content()
        return {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "@odata.mediaContentType": self.content_type,
            "id": self.id,
            "lastModifiedDateTime": iso(self.modified),
            "name": self.name,
            "contentType": self.content_type,
            "size": len(data) + 312,  # Graph's size includes the MIME part's overhead
            "isInline": False,
            "contentId": None,
            "contentLocation": None,
            "contentBytes": base64.b64encode(data).decode(),
        }


@dataclass
class SimMessage:
    id: str
    received: datetime
    subject: str
    sender_name: str
    sender_address: str
    recipient_name: str
    recipient_address: str
    body_text: str
    is_read: bool
    attachments: list[SimAttachment] = field(default_factory=list)

    def graph(self) -> dict:
        """Every default property of Graph's message resource, plus uniqueBody (which Graph
        returns only when selected; the endpoint drops it otherwise)."""
        digest = hashlib.sha256(self.id.encode()).hexdigest()
        html = f"<html><body><p>{self.body_text}</p></body></html>"
        stamp = iso(self.received)
        sender = _address(self.sender_name, self.sender_address)
        return {
            "@odata.etag": f'W/"CQAAABYAAAD{digest[:24]}"',
            "id": self.id,
            "createdDateTime": stamp,
            "lastModifiedDateTime": stamp,
            "changeKey": f"CQAAABYAAAD{digest[:24]}",
            "categories": [],
            "receivedDateTime": stamp,
            "sentDateTime": stamp,
            "hasAttachments": bool(self.attachments),
            "internetMessageId": f"<{digest[:32]}@{self.sender_address.split('@')[-1]}>",
            "subject": self.subject,
            "bodyPreview": self.body_text[:255],
            "importance": "normal",
            "parentFolderId": "AAMkAGInbox" + digest[32:48],
            "conversationId": "AAQkAG" + digest[:40],
            "conversationIndex": base64.b64encode(bytes.fromhex(digest[:44])).decode(),
            "isDeliveryReceiptRequested": False,
            "isReadReceiptRequested": False,
            "isRead": self.is_read,
            "isDraft": False,
            "webLink": "https://outlook.office365.com/owa/?ItemID=" + self.id +
                       "&exvsurl=1&viewmodel=ReadMessageItem",
            "inferenceClassification": "focused",
            "body": {"contentType": "html", "content": html},
            "uniqueBody": {"contentType": "html", "content": html},
            "sender": sender,
            "from": sender,
            "toRecipients": [_address(self.recipient_name, self.recipient_address)],
            "ccRecipients": [],
            "bccRecipients": [],
            "replyTo": [],
            "flag": {"flagStatus": "notFlagged"},
        }
