"""Directory step: one delta round, page by page, from where the last one stopped.

The first round (no deltaLink yet) lists every user; later rounds start from the stored
deltaLink and bring only joiners, changes and removals. Each page is applied together with
the link that follows it, so a killed sync resumes mid-round; when Graph no longer accepts
a stored link (an expired token answers 400 or 410), the unfinished round starts again from
the last complete one, which re-applies pages harmlessly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from services.ingest import directory_store
from services.ingest.progress import Page, SyncContext
from services.ingest.records import DirectoryRemoval, MalformedRecord, directory_change
from shared.graph.errors import GraphBadRequest, GraphError
from shared.logs import log_fields

log = logging.getLogger(__name__)

# (resume link or None) -> pages of the round
DeltaPages = Callable[[str | None], Iterator[Page]]


@dataclass
class DirectoryResult:
    pages: int = 0
    users: int = 0
    removed: int = 0
    malformed: int = 0
    round_complete: bool = False


def sync_directory(ctx: SyncContext, delta_pages: DeltaPages) -> DirectoryResult:
    with ctx.unit() as uow:
        state = directory_store.load_state(uow, ctx.connection_id)
    resume = state.next_link or state.delta_link
    result = DirectoryResult()
    try:
        _read_round(ctx, delta_pages(resume), result)
    except GraphError as exc:
        if resume is None or not _link_refused(exc):
            raise
        # An unfinished round falls back to the last complete one; an expired deltaLink
        # (Graph keeps delta state for a limited time) to a full round.
        fallback = state.delta_link if state.next_link else None
        log.warning("stored directory link refused; reading the round again",
                    extra=log_fields(connection_id=ctx.connection_id, status=exc.status,
                                     full_round=fallback is None))
        with ctx.unit() as uow:
            directory_store.restart_round(uow, ctx.connection_id, full=fallback is None)
            uow.commit()
        _read_round(ctx, delta_pages(fallback), result)
    return result


def _link_refused(exc: GraphError) -> bool:
    return isinstance(exc, GraphBadRequest) or exc.status in (400, 404, 410)


def _read_round(ctx: SyncContext, pages: Iterator[Page], result: DirectoryResult) -> None:
    for page in pages:
        changes = []
        for item in page.items:
            try:
                changes.append(directory_change(item))
            except MalformedRecord as exc:
                result.malformed += 1
                log.warning("directory item skipped", extra=log_fields(reason=str(exc)))
        with ctx.unit() as uow:
            directory_store.apply_page(uow, ctx.connection_id, changes,
                                       next_link=page.next_link, delta_link=page.delta_link,
                                       now=ctx.now)
            uow.commit()
        result.pages += 1
        result.removed += sum(isinstance(c, DirectoryRemoval) for c in changes)
        result.users += sum(not isinstance(c, DirectoryRemoval) for c in changes)
        if page.delta_link is not None:
            result.round_complete = True
            return
        ctx.check_time()
