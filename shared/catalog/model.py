"""The vendor catalog's data model and its lookups (pure, no I/O).

The catalog answers four questions the services ask over and over: which vendor sent this
address, which billing platform sent it, which vendor a platform subject names, and which
vendor an Entra sign-in belongs to. Lookups use dictionaries built once per catalog.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Legal-form words dropped from merchant names, so "Figma, Inc." and "Figma Inc" and "Figma"
# all find the same vendor: platform subjects use whichever form the merchant registered.
_LEGAL_SUFFIXES = frozenset(
    "inc incorporated llc ltd limited gmbh ag bv nv sa sas sarl ab as aps oy oü ou plc pbc pte "
    "co corp corporation company srl spa pty se kk".split()
)


def normalize_name(name: str) -> str:
    """Case-, accent- and punctuation-insensitive key for a merchant or app display name."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    words = re.findall(r"[^\W_]+", "".join(c for c in folded if not unicodedata.combining(c)))
    while len(words) > 1 and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    return "".join(words)


def split_address(address: str) -> tuple[str, str]:
    """Lower-cased (local part, domain) of an address; ("", "") when it is not one."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or not local or not domain:
        return "", ""
    return local, domain


def domain_and_parents(domain: str) -> list[str]:
    """"a.b.c.com" -> ["a.b.c.com", "b.c.com", "c.com", "com"]: a sender domain also covers
    its subdomains (e.g. "billing.vendor.com" under "vendor.com")."""
    parts = domain.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


@dataclass(frozen=True)
class EntraApp:
    app_id: str | None
    display_name: str


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    category: str
    domain: str
    billing_senders: tuple[str, ...]
    billing_sender_domains: tuple[str, ...]
    platform: str | None
    merchant_names: tuple[str, ...]
    entra_apps: tuple[EntraApp, ...]
    subject_patterns: tuple[str, ...]


@dataclass(frozen=True)
class Platform:
    id: str
    sender_prefixes: tuple[str, ...]
    sender_domains: tuple[str, ...]
    sender_addresses: tuple[str, ...]

    def sends_from(self, address: str) -> bool:
        """An exact platform address, or any address on a platform domain (which covers the
        per-merchant prefixes such as receipts+acct_123@stripe.com)."""
        local, domain = split_address(address)
        if not domain:
            return False
        if f"{local}@{domain}" in self.sender_addresses:
            return True
        return any(d in self.sender_domains for d in domain_and_parents(domain))


@dataclass(frozen=True)
class Catalog:
    vendors: tuple[Vendor, ...]
    platforms: tuple[Platform, ...]
    _by_id: dict[str, Vendor] = field(init=False, repr=False, compare=False)
    _by_address: dict[str, tuple[Vendor, ...]] = field(init=False, repr=False, compare=False)
    _by_domain: dict[str, tuple[Vendor, ...]] = field(init=False, repr=False, compare=False)
    _by_merchant: dict[str, Vendor] = field(init=False, repr=False, compare=False)
    _by_app_id: dict[str, Vendor] = field(init=False, repr=False, compare=False)
    _by_app_name: dict[str, Vendor] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_address: dict[str, list[Vendor]] = {}
        by_domain: dict[str, list[Vendor]] = {}
        for vendor in self.vendors:
            for address in vendor.billing_senders:
                by_address.setdefault(address, []).append(vendor)
            for domain in vendor.billing_sender_domains:
                by_domain.setdefault(domain, []).append(vendor)
        indexes = {
            "_by_id": {v.id: v for v in self.vendors},
            "_by_address": {k: tuple(v) for k, v in by_address.items()},
            "_by_domain": {k: tuple(v) for k, v in by_domain.items()},
            "_by_merchant": {
                normalize_name(m): v for v in self.vendors for m in v.merchant_names
            },
            "_by_app_id": {
                a.app_id.lower(): v for v in self.vendors for a in v.entra_apps if a.app_id
            },
            "_by_app_name": {
                normalize_name(a.display_name): v for v in self.vendors for a in v.entra_apps
            },
        }
        for name, index in indexes.items():
            object.__setattr__(self, name, index)

    def vendor(self, vendor_id: str) -> Vendor:
        """The vendor with this id; KeyError if the catalog has none."""
        return self._by_id[vendor_id]

    def vendors_for_sender(self, address: str) -> tuple[Vendor, ...]:
        """Every vendor claiming this address, exactly or by (parent) domain. More than one
        only for platform-billed vendors sharing a sender: the subject decides between them."""
        local, domain = split_address(address)
        if not domain:
            return ()
        exact = self._by_address.get(f"{local}@{domain}")
        if exact:
            return exact
        for candidate in domain_and_parents(domain):
            if candidate in self._by_domain:
                return self._by_domain[candidate]
        return ()

    def vendor_for_sender(self, address: str) -> Vendor | None:
        """The one vendor this address belongs to (platform senders excluded); None when no
        vendor claims it or when several platform-billed vendors share it."""
        vendors = self.vendors_for_sender(address)
        return vendors[0] if len(vendors) == 1 else None

    def platform_for_sender(self, address: str) -> Platform | None:
        return next((p for p in self.platforms if p.sends_from(address)), None)

    def vendor_for_merchant(self, merchant: str) -> Vendor | None:
        return self._by_merchant.get(normalize_name(merchant))

    def vendor_for_app(self, app_id: str | None, display_name: str | None) -> Vendor | None:
        """By application id first (stable), then by display name (case/punctuation-insensitive)."""
        if app_id and app_id.lower() in self._by_app_id:
            return self._by_app_id[app_id.lower()]
        if display_name:
            return self._by_app_name.get(normalize_name(display_name))
        return None
