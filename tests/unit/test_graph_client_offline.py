"""Client behaviour decided before anything is sent: link origins, argument checks."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared.graph import GraphClient, GraphError, graph_time
from shared.graph.transport import redact_path


class _RefusingSession:
    def request(self, *args, **kwargs):
        raise AssertionError("a request was sent")


def _client(tokens: list) -> GraphClient:
    return GraphClient(lambda: tokens.append(1) or "token", "https://graph.example/v1.0",
                       session=_RefusingSession())


def test_links_to_another_origin_never_get_the_token():
    tokens: list = []
    with pytest.raises(GraphError, match="another origin"):
        list(_client(tokens).iter_pages("https://attacker.example/v1.0/users?$skiptoken=x"))
    with pytest.raises(GraphError):
        _client(tokens).users_delta(delta_link="http://graph.example/v1.0/users/delta")
    assert tokens == []


@pytest.mark.parametrize("top", [0, 1001])
def test_page_sizes_outside_graph_limits_are_refused(top):
    tokens: list = []
    client = _client(tokens)
    with pytest.raises(ValueError):
        list(client.messages("u", "receivedDateTime ge 2026-01-01T00:00:00Z", top=top))
    with pytest.raises(ValueError):
        list(client.sign_ins(datetime(2026, 1, 1), datetime(2026, 1, 2), top=top))
    assert tokens == []


def test_graph_time_needs_an_aware_datetime():
    with pytest.raises(ValueError):
        graph_time(datetime(2026, 1, 1))


def test_batch_ids_must_be_unique():
    with pytest.raises(ValueError):
        _client([]).batch([{"id": "1", "url": "/users"}, {"id": "1", "url": "/users"}])


def test_error_paths_name_no_mailbox_or_message():
    assert redact_path("/v1.0/users/anna.berg@contoso.example/messages/AAMk1/attachments/AAMk2"
                       "/$value") == "/v1.0/users/{id}/messages/{id}/attachments/{id}/$value"
    assert redact_path("/v1.0/users/delta") == "/v1.0/users/delta"
