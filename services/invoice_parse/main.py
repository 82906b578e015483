"""invoice-parse entry points: decode the request, call a handler, answer a status."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import Flask

from services.invoice_parse import handlers
from services.invoice_parse.attachments import attachments_through_vault
from services.invoice_parse.documents import AttachmentReader
from services.invoice_parse.extraction import PdfTextWorker
from shared.catalog import load_catalog
from shared.messaging.contracts import BillingEmailDetected
from shared.runtime import bootstrap
from shared.web import outbox_relay_route, push_route, service_app


def create_app(env=None, *, open_attachments: Callable[[str], AttachmentReader] | None = None,
               http_session=None, **overrides) -> Flask:
    """`open_attachments` replaces the vault-backed Graph access; `http_session` is the
    session Graph is called with (tests pass one that trusts the simulator)."""
    runtime = bootstrap("invoice-parse", env, **overrides)
    deps = handlers.InvoiceDependencies(
        open_attachments=open_attachments or attachments_through_vault(runtime.settings,
                                                                       http_session),
        vendor_names={v.id: (v.name, *v.merchant_names) for v in load_catalog().vendors},
        pdf_worker=PdfTextWorker())
    app = service_app(runtime)
    push_route(app, runtime, "/push/billing-email-detected",
               {BillingEmailDetected: partial(handlers.record_invoice, deps=deps)})
    outbox_relay_route(app, runtime)
    return app
