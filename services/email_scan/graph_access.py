"""Graph access per connection: a client whose tokens come from the vault, for the
`mail_metadata` purpose only (email-scan may ask for nothing else).

A mailbox's filter queries go out as one `$batch` (one round trip instead of one per filter;
each part still counts as a Graph request against the mailbox's limits), and any further
pages are followed one by one from their nextLink.

Clients are kept per connection (a bounded, least-recently-used set), so a process scanning
many mailboxes of one tenant asks the vault once per token lifetime rather than once per
mailbox, and the client's per-mailbox concurrency gate spans concurrent scans. One
requests.Session is shared, so connections to Graph are reused."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from urllib.parse import quote, urlencode

import requests

from shared.graph import (
    GraphAuthError,
    GraphBadRequest,
    GraphClient,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    select,
)
from shared.settings import Settings
from shared.vault_client import VaultTokenProvider

PURPOSE = "mail_metadata"
CALLER = "email-scan"
MAX_CONNECTIONS = 256
PAGE_SIZE = 1000  # Graph's largest page of messages
_PART_ERRORS = {400: GraphBadRequest, 401: GraphAuthError, 403: GraphForbidden,
                404: GraphNotFound}


class BatchedMailboxReader:
    """`MailboxReader` over a GraphClient: the first page of every filter in one `$batch`."""

    def __init__(self, client: GraphClient, page_size: int = PAGE_SIZE,
                 tokens: VaultTokenProvider | None = None):
        self.client = client
        self.page_size = page_size
        self._tokens = tokens

    def messages_matching(self, user_id: str, filters: Sequence[str],
                          fields: Sequence[str]) -> Iterator[dict]:
        try:
            yield from self._messages(user_id, filters, fields)
        except GraphAuthError:
            # Graph refused the token even after the client's one retry: drop the vault's
            # cached token so the redelivered scan asks the vault afresh (which then knows
            # whether the grant itself is gone).
            if self._tokens is not None:
                self._tokens.invalidate()
            raise

    def _messages(self, user_id: str, filters: Sequence[str],
                  fields: Sequence[str]) -> Iterator[dict]:
        path = f"/users/{quote(user_id, safe='')}/messages"
        parts = [{"id": str(number), "method": "GET",
                  "url": path + "?" + urlencode({"$select": select("message", fields),
                                                 "$filter": graph_filter,
                                                 "$top": str(self.page_size)}, quote_via=quote)}
                 for number, graph_filter in enumerate(filters)]
        answers = self.client.batch(parts) if parts else {}
        for part in parts:
            body = _part_body(answers.get(part["id"]), path)
            yield from body.get("value", [])
            next_link = body.get("@odata.nextLink")
            if next_link:
                for page in self.client.iter_pages(next_link, mailboxes=[user_id]):
                    yield from page


def _part_body(answer: dict | None, path: str) -> dict:
    """A part's page, or the typed error Graph's status means (the batch itself was 200)."""
    if answer is None:
        raise GraphError("batch answer lacks a part", path="/$batch")
    status, body = answer.get("status"), answer.get("body")
    if status == 200 and isinstance(body, dict):
        return body
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code = error.get("code") if isinstance(error, dict) else None
    kind = _PART_ERRORS.get(status, GraphError)
    raise kind(f"batch part answered {status}", status=status, code=code, path=path)


class ConnectionClients:
    """Callable: connection id -> a mailbox reader on that connection's GraphClient."""

    def __init__(self, vault_url: str | None, graph_url: str,
                 session: requests.Session | None = None, capacity: int = MAX_CONNECTIONS):
        if not vault_url:
            raise ValueError("COAX_VAULT_URL is required: email-scan gets Graph tokens from "
                             "the token-vault")
        self._vault_url = vault_url
        self._graph_url = graph_url
        self._session = session or requests.Session()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._readers: OrderedDict[str, BatchedMailboxReader] = OrderedDict()

    def __call__(self, connection_id: str) -> BatchedMailboxReader:
        with self._lock:
            reader = self._readers.get(connection_id)
            if reader is None:
                tokens = VaultTokenProvider(self._vault_url, connection_id, PURPOSE,
                                            caller=CALLER, session=self._session)
                client = GraphClient(tokens, self._graph_url, session=self._session)
                reader = BatchedMailboxReader(client, tokens=tokens)
                self._readers[connection_id] = reader
                if len(self._readers) > self._capacity:
                    self._readers.popitem(last=False)
            self._readers.move_to_end(connection_id)
            return reader


def mailbox_opener(settings: Settings, session: requests.Session | None = None
                   ) -> ConnectionClients:
    return ConnectionClients(settings.vault_url, settings.graph_base_url, session)
