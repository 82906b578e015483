"""The batched reader's handling of Graph answers (Graph itself is stubbed: the outer edge)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from services.email_scan.graph_access import BatchedMailboxReader
from services.email_scan.scan import MESSAGE_FIELDS
from shared.graph import GraphAuthError, GraphBadRequest, GraphForbidden, GraphNotFound

BOX = "6a1c3c1e-2b1d-4a51-8a9e-0c7b2f6d9e01"


class StubGraph:
    def __init__(self, answers=None, raises=None, pages=()):
        self.answers, self.raises, self.pages = answers or {}, raises, list(pages)
        self.batches, self.followed = [], []

    def batch(self, parts):
        self.batches.append(parts)
        if self.raises:
            raise self.raises
        return self.answers

    def iter_pages(self, url, mailboxes=()):
        self.followed.append((url, tuple(mailboxes)))
        yield from self.pages


class StubTokens:
    invalidated = 0

    def invalidate(self):
        self.invalidated += 1


def page(*ids, next_link=None):
    body = {"value": [{"id": i} for i in ids]}
    if next_link:
        body["@odata.nextLink"] = next_link
    return {"status": 200, "headers": {}, "body": body}


def test_one_batch_part_per_filter_selecting_metadata_only_then_next_pages():
    graph = StubGraph({"0": page("a", next_link="https://graph/next"), "1": page("b")},
                      pages=[[{"id": "c"}]])
    got = [m["id"] for m in BatchedMailboxReader(graph).messages_matching(
        BOX, ["f0", "f1"], MESSAGE_FIELDS)]
    assert got == ["a", "c", "b"]
    (parts,) = graph.batches
    assert [p["id"] for p in parts] == ["0", "1"]
    for part, graph_filter in zip(parts, ["f0", "f1"], strict=True):
        url = urlsplit(part["url"])
        assert url.path == f"/users/{BOX}/messages"
        assert parse_qs(url.query) == {
            "$select": ["id,subject,from,receivedDateTime,hasAttachments"],
            "$filter": [graph_filter], "$top": ["1000"]}
    assert graph.followed == [("https://graph/next", (BOX,))]


@pytest.mark.parametrize("status,error", [(404, GraphNotFound), (403, GraphForbidden),
                                          (400, GraphBadRequest)])
def test_a_failed_part_is_a_typed_error(status, error):
    failed = {"status": status, "body": {"error": {"code": "ErrorX", "message": "no"}}}
    graph = StubGraph({"0": failed})
    with pytest.raises(error) as raised:
        list(BatchedMailboxReader(graph).messages_matching(BOX, ["f0"], MESSAGE_FIELDS))
    assert raised.value.code == "ErrorX"


def test_a_refused_token_is_dropped_so_the_retry_asks_the_vault_again():
    tokens = StubTokens()
    graph = StubGraph(raises=GraphAuthError("401 again", status=401))
    with pytest.raises(GraphAuthError):
        list(BatchedMailboxReader(graph, tokens=tokens).messages_matching(BOX, ["f0"],
                                                                          MESSAGE_FIELDS))
    assert tokens.invalidated == 1


def test_no_filters_means_no_request():
    graph = StubGraph()
    assert list(BatchedMailboxReader(graph).messages_matching(BOX, [], MESSAGE_FIELDS)) == []
    assert graph.batches == []
