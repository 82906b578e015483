"""Sign-in step: bounded windows from the watermark, bulk-loaded, rolled up per window.

Pages are buffered and written in batches of `flush_rows` together with the window's next
link (fewer, larger transactions load faster; a killed sync re-reads at most one batch). When
a window's last page is in, the same transaction rolls the window up and moves the watermark
to its end. A tenant without an Entra ID P1 licence answers 403; that is recorded on the
connection and the step ends without failing the sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from services.ingest import rollups, sign_in_store
from services.ingest.progress import Page, SyncContext
from services.ingest.records import MalformedRecord, SignIn, sign_in
from services.ingest.windows import (
    INITIAL_WINDOW,
    Window,
    next_size,
    next_window,
    resume_start,
)
from shared.catalog import Catalog
from shared.graph.errors import GraphBadRequest, GraphForbidden
from shared.logs import log_fields

log = logging.getLogger(__name__)

# (window, resume link or None) -> pages of that window
SignInPages = Callable[[Window, str | None], Iterator[Page]]
NO_LICENCE_CODE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
FLUSH_ROWS = 5_000


@dataclass
class SignInResult:
    windows: int = 0
    pages: int = 0
    read: int = 0
    stored: int = 0
    malformed: int = 0
    licensed: bool | None = None


def lacks_licence(exc: GraphForbidden) -> bool:
    return exc.code == NO_LICENCE_CODE or "premium license" in str(exc).lower()


def sync_sign_ins(ctx: SyncContext, pages_for: SignInPages, catalog: Catalog,
                  flush_rows: int = FLUSH_ROWS) -> SignInResult:
    result = SignInResult()
    with ctx.unit() as uow:
        watermark = sign_in_store.load_watermark(uow, ctx.connection_id)
        sign_in_store.ensure_partitions(uow, resume_start(watermark.synced_until, ctx.now).date(),
                                        ctx.now.date())
        uow.commit()
    window, link = watermark.window, watermark.next_link
    if window is None:
        window = next_window(resume_start(watermark.synced_until, ctx.now), ctx.now,
                             INITIAL_WINDOW)
    size = INITIAL_WINDOW
    try:
        while window is not None:
            try:
                pages = _load_window(ctx, pages_for, window, link, catalog, flush_rows, result)
            except GraphBadRequest:
                if link is None:
                    raise
                # A stored nextLink Graph no longer takes: read the window from its start
                # (the pages already stored are de-duplicated by id).
                pages = _load_window(ctx, pages_for, window, None, catalog, flush_rows, result)
            result.windows += 1
            size = next_size(size, pages)
            window, link = next_window(window.end, ctx.now, size), None
            if window is not None:
                ctx.check_time()
    except GraphForbidden as exc:
        if not lacks_licence(exc):
            raise
        log.info("tenant has no Entra ID P1 licence: sign-ins skipped",
                 extra=log_fields(connection_id=ctx.connection_id))
        result.licensed = False
    else:
        result.licensed = True
    _record_licence(ctx, result.licensed)
    return result


def _load_window(ctx: SyncContext, pages_for: SignInPages, window: Window, link: str | None,
                 catalog: Catalog, flush_rows: int, result: SignInResult) -> int:
    buffer: list[SignIn] = []
    pages = 0
    for page in pages_for(window, link):
        pages += 1
        result.pages += 1
        result.read += len(page.items)
        buffer.extend(_parse(page.items, result))
        if page.next_link is None:
            break
        if len(buffer) >= flush_rows:
            with ctx.unit() as uow:
                result.stored += sign_in_store.store_sign_ins(uow, ctx.connection_id, buffer)
                sign_in_store.save_window_progress(uow, ctx.connection_id, window,
                                                   page.next_link)
                uow.commit()
            buffer = []
            ctx.check_time()
    with ctx.unit() as uow:
        result.stored += sign_in_store.store_sign_ins(uow, ctx.connection_id, buffer)
        rollups.roll_up_window(uow, window, catalog)
        sign_in_store.complete_window(uow, ctx.connection_id, window)
        uow.commit()
    return pages


def _parse(items: list, result: SignInResult) -> list[SignIn]:
    parsed = []
    for item in items:
        try:
            parsed.append(sign_in(item))
        except MalformedRecord as exc:
            result.malformed += 1
            log.warning("sign-in skipped", extra=log_fields(reason=str(exc)))
    return parsed


def _record_licence(ctx: SyncContext, licensed: bool) -> None:
    with ctx.unit() as uow:
        uow.execute("update connections set has_p1_licence = :licensed, updated_at = now() "
                    "where id = :c and has_p1_licence is distinct from :licensed",
                    {"c": ctx.connection_id, "licensed": licensed})
        uow.commit()
