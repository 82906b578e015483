"""Which catalog vendor an invoice is from, confirmed by its own text.

The sender (hint) usually names the vendor already; platform senders (Stripe, Paddle) do
not, so the document's mention of a vendor's name or domain decides. Domains count more
than names because names like "Box" or "Zoom" also occur as ordinary words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol


class CatalogVendor(Protocol):
    id: str
    name: str
    domain: str
    merchant_names: tuple[str, ...]


def load_default_catalog():
    """The packaged vendor catalog, or None where it is not available (e.g. a bare CLI)."""
    try:
        from shared.catalog import load_catalog
    except ImportError:
        return None
    try:
        return load_catalog()
    except Exception:  # noqa: BLE001 - a missing or broken catalog only costs the vendor field
        return None


def match_vendor(
    text: str, vendors: Iterable[CatalogVendor], vendor_hint: str | None = None
) -> str | None:
    """Catalog id of the vendor the text names best; the hint when the text names none."""
    scores: dict[str, tuple[int, int]] = {}
    for vendor in vendors:
        score, first = _mentions(text, vendor)
        if score:
            scores[vendor.id] = (score, -first)
    if vendor_hint and vendor_hint in scores:
        return vendor_hint
    if scores:
        return max(scores, key=scores.__getitem__)
    return vendor_hint


def _mentions(text: str, vendor: CatalogVendor) -> tuple[int, int]:
    score, first = 0, len(text)
    needles = [(vendor.domain, 3, re.IGNORECASE)] if vendor.domain else []
    needles += [(name, 1, 0) for name in {vendor.name, *vendor.merchant_names} if len(name) >= 3]
    for needle, weight, flags in needles:
        for match in re.finditer(rf"(?<![\w.]){re.escape(needle)}(?![\w])", text, flags):
            score += weight
            first = min(first, match.start())
    return score, first
