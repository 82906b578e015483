"""Graph access per connection: a client whose tokens come from the vault, for the
`mail_metadata` purpose only (email-scan may ask for nothing else).

Clients are kept per connection (a bounded, least-recently-used set), so a process scanning
many mailboxes of one tenant asks the vault once per token lifetime rather than once per
mailbox, and the client's per-mailbox concurrency gate spans concurrent scans. One
requests.Session is shared, so connections to Graph are reused."""

from __future__ import annotations

import threading
from collections import OrderedDict

import requests

from shared.graph import GraphClient
from shared.settings import Settings
from shared.vault_client import VaultTokenProvider

PURPOSE = "mail_metadata"
CALLER = "email-scan"
MAX_CONNECTIONS = 256


class ConnectionClients:
    """Callable: connection id -> the GraphClient for that connection's mailboxes."""

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
        self._clients: OrderedDict[str, GraphClient] = OrderedDict()

    def __call__(self, connection_id: str) -> GraphClient:
        with self._lock:
            client = self._clients.get(connection_id)
            if client is None:
                tokens = VaultTokenProvider(self._vault_url, connection_id, PURPOSE,
                                            caller=CALLER, session=self._session)
                client = GraphClient(tokens, self._graph_url, session=self._session)
                self._clients[connection_id] = client
                if len(self._clients) > self._capacity:
                    self._clients.popitem(last=False)
            self._clients.move_to_end(connection_id)
            return client


def mailbox_opener(settings: Settings, session: requests.Session | None = None
                   ) -> ConnectionClients:
    return ConnectionClients(settings.vault_url, settings.graph_base_url, session)
