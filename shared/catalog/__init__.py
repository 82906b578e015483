"""The vendor catalog: which SaaS vendors exist, how they bill, how they sign people in.

    from shared.catalog import load_catalog
    catalog = load_catalog()            # the packaged vendors.yaml, validated
    catalog.vendor_for_sender("billing@zoom.us")
"""

from shared.catalog.loader import CATEGORIES, CatalogError, load_catalog, parse_catalog
from shared.catalog.model import Catalog, EntraApp, Platform, Vendor, normalize_name

__all__ = [
    "CATEGORIES",
    "Catalog",
    "CatalogError",
    "EntraApp",
    "Platform",
    "Vendor",
    "load_catalog",
    "normalize_name",
    "parse_catalog",
]
