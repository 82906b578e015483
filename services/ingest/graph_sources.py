"""Graph pages for the sync steps, one page at a time with the links that follow it.

The shared client's `users_delta()` and `sign_ins()` hand back whole rounds or bare records;
a resumable sync needs each page with its nextLink/deltaLink to store beside the data, so
these walkers use the client's request layer (`get_json`: retries, Retry-After, typed
errors) and follow links verbatim.
"""

from __future__ import annotations

from collections.abc import Iterator

from services.ingest.progress import Page
from services.ingest.records import DIRECTORY_FIELDS
from services.ingest.windows import Window
from shared.graph import GraphClient, graph_time, select

# Graph may send smaller delta pages than asked; asking for the largest saves requests.
PREFER_LARGE_PAGES = {"Prefer": "odata.maxpagesize=999"}
SIGN_IN_PAGE = 1000


def delta_pages(client: GraphClient, resume_link: str | None) -> Iterator[Page]:
    """A delta round from a stored nextLink/deltaLink, or a first round from scratch."""
    if resume_link:
        body = client.get_json(resume_link, headers=PREFER_LARGE_PAGES)
    else:
        body = client.get_json("users/delta", {"$select": select("user", DIRECTORY_FIELDS)},
                               headers=PREFER_LARGE_PAGES)
    yield from _pages(client, body, PREFER_LARGE_PAGES)


def sign_in_pages(client: GraphClient, window: Window, resume_link: str | None,
                  page_size: int = SIGN_IN_PAGE) -> Iterator[Page]:
    """Sign-ins with window.start <= createdDateTime < window.end (Graph: newest first)."""
    if resume_link:
        body = client.get_json(resume_link)
    else:
        body = client.get_json("auditLogs/signIns", {
            "$filter": f"createdDateTime ge {graph_time(window.start)} and "
                       f"createdDateTime lt {graph_time(window.end)}",
            "$top": str(page_size)})
    yield from _pages(client, body, None)


def _pages(client: GraphClient, body: dict, headers: dict | None) -> Iterator[Page]:
    while True:
        page = Page(list(body.get("value") or []), body.get("@odata.nextLink"),
                    body.get("@odata.deltaLink"))
        yield page
        if not page.next_link:
            return
        body = client.get_json(page.next_link, headers=headers)
