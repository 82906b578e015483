"""From stored sign-ins to usage: per-user app activity, daily usage, discovered apps.

Every roll-up is recomputed from `sign_ins` for the window just loaded (daily usage for whole
UTC days), in the same transaction that moves the watermark, so re-running a window gives the
same numbers and a resumed sync never counts a sign-in twice. Distinct users do not add up
across days, so "active users in the last N days" comes from `app_user_activity` (one row per
app and user with the last successful sign-in), not from the daily table.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from services.ingest.discovery import TRIAGED, map_app
from services.ingest.windows import Window, utc_days
from shared.catalog import Catalog
from shared.db import UnitOfWork

ACTIVE_PERIODS_DAYS = (7, 30, 90)


def roll_up_window(uow: UnitOfWork, window: Window, catalog: Catalog) -> None:
    params = {"org": uow.org_id, "start": window.start, "end": window.end}
    uow.execute(
        "insert into app_user_activity (org_id, app_id, user_id, first_seen_at, last_seen_at) "
        "select org_id, app_id, user_id, min(created_at), max(created_at) from sign_ins "
        "where org_id = :org and created_at >= :start and created_at < :end and succeeded "
        "group by org_id, app_id, user_id "
        "on conflict (org_id, app_id, user_id) do update set "
        "first_seen_at = least(app_user_activity.first_seen_at, excluded.first_seen_at), "
        "last_seen_at = greatest(app_user_activity.last_seen_at, excluded.last_seen_at)",
        params)
    _roll_up_days(uow, window)
    _discover_apps(uow, window, catalog)


def _roll_up_days(uow: UnitOfWork, window: Window) -> None:
    days = utc_days(window)
    first_day = datetime.combine(days[0], time.min, tzinfo=UTC)
    last_day = datetime.combine(days[-1], time.min, tzinfo=UTC) + timedelta(days=1)
    uow.execute(
        "insert into app_usage_daily (org_id, app_id, day, active_users, sign_ins, "
        "failed_sign_ins) "
        "select org_id, app_id, (created_at at time zone 'UTC')::date, "
        "count(distinct user_id) filter (where succeeded), count(*), "
        "count(*) filter (where not succeeded) from sign_ins "
        "where org_id = :org and created_at >= :start and created_at < :end "
        "group by 1, 2, 3 "
        "on conflict (org_id, app_id, day) do update set active_users = excluded.active_users, "
        "sign_ins = excluded.sign_ins, failed_sign_ins = excluded.failed_sign_ins",
        {"org": uow.org_id, "start": first_day, "end": last_day})


def _discover_apps(uow: UnitOfWork, window: Window, catalog: Catalog) -> None:
    """Apps used in the window: seen times widened, newest name kept, vendor mapped."""
    seen = uow.execute(
        "select distinct on (app_id) app_id, app_name, "
        "min(created_at) over (partition by app_id) as first_seen, "
        "max(created_at) over (partition by app_id) as last_seen "
        "from sign_ins where org_id = :org and created_at >= :start and created_at < :end "
        "and succeeded order by app_id, created_at desc",
        {"org": uow.org_id, "start": window.start, "end": window.end}).all()
    for row in seen:
        mapped = map_app(catalog, str(row.app_id), row.app_name)
        uow.execute(
            "insert into discovered_apps (org_id, app_id, display_name, vendor_id, mapping, "
            "first_seen_at, last_seen_at, active_users_7d, active_users_30d, "
            "active_users_90d, as_of) values (:org, :app, :name, :vendor, :mapping, :first, "
            ":last, 0, 0, 0, :last) "
            "on conflict (org_id, app_id) do update set "
            "display_name = case when excluded.last_seen_at >= discovered_apps.last_seen_at "
            "then excluded.display_name else discovered_apps.display_name end, "
            "first_seen_at = least(discovered_apps.first_seen_at, excluded.first_seen_at), "
            "last_seen_at = greatest(discovered_apps.last_seen_at, excluded.last_seen_at), "
            "vendor_id = case when discovered_apps.mapping = any(:triaged) "
            "then discovered_apps.vendor_id else excluded.vendor_id end, "
            "mapping = case when discovered_apps.mapping = any(:triaged) "
            "then discovered_apps.mapping else excluded.mapping end, updated_at = now()",
            {"org": uow.org_id, "app": row.app_id, "name": row.app_name,
             "vendor": mapped.vendor_id, "mapping": mapped.mapping, "first": row.first_seen,
             "last": row.last_seen, "triaged": list(TRIAGED)})


def refresh_active_users(uow: UnitOfWork, as_of: datetime) -> int:
    """Distinct users with a successful sign-in in the 7, 30 and 90 days before `as_of`."""
    since = {f"since{n}": as_of - timedelta(days=n) for n in ACTIVE_PERIODS_DAYS}
    counts = ", ".join(
        f"count(*) filter (where last_seen_at >= :since{n} and last_seen_at < :as_of) as d{n}"
        for n in ACTIVE_PERIODS_DAYS)
    updated = uow.execute(
        f"update discovered_apps d set active_users_7d = a.d7, active_users_30d = a.d30, "
        f"active_users_90d = a.d90, as_of = :as_of, updated_at = now() from ("
        f"select app_id, {counts} from app_user_activity where org_id = :org group by app_id"
        f") a where d.org_id = :org and d.app_id = a.app_id",
        {"org": uow.org_id, "as_of": as_of, **since})
    return updated.rowcount
