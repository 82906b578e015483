"""Which catalog vendor an app seen in sign-ins belongs to (pure).

The Entra application id is stable and decides first; the display name (compared without
case, accents, punctuation or legal suffixes) is the fallback, because most SaaS apps are
registered per customer or under ids the catalog does not know. An app neither finds stays
discovered but unmapped, for a person to triage; a person's decision ('manual' or
'ignored') is never overwritten by a later sync.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.catalog import Catalog

TRIAGED = ("manual", "ignored")


@dataclass(frozen=True)
class Mapping:
    vendor_id: str | None
    mapping: str            # "app_id" | "name" | "unmapped"


def map_app(catalog: Catalog, app_id: str, display_name: str) -> Mapping:
    by_id = catalog.vendor_for_app(app_id, None)
    if by_id is not None:
        return Mapping(by_id.id, "app_id")
    by_name = catalog.vendor_for_app(None, display_name)
    if by_name is not None:
        return Mapping(by_name.id, "name")
    return Mapping(None, "unmapped")
