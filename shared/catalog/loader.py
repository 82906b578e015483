"""Read vendors.yaml into a Catalog, refusing anything ambiguous or malformed.

Every problem is reported as a CatalogError naming the vendor and field, because the catalog
is edited by hand and a silent mistake (a typo in a sender, two vendors claiming one address)
would misattribute spend.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shared.catalog.model import (
    Catalog,
    EntraApp,
    Platform,
    Vendor,
    domain_and_parents,
    normalize_name,
    split_address,
)

DEFAULT_PATH = Path(__file__).with_name("vendors.yaml")

CATEGORIES = frozenset(
    {
        "ai", "analytics", "cloud", "collaboration", "communication", "crm", "data", "design",
        "devtools", "ecommerce", "finance", "hr", "marketing", "observability", "productivity",
        "project-management", "security", "storage", "support", "video", "it",
    }
)

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")
_LOCAL_PART = re.compile(r"^[a-z0-9._%+'\-]+$")  # apostrophes are legal: o'brien@
_VENDOR_KEYS = {
    "id", "name", "category", "domain", "billing_senders", "billing_sender_domains",
    "platform", "merchant_names", "entra_apps", "subject_patterns",
}
_PLATFORM_KEYS = {"id", "sender_prefixes", "sender_domains", "sender_addresses"}


class CatalogError(ValueError):
    """The catalog file is missing, unreadable or inconsistent."""


def load_catalog(path: Path | None = None) -> Catalog:
    """Load and validate the catalog (the packaged vendors.yaml unless a path is given)."""
    source = Path(path) if path is not None else DEFAULT_PATH
    try:
        # The C loader when available: the catalog is read at every service start-up.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(source.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {source}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog {source} is not valid YAML: {exc}") from exc
    return parse_catalog(document)


def parse_catalog(document: Any) -> Catalog:
    """Validate an already-parsed catalog document (a mapping with platforms and vendors)."""
    if not isinstance(document, dict) or set(document) != {"platforms", "vendors"}:
        raise CatalogError("catalog must be a mapping with exactly 'platforms' and 'vendors'")
    platforms = tuple(_parse_platform(raw) for raw in _as_list(document["platforms"], "platforms"))
    vendors = tuple(_parse_vendor(raw) for raw in _as_list(document["vendors"], "vendors"))
    _check_platforms(platforms)
    _check_vendors(vendors, platforms)
    return Catalog(vendors=vendors, platforms=platforms)


def _as_list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise CatalogError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _strings(raw: dict, key: str, where: str) -> tuple[str, ...]:
    values = raw.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise CatalogError(f"{where}: '{key}' must be a list of non-empty strings")
    if len(set(values)) != len(values):
        raise CatalogError(f"{where}: '{key}' lists the same value twice")
    return tuple(values)


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: '{key}' is required and must be a non-empty string")
    return value.strip()


def _check_keys(raw: Any, allowed: set[str], where: str) -> None:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping")
    unknown = set(raw) - allowed
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {sorted(unknown)}")


def _check_address(address: str, where: str) -> str:
    local, domain = split_address(address)
    if address != address.strip().lower() or not _LOCAL_PART.match(local or "!"):
        raise CatalogError(f"{where}: sender {address!r} must be a lower-case email address")
    _check_domain(domain, where)
    return address


def _check_domain(domain: str, where: str) -> str:
    if not _DOMAIN.match(domain):
        raise CatalogError(f"{where}: {domain!r} is not a lower-case domain name")
    return domain


def _parse_platform(raw: Any) -> Platform:
    where = f"platform {raw.get('id', '?') if isinstance(raw, dict) else '?'}"
    _check_keys(raw, _PLATFORM_KEYS, where)
    platform_id = _text(raw, "id", where)
    prefixes = _strings(raw, "sender_prefixes", where)
    for prefix in prefixes:
        if prefix != prefix.lower() or not _LOCAL_PART.match(prefix):
            raise CatalogError(f"{where}: sender prefix {prefix!r} must be a lower-case local part")
    return Platform(
        id=platform_id,
        sender_prefixes=prefixes,
        sender_domains=tuple(
            _check_domain(d, where) for d in _strings(raw, "sender_domains", where)
        ),
        sender_addresses=tuple(
            _check_address(a, where) for a in _strings(raw, "sender_addresses", where)
        ),
    )


def _parse_entra_apps(raw: dict, name: str, where: str) -> tuple[EntraApp, ...]:
    # Omitted means "the gallery app is named like the vendor", the common case.
    if "entra_apps" not in raw:
        return (EntraApp(app_id=None, display_name=name),)
    apps = []
    for item in _as_list(raw["entra_apps"], f"{where}: entra_apps"):
        if isinstance(item, str) and item.strip():
            apps.append(EntraApp(app_id=None, display_name=item.strip()))
        elif isinstance(item, dict) and set(item) <= {"app_id", "display_name"}:
            app_id = item.get("app_id")
            if app_id is not None and not re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}",
                                                       str(app_id)):
                raise CatalogError(f"{where}: app_id {app_id!r} is not a lower-case GUID")
            apps.append(EntraApp(app_id=app_id, display_name=_text(item, "display_name", where)))
        else:
            raise CatalogError(f"{where}: entra_apps items are names or {{app_id, display_name}}")
    return tuple(apps)


def _parse_vendor(raw: Any) -> Vendor:
    where = f"vendor {raw.get('id', '?') if isinstance(raw, dict) else '?'}"
    _check_keys(raw, _VENDOR_KEYS, where)
    vendor_id = _text(raw, "id", where)
    if not _SLUG.match(vendor_id):
        raise CatalogError(f"{where}: id must be a lower-case slug like 'google-workspace'")
    name = _text(raw, "name", where)
    category = _text(raw, "category", where)
    if category not in CATEGORIES:
        raise CatalogError(f"{where}: unknown category {category!r}; known: {sorted(CATEGORIES)}")
    platform = raw.get("platform")
    if platform is not None and not isinstance(platform, str):
        raise CatalogError(f"{where}: 'platform' must be a platform id or absent")
    merchants = _strings(raw, "merchant_names", where)
    if platform and not merchants:
        merchants = (name,)  # platform subjects name the merchant; default to the vendor name
    patterns = _strings(raw, "subject_patterns", where)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            message = f"{where}: subject pattern {pattern!r} does not compile: {exc}"
            raise CatalogError(message) from exc
    return Vendor(
        id=vendor_id,
        name=name,
        category=category,
        domain=_check_domain(_text(raw, "domain", where), where),
        billing_senders=tuple(
            _check_address(a, where) for a in _strings(raw, "billing_senders", where)
        ),
        billing_sender_domains=tuple(
            _check_domain(d, where) for d in _strings(raw, "billing_sender_domains", where)
        ),
        platform=platform,
        merchant_names=merchants,
        entra_apps=_parse_entra_apps(raw, name, where),
        subject_patterns=patterns,
    )


def _check_platforms(platforms: tuple[Platform, ...]) -> None:
    seen: set[str] = set()
    for platform in platforms:
        if platform.id in seen:
            raise CatalogError(f"platform {platform.id}: duplicate platform id")
        seen.add(platform.id)


def _claim(owners: dict[str, str], key: str, owner: str, what: str) -> None:
    if key in owners and owners[key] != owner:
        raise CatalogError(f"{what} {key!r} is claimed by both {owners[key]} and {owner}")
    owners[key] = owner


def _check_vendors(vendors: tuple[Vendor, ...], platforms: tuple[Platform, ...]) -> None:
    platform_ids = {p.id for p in platforms}
    ids: dict[str, str] = {}
    names: dict[str, str] = {}
    merchants: dict[str, str] = {}
    apps: dict[str, str] = {}
    for vendor in vendors:
        where = f"vendor {vendor.id}"
        if vendor.id in ids:
            raise CatalogError(f"vendor id {vendor.id!r} appears twice")
        ids[vendor.id] = where
        _claim(names, normalize_name(vendor.name), where, "vendor name")
        if vendor.platform is not None and vendor.platform not in platform_ids:
            raise CatalogError(
                f"{where}: unknown platform {vendor.platform!r}; known: {sorted(platform_ids)}"
            )
        for merchant in vendor.merchant_names:
            _claim(merchants, normalize_name(merchant), where, "merchant name")
        for app in vendor.entra_apps:
            _claim(apps, normalize_name(app.display_name), where, "Entra app display name")
            if app.app_id:
                _claim(apps, app.app_id, where, "Entra app id")
        for address in vendor.billing_senders:
            platform = next((p.id for p in platforms if p.sends_from(address)), None)
            if platform:
                raise CatalogError(
                    f"{where}: sender {address!r} belongs to platform {platform}; "
                    f"set platform: {platform} and merchant_names instead"
                )
    _check_sender_claims(vendors)


def _check_sender_claims(vendors: tuple[Vendor, ...]) -> None:
    """No address or domain may point at two vendors, unless all of them are platform-billed
    (a shared custom Stripe domain, say): then the subject's merchant decides."""
    domain_owners: dict[str, list[Vendor]] = {}
    address_owners: dict[str, list[Vendor]] = {}
    for vendor in vendors:
        for domain in vendor.billing_sender_domains:
            domain_owners.setdefault(domain, []).append(vendor)
        for address in vendor.billing_senders:
            address_owners.setdefault(address, []).append(vendor)
    for address, owners in address_owners.items():
        _, domain = split_address(address)
        claimants = list(owners)
        for parent in domain_and_parents(domain):
            claimants += domain_owners.get(parent, [])
        _refuse_shared(address, "sender address", claimants)
    for domain, owners in domain_owners.items():
        claimants = list(owners)
        for parent in domain_and_parents(domain)[1:]:
            claimants += domain_owners.get(parent, [])
        _refuse_shared(domain, "sender domain", claimants)


def _refuse_shared(key: str, what: str, claimants: list[Vendor]) -> None:
    distinct = {v.id: v for v in claimants}
    if len(distinct) < 2:
        return
    if all(v.platform for v in distinct.values()):
        return
    raise CatalogError(
        f"{what} {key!r} is claimed by several vendors ({', '.join(sorted(distinct))}); "
        "only platform-billed vendors may share a sender"
    )
