"""email-scan entry points: decode the request, call a handler, answer a status."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping

from flask import Flask

from services.email_scan import handlers
from services.email_scan.classify import Classifier
from services.email_scan.graph_access import mailbox_opener
from services.email_scan.scan import MailboxReader
from shared.catalog import load_catalog
from shared.messaging.contracts import MailboxScanRequested
from shared.runtime import bootstrap
from shared.web import outbox_relay_route, push_route, service_app

# The time window plus the longest single sender clause need about this much.
MIN_FILTER_CHARS = 400


def create_app(env: Mapping[str, str] | None = None, *,
               open_mailbox: Callable[[str], MailboxReader] | None = None,
               http_session=None, **overrides) -> Flask:
    """`open_mailbox` replaces the vault-backed Graph access (tests point it elsewhere)."""
    runtime = bootstrap("email-scan", env, **overrides)
    catalog = load_catalog()
    deps = handlers.ScanDependencies(
        catalog=catalog,
        classifier=Classifier(catalog),
        open_mailbox=open_mailbox or mailbox_opener(runtime.settings, http_session),
        limits=filter_limits(os.environ if env is None else env),
    )
    app = service_app(runtime)
    push_route(app, runtime, "/push/mailbox-scan-requested",
               {MailboxScanRequested: functools.partial(handlers.scan_requested_mailbox,
                                                        deps=deps)})
    outbox_relay_route(app, runtime)
    return app


def filter_limits(env: Mapping[str, str]) -> handlers.FilterLimits:
    """Graph's filter bounds, overridable where Exchange proves stricter than we assume."""
    defaults = handlers.FilterLimits()
    try:
        limits = handlers.FilterLimits(
            max_clauses=int(env.get("COAX_EMAIL_FILTER_MAX_CLAUSES", defaults.max_clauses)),
            max_chars=int(env.get("COAX_EMAIL_FILTER_MAX_CHARS", defaults.max_chars)),
        )
    except ValueError:
        raise ValueError("COAX_EMAIL_FILTER_MAX_CLAUSES and COAX_EMAIL_FILTER_MAX_CHARS must "
                         "be integers") from None
    # Checked at start-up: a bound no filter fits would fail every scan later instead.
    if limits.max_clauses < 1 or limits.max_chars < MIN_FILTER_CHARS:
        raise ValueError(f"COAX_EMAIL_FILTER_MAX_CLAUSES must be >= 1 and "
                         f"COAX_EMAIL_FILTER_MAX_CHARS >= {MIN_FILTER_CHARS}")
    return limits
