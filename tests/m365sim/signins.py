"""Entra sign-in events for one tenant: which apps people use, with realistic activity curves.

Each app has a popularity (the share of users who use it at all), a department affinity and a
life in the window: most run the whole 30 days, some were adopted late, some abandoned (no
sign-ins in the last week: the unused seats Coax should surface). Each user/app pair has an
intensity (daily, weekly, rare); weekends are quiet; a few sign-ins fail and are not activity.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.m365sim.directory import Directory
from tests.m365sim.people import DEPARTMENT_CATEGORIES, OFFICES
from tests.m365sim.rand import guid, rng_for

RETENTION_DAYS = 30  # Entra keeps sign-in logs 30 days for P1/P2 tenants
_FAILURES = (
    (50126, "Error validating credentials due to invalid username or password."),
    (50074, "Strong Authentication is required."),
    (50140, "This error occurred due to 'Keep me signed in' interrupt when the user was "
            "signing in."),
)
_CLIENTS = (("Browser", "Chrome 131.0.0", "Windows10"), ("Browser", "Edge 131.0.0", "Windows10"),
            ("Browser", "Safari 18.1", "MacOs"), ("Mobile Apps and Desktop clients", "", "iOS"))
_CITIES = {office: code for office, code in (
    ("Copenhagen", "DK"), ("Aarhus", "DK"), ("Berlin", "DE"), ("Amsterdam", "NL"),
    ("Paris", "FR"), ("Madrid", "ES"), ("Stockholm", "SE"), ("London", "GB"),
    ("New York", "US"))}
assert set(_CITIES) == {office[0] for office in OFFICES}


@dataclass(frozen=True)
class SimApp:
    app_id: str
    display_name: str
    vendor_id: str | None
    category: str
    popularity: float
    start_day: int  # first day (0 = oldest day of the window) the app is used
    end_day: int  # last day it is used


@dataclass(frozen=True)
class SignInEvent:
    created: datetime
    user_index: int
    app_index: int
    error_code: int
    id: str
    client: int


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SignInLog:
    def __init__(self, apps: list[SimApp], events: list[SignInEvent], anchor: datetime):
        self.apps = apps
        self.anchor = anchor
        self.events = sorted(events, key=lambda e: (e.created, e.id), reverse=True)
        self._negated = [-e.created.timestamp() for e in self.events]  # ascending, for bisect

    def between(self, lower: datetime | None, upper: datetime | None) -> list[SignInEvent]:
        """Events with lower <= created <= upper, newest first (bounds are inclusive)."""
        start = 0 if upper is None else bisect.bisect_left(self._negated, -upper.timestamp())
        stop = (len(self.events) if lower is None
                else bisect.bisect_right(self._negated, -lower.timestamp()))
        return self.events[start:stop]

    def graph(self, event: SignInEvent, directory: Directory) -> dict:
        """The event as Graph's signIn resource, with all documented top-level properties."""
        user, app = directory.users[event.user_index], self.apps[event.app_index]
        client_app, browser, os_name = _CLIENTS[event.client]
        digest = hashlib.sha256(event.id.encode()).digest()
        failure = dict(_FAILURES).get(event.error_code)
        return {
            "id": event.id,
            "createdDateTime": iso(event.created),
            "userDisplayName": user.display_name,
            "userPrincipalName": user.user_principal_name,
            "userId": user.id,
            "appId": app.app_id,
            "appDisplayName": app.display_name,
            "ipAddress": f"203.0.113.{digest[0]}",
            "clientAppUsed": client_app,
            "correlationId": guid(rng_for(event.id, "correlation")),
            "conditionalAccessStatus": "success" if not failure else "notApplied",
            "isInteractive": event.client != 3,
            "riskDetail": "none",
            "riskLevelAggregated": "none",
            "riskLevelDuringSignIn": "none",
            "riskState": "none",
            "riskEventTypes": [],
            "riskEventTypes_v2": [],
            "resourceDisplayName": app.display_name,
            "resourceId": app.app_id,
            "status": {"errorCode": event.error_code, "failureReason": failure or "Other.",
                       "additionalDetails": None},
            "deviceDetail": {"deviceId": "", "displayName": None, "operatingSystem": os_name,
                             "browser": browser, "isCompliant": None, "isManaged": None,
                             "trustType": None},
            "location": {"city": user.office_location, "state": None,
                         "countryOrRegion": _CITIES[user.office_location],
                         "geoCoordinates": {"altitude": None, "latitude": None,
                                            "longitude": None}},
            "appliedConditionalAccessPolicies": [],
        }

    def app_truth(self, directory: Directory) -> list[dict]:
        """Per app seen: first/last successful sign-in, distinct active users in 7 and 30 days."""
        week_start = self.anchor - timedelta(days=7)
        seen: dict[int, dict] = {}
        for event in self.events:
            if event.error_code:
                continue
            entry = seen.setdefault(event.app_index, {"first": event.created,
                                                      "last": event.created,
                                                      "users30": set(), "users7": set()})
            entry["first"] = min(entry["first"], event.created)
            entry["last"] = max(entry["last"], event.created)
            entry["users30"].add(event.user_index)
            if event.created >= week_start:
                entry["users7"].add(event.user_index)
        truth = []
        for index in sorted(seen, key=lambda i: self.apps[i].display_name):
            app, entry = self.apps[index], seen[index]
            truth.append({
                "app_id": app.app_id, "display_name": app.display_name,
                "vendor_id": app.vendor_id, "first_seen": iso(entry["first"]),
                "last_seen": iso(entry["last"]),
                "active_users_7d": len(entry["users7"]), "active_users_30d": len(entry["users30"]),
            })
        return truth


def build_signin_log(seed: int, tenant_key: tuple, directory: Directory, apps: list[SimApp],
                     anchor: datetime, user_cap: int) -> SignInLog:
    rng = rng_for(seed, tenant_key, "signins")
    window_start = anchor - timedelta(days=RETENTION_DAYS)
    users = directory.active_users()[:user_cap]
    events: list[SignInEvent] = []
    for app_index, app in enumerate(apps):
        for user in users:
            affinity = 1.6 if app.category in DEPARTMENT_CATEGORIES[user.department] else 0.7
            if rng.random() >= min(0.95, app.popularity * affinity):
                continue
            intensity = rng.choices((0.8, 0.3, 0.06), (5, 3, 2))[0]
            client = rng.randrange(len(_CLIENTS))
            for day in range(app.start_day, app.end_day + 1):
                date = window_start + timedelta(days=day)
                weekday_factor = 0.1 if date.weekday() >= 5 else 1.0
                if rng.random() >= intensity * weekday_factor:
                    continue
                for _ in range(1 + (rng.random() < 0.25)):
                    hour = min(max(rng.gauss(11, 3), 5), 21)
                    moment = date + timedelta(seconds=int(hour * 3600) + rng.randrange(60))
                    failed = rng.random() < 0.04
                    code = rng.choice(_FAILURES)[0] if failed else 0
                    events.append(SignInEvent(moment, user.index, app_index, code, guid(rng),
                                              client))
    return SignInLog(apps, events, anchor)
