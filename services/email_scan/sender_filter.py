"""Graph `$filter` strings that let only catalog vendors' mail leave Microsoft.

Why server side: non-vendor mail must never reach us (data minimization), so the mailbox query
itself names the senders. Graph's message `$filter` has `eq` and `startswith()` but no
`endswith` or `contains`, which shapes what we can ask for:

- exact vendor and platform addresses go in as `from/emailAddress/address eq '...'`;
- platform senders whose local part varies per merchant (`receipts+acct_123@stripe.com`) go
  in as `startswith(from/emailAddress/address,'receipts+')`. That prefix also admits such
  addresses on other domains, so every message is re-checked in memory with
  `is_catalog_sender` and the classifier drops platform mail naming no catalog merchant;
- a vendor known only by a sender *domain* cannot be expressed at all. Only its listed
  addresses are queried; `domain_only_vendors` names the vendors that would be missed, so the
  catalog can be given their addresses.

Long OR lists hit Graph's filter complexity limits, so the clauses are split into several
filters (one query each), each under a clause count and a character bound.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.catalog import Catalog, Vendor

_ADDRESS = "from/emailAddress/address"
# Graph rejects URLs beyond a few KB and long filters get "too complex"; 1,500 characters
# leaves room for $select/$top and percent-encoding in the request line.
DEFAULT_MAX_CHARS = 1500


class SenderFilterError(ValueError):
    """The window or the bounds cannot produce a valid filter."""


def odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled, per the OData ABNF."""
    return "'" + value.replace("'", "''") + "'"


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with a `Z`, the form Graph's receivedDateTime filter expects."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SenderFilterError(
            f"time {moment.isoformat()} has no timezone; pass an aware datetime"
        )
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sender_clauses(catalog: Catalog) -> list[str]:
    """One OR-able clause per catalog sender, de-duplicated, in a stable order."""
    addresses: set[str] = set()
    prefixes: set[str] = set()
    for vendor in catalog.vendors:
        addresses.update(vendor.billing_senders)
    for platform in catalog.platforms:
        addresses.update(platform.sender_addresses)
        prefixes.update(platform.sender_prefixes)
    clauses = [f"startswith({_ADDRESS},{odata_string(p)})" for p in sorted(prefixes)]
    clauses += [f"{_ADDRESS} eq {odata_string(a)}" for a in sorted(addresses)]
    return clauses


def sender_filters(
    catalog: Catalog,
    start: datetime,
    end: datetime,
    max_clauses: int = 20,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> list[str]:
    """Filters covering every catalog sender for messages received in [start, end).

    The time condition comes first so the query can also `$orderby=receivedDateTime`
    (Graph requires orderby properties to lead the filter)."""
    if max_clauses < 1:
        raise SenderFilterError("max_clauses must be at least 1")
    window = (
        f"receivedDateTime ge {utc_timestamp(start)} and receivedDateTime lt {utc_timestamp(end)}"
    )
    if start >= end:
        raise SenderFilterError(
            f"empty time window: {start.isoformat()} is not before {end.isoformat()}"
        )
    filters: list[str] = []
    chunk: list[str] = []
    for clause in sender_clauses(catalog):
        too_long = len(_combine(window, [*chunk, clause])) > max_chars
        if chunk and (len(chunk) == max_clauses or too_long):
            filters.append(_combine(window, chunk))
            chunk = []
        if len(_combine(window, [clause])) > max_chars:
            raise SenderFilterError(f"max_chars={max_chars} is too small for clause {clause}")
        chunk.append(clause)
    if chunk:
        filters.append(_combine(window, chunk))
    return filters


def _combine(window: str, clauses: list[str]) -> str:
    return f"{window} and ({' or '.join(clauses)})"


def is_catalog_sender(catalog: Catalog, address: str) -> bool:
    """The in-memory re-check after the server-side filter: a vendor's address or domain, or a
    platform's. A `receipts+...` prefix on any other domain is not ours and is dropped."""
    if not isinstance(address, str):
        return False
    if catalog.vendors_for_sender(address):
        return True
    return catalog.platform_for_sender(address) is not None


def domain_only_vendors(catalog: Catalog) -> list[Vendor]:
    """Vendors known by sender domain but with no exact address: the server-side filter cannot
    reach them (no `endswith`), so their mail is missed until the catalog lists addresses."""
    return [v for v in catalog.vendors if v.billing_sender_domains and not v.billing_senders]
