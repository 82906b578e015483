"""The SaaS inventory read model: every app an organization uses, one row each.

It joins the three signals the pipeline stores (sign-ins -> discovered_apps,
billing mail -> vendor_discoveries and billing_emails, invoices -> spend) per
catalog vendor. Runs as the api's role inside a unit of work scoped to one
organization, so row-level security decides what it can see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.catalog import Catalog
from shared.db import UnitOfWork


@dataclass
class InventoryRow:
    vendor_id: str
    name: str
    category: str
    sources: set[str] = field(default_factory=set)     # "sign-ins", "billing", "sign-up"
    active_users_30d: int | None = None
    last_used_at: datetime | None = None
    last_billed_at: datetime | None = None
    monthly_org_minor: int | None = None                # the latest month's spend
    annual_org_minor: int | None = None
    org_currency: str | None = None
    payment_failed: bool = False


@dataclass
class Inventory:
    rows: list[InventoryRow]
    unmapped_apps: list[tuple[str, int]]                # (sign-in app name, active users 30d)


def load_inventory(uow: UnitOfWork, catalog: Catalog) -> Inventory:
    rows: dict[str, InventoryRow] = {}

    def row(vendor_id: str) -> InventoryRow:
        if vendor_id not in rows:
            try:
                vendor = catalog.vendor(vendor_id)
                rows[vendor_id] = InventoryRow(vendor_id, vendor.name, vendor.category)
            except KeyError:
                rows[vendor_id] = InventoryRow(vendor_id, vendor_id, "unknown")
        return rows[vendor_id]

    unmapped = []
    for app in uow.execute(
            "select vendor_id, display_name, last_seen_at, active_users_30d from discovered_apps "
            "where mapping <> 'ignored' order by active_users_30d desc, display_name"):
        if app.vendor_id is None:
            unmapped.append((app.display_name, app.active_users_30d))
            continue
        entry = row(app.vendor_id)
        entry.sources.add("sign-ins")
        entry.active_users_30d = (entry.active_users_30d or 0) + app.active_users_30d
        entry.last_used_at = max(filter(None, [entry.last_used_at, app.last_seen_at]))

    for mail in uow.execute(
            "select vendor_id, kind, max(received_at) as last_at from billing_emails "
            "group by vendor_id, kind"):
        entry = row(mail.vendor_id)
        if mail.kind == "signup":
            entry.sources.add("sign-up")
        else:
            entry.sources.add("billing")
            entry.last_billed_at = max(filter(None, [entry.last_billed_at, mail.last_at]))
        if mail.kind == "payment_failed":
            entry.payment_failed = True

    for spend in uow.execute(
            "select distinct on (vendor_id) vendor_id, amount_org_minor, org_currency "
            "from spend_monthly order by vendor_id, month desc"):
        entry = row(spend.vendor_id)
        entry.monthly_org_minor = spend.amount_org_minor
        entry.org_currency = spend.org_currency

    for annual in uow.execute(
            "select vendor_id, sum(annualized_org_minor) as total, min(org_currency) as currency "
            "from spend_annualized group by vendor_id"):
        entry = row(annual.vendor_id)
        entry.annual_org_minor = int(annual.total) if annual.total is not None else None
        entry.org_currency = entry.org_currency or annual.currency

    ordered = sorted(rows.values(), key=lambda r: (-(r.annual_org_minor or 0),
                                                   -(r.active_users_30d or 0), r.name))
    return Inventory(rows=ordered, unmapped_apps=unmapped)


def format_inventory(inventory: Inventory, org_name: str) -> str:
    def money(minor: int | None, currency: str | None) -> str:
        return "-" if minor is None else f"{minor / 100:,.2f} {currency or ''}".strip()

    def day(moment: datetime | None) -> str:
        return moment.date().isoformat() if moment else "-"

    header = (f"{'app':<26} {'category':<16} {'seen via':<26} {'users 30d':>9} "
              f"{'last used':>10} {'last month':>14} {'per year':>15}")
    lines = [f"SaaS inventory of {org_name}: {len(inventory.rows)} apps", header, "-" * len(header)]
    for r in inventory.rows:
        flag = "  ! payment failed" if r.payment_failed else ""
        lines.append(
            f"{r.name[:26]:<26} {r.category[:16]:<16} {', '.join(sorted(r.sources)):<26} "
            f"{'-' if r.active_users_30d is None else r.active_users_30d:>9} "
            f"{day(r.last_used_at):>10} {money(r.monthly_org_minor, r.org_currency):>14} "
            f"{money(r.annual_org_minor, r.org_currency):>15}{flag}")
    if inventory.unmapped_apps:
        lines.append("")
        listed = ", ".join(f"{name} ({users})" for name, users in inventory.unmapped_apps[:15])
        lines.append(f"Discovered in sign-ins but not in the catalog "
                     f"({len(inventory.unmapped_apps)}, for triage): {listed}")
    return "\n".join(lines)
