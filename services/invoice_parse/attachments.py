"""Attachments of one connection's mail: Microsoft Graph, with access tokens from the
vault for the `mail_attachments` purpose only (invoice-parse may ask for nothing else).

Graph's answers are sorted here into what the handler can act on:
- 403 / 401-after-refresh / the vault saying the connection needs consent or refusing
  the purpose: the grant does not cover attachments (any more); the subject's facts are
  still kept, with the reason;
- 404: the message was deleted or moved since email-scan saw it;
- an attachment larger than the cap: refused as `too_large` without reading past it;
- throttling, 5xx, an unreachable vault: raised as they are, so Pub/Sub retries.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import requests

from services.invoice_parse.documents import (
    AttachmentMeta,
    AttachmentReader,
    AttachmentsUnavailable,
)
from services.invoice_parse.extraction import InvoiceRejected
from shared.graph import (
    AttachmentTooLarge,
    GraphAuthError,
    GraphClient,
    GraphForbidden,
    GraphNotFound,
)
from shared.identity.oidc import IdTokenSource
from shared.settings import Settings
from shared.vault_client import ConnectionNeedsConsentError, VaultRefused, VaultTokenProvider

PURPOSE = "mail_attachments"
CALLER = "invoice-parse"
# One message should finish well inside its subscription's ack deadline (120 s): a
# throttled or slow Graph fails the delivery early and Pub/Sub retries it with backoff.
GRAPH_RETRIES = 3
GRAPH_TIMEOUT_S = 20.0
FILE_ATTACHMENT = "#microsoft.graph.fileAttachment"


class GraphAttachments:
    def __init__(self, client: GraphClient):
        self._client = client

    def list_attachments(self, user_id: str, message_id: str) -> list[AttachmentMeta]:
        with _unavailable_as_reason():
            listed = self._client.attachments(user_id, message_id)
        return [_meta(item) for item in listed
                if item.get("@odata.type", FILE_ATTACHMENT) == FILE_ATTACHMENT
                and not item.get("isInline")]

    def download(self, user_id: str, message_id: str, attachment_id: str,
                 max_bytes: int) -> bytes:
        try:
            with _unavailable_as_reason():
                return self._client.attachment_bytes(user_id, message_id, attachment_id,
                                                     max_bytes)
        except AttachmentTooLarge:
            raise InvoiceRejected("too_large", f"more than {max_bytes} bytes") from None


def attachments_through_vault(settings: Settings, session: requests.Session | None = None
                              ) -> Callable[[str], AttachmentReader]:
    """connection id -> attachment access for that connection (one HTTP session shared)."""
    if not settings.vault_url:
        raise ValueError("COAX_VAULT_URL is required: invoice-parse gets Graph tokens from "
                         "the token-vault")
    shared_session = session or requests.Session()
    # In the cloud the vault checks a Google-signed ID token; locally the caller names itself.
    id_tokens = IdTokenSource() if settings.push_auth else None

    def open_attachments(connection_id: str) -> AttachmentReader:
        tokens = VaultTokenProvider(settings.vault_url, connection_id, PURPOSE, caller=CALLER,
                                    id_token_source=id_tokens)
        return GraphAttachments(GraphClient(tokens, settings.graph_base_url,
                                            session=shared_session, max_retries=GRAPH_RETRIES,
                                            timeout_s=GRAPH_TIMEOUT_S))

    return open_attachments


@contextmanager
def _unavailable_as_reason():
    """Graph and vault answers that retrying cannot fix -> AttachmentsUnavailable."""
    try:
        yield
    except GraphNotFound:
        raise AttachmentsUnavailable("message_gone") from None
    except (GraphForbidden, GraphAuthError):
        raise AttachmentsUnavailable("forbidden") from None
    except ConnectionNeedsConsentError:
        raise AttachmentsUnavailable("needs_consent") from None
    except VaultRefused:
        # The vault will not give this service attachment tokens for this connection
        # (a purpose or caller it does not allow): asking again will not change that.
        raise AttachmentsUnavailable("vault_refused") from None


def _meta(item: dict) -> AttachmentMeta:
    size = item.get("size")
    return AttachmentMeta(
        id=str(item.get("id", "")),
        name=str(item.get("name") or ""),
        content_type=str(item.get("contentType") or ""),
        # An attachment without a size is treated as too large to fetch blind.
        size=size if isinstance(size, int) and size >= 0 else 2**62,
    )
