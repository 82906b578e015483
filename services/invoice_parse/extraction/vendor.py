"""Which catalog vendor an invoice is from, confirmed by its own text.

The sender (hint) usually names the vendor already; platform senders (Stripe, Paddle) do
not, so the document's mention of a vendor's name or domain decides. Domains count more
than names because names like "Box" or "Zoom" also occur as ordinary words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Protocol

# Words, with the joiners that keep "monday.com" or "O'Reilly" in one piece.
_WORD = re.compile(r"[^\W_]+(?:['’&.\-][^\W_]+)*")
_DOMAIN_WEIGHT = 3
_NAME_WEIGHT = 1


class CatalogVendor(Protocol):
    id: str
    name: str
    domain: str
    merchant_names: tuple[str, ...]


class VendorMatcher:
    """Vendor names and domains indexed once per catalog, so matching a document is one
    pass over its words with dictionary look-ups, whatever the catalog's size."""

    def __init__(self, vendors: Iterable[CatalogVendor]) -> None:
        self._by_domain: dict[str, str] = {}
        self._by_name: dict[str, str] = {}
        for vendor in vendors:
            if vendor.domain:
                self._by_domain.setdefault(vendor.domain.lower(), vendor.id)
            for name in {vendor.name, *vendor.merchant_names}:
                key = " ".join(_WORD.findall(name))
                if len(key) >= 3:
                    self._by_name.setdefault(key, vendor.id)
        self._longest_name = max((k.count(" ") + 1 for k in self._by_name), default=0)
        self._first_words = {key.split(" ", 1)[0] for key in self._by_name}

    def match(self, text: str, vendor_hint: str | None = None) -> str | None:
        """Catalog id of the vendor the text names best; the hint when it names none."""
        scores: Counter = Counter()
        first_seen: dict[str, int] = {}
        for vendor_id, position, weight in self._mentions(text):
            scores[vendor_id] += weight
            first_seen.setdefault(vendor_id, position)
        if vendor_hint and vendor_hint in scores:
            return vendor_hint
        if scores:
            return max(scores, key=lambda v: (scores[v], -first_seen[v]))
        return vendor_hint

    def _mentions(self, text: str):
        words = [(m.group(), m.start()) for m in _WORD.finditer(text)]
        for index, (word, position) in enumerate(words):
            if "." in word:
                domain = word.lower()
                for parent in _domain_and_parents(domain):
                    if parent in self._by_domain:
                        yield self._by_domain[parent], position, _DOMAIN_WEIGHT
                        break
            if word not in self._first_words:
                continue
            for length in range(1, self._longest_name + 1):
                key = " ".join(w for w, _ in words[index : index + length])
                if key in self._by_name:
                    yield self._by_name[key], position, _NAME_WEIGHT


def _domain_and_parents(domain: str) -> list[str]:
    parts = domain.split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 1)]


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
