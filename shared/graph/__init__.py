"""Microsoft Graph client: paging, delta rounds, $batch, throttling-aware retries, per-mailbox
concurrency, and `$select` from field allowlists (email bodies can never be requested).

    from shared.graph import GraphClient
    client = GraphClient(token_provider)            # token_provider() -> access token
    for user in client.list_users():
        ...
"""

from shared.graph.client import GRAPH_V1, DeltaRound, GraphClient, graph_time
from shared.graph.errors import (
    AttachmentTooLarge,
    ForbiddenField,
    GraphAuthError,
    GraphBadRequest,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
)
from shared.graph.fields import select
from shared.graph.retry import Backoff, GraphCounters, parse_retry_after

__all__ = [
    "GRAPH_V1",
    "AttachmentTooLarge",
    "Backoff",
    "DeltaRound",
    "ForbiddenField",
    "GraphAuthError",
    "GraphBadRequest",
    "GraphClient",
    "GraphCounters",
    "GraphError",
    "GraphForbidden",
    "GraphNotFound",
    "GraphThrottled",
    "GraphUnavailable",
    "graph_time",
    "parse_retry_after",
    "select",
]
