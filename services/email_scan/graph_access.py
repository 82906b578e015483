"""Graph access per connection: a client whose tokens come from the vault, for the
`mail_metadata` purpose only (email-scan may ask for nothing else).

One requests.Session is shared by every client of the process, so connections to Graph are
reused across scans; each scan gets its own GraphClient (its own token provider)."""

from __future__ import annotations

from collections.abc import Callable

import requests

from services.email_scan.scan import MailboxReader
from shared.graph import GraphClient
from shared.settings import Settings

PURPOSE = "mail_metadata"
CALLER = "email-scan"


def mailbox_opener(settings: Settings, session: requests.Session | None = None
                   ) -> Callable[[str], MailboxReader]:
    """connection id -> a Graph client for that connection's mailboxes."""
    from shared.vault_client import VaultTokenProvider  # lands with the vault's client

    if not settings.vault_url:
        raise ValueError("COAX_VAULT_URL is required: email-scan gets Graph tokens from the "
                         "token-vault")
    shared_session = session or requests.Session()

    def open_mailbox(connection_id: str) -> MailboxReader:
        tokens = VaultTokenProvider(settings.vault_url, connection_id, PURPOSE, caller=CALLER)
        return GraphClient(tokens, settings.graph_base_url, session=shared_session)

    return open_mailbox
