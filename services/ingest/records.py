"""What we keep of a Graph user and a Graph signIn, and nothing more (pure, no I/O).

Data minimization starts at the query: `DIRECTORY_FIELDS` is the `$select` of the delta
query, so personal fields (mobilePhone, otherMails, addresses, birthday) never leave
Microsoft. The converters below still pick fields by name, so a server that sends more than
was selected cannot make us store it. A sign-in keeps time, user, app, outcome and the
interactive flag: no IP address, location, device or client detail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

# Graph property names, in the order they are asked for.
DIRECTORY_FIELDS = ("id", "displayName", "userPrincipalName", "mail", "jobTitle", "department",
                    "accountEnabled")


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class MalformedRecord(ValueError):
    """A Graph record lacks a field we need or carries one we cannot read."""


# Graph property -> our column. A property missing from a delta item is unchanged (Graph
# may send changed properties only); a property sent as null was cleared.
DIRECTORY_COLUMNS = {"displayName": "display_name", "userPrincipalName": "user_principal_name",
                     "mail": "mail", "jobTitle": "job_title", "department": "department",
                     "accountEnabled": "account_enabled"}


@dataclass(frozen=True)
class DirectoryUser:
    user_id: str
    display_name: str | None
    user_principal_name: str | None
    mail: str | None
    job_title: str | None
    department: str | None
    account_enabled: bool | None
    present: frozenset[str] = frozenset(DIRECTORY_COLUMNS.values())  # columns the item carried


@dataclass(frozen=True)
class DirectoryRemoval:
    user_id: str


@dataclass(frozen=True)
class SignIn:
    id: str
    created_at: datetime
    user_id: str
    app_id: str
    app_name: str
    succeeded: bool
    interactive: bool


def directory_change(record: dict) -> DirectoryUser | DirectoryRemoval:
    """One delta item: a user as it is now, or the news that it was removed."""
    if not isinstance(record, dict):
        raise MalformedRecord("a directory item must be an object")
    user_id = _guid(record.get("id"), "user id")
    if "@removed" in record:
        return DirectoryRemoval(user_id)
    enabled = record.get("accountEnabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise MalformedRecord("accountEnabled must be true or false")
    return DirectoryUser(
        user_id=user_id,
        display_name=_text(record, "displayName"),
        user_principal_name=_text(record, "userPrincipalName"),
        mail=_text(record, "mail"),
        job_title=_text(record, "jobTitle"),
        department=_text(record, "department"),
        account_enabled=enabled,
        present=frozenset(column for name, column in DIRECTORY_COLUMNS.items()
                          if name in record),
    )


def sign_in(record: dict) -> SignIn:
    """One signIn resource reduced to the fields we keep."""
    if not isinstance(record, dict):
        raise MalformedRecord("a sign-in must be an object")
    status = record.get("status")
    error_code = status.get("errorCode") if isinstance(status, dict) else None
    if not isinstance(error_code, int) or isinstance(error_code, bool):
        raise MalformedRecord("sign-in status.errorCode must be an integer")
    return SignIn(
        id=_guid(record.get("id"), "sign-in id"),
        created_at=_utc(record.get("createdDateTime")),
        user_id=_guid(record.get("userId"), "sign-in user id"),
        app_id=_guid(record.get("appId"), "sign-in app id"),
        app_name=_text(record, "appDisplayName") or "",
        succeeded=error_code == 0,
        interactive=record.get("isInteractive") is True,
    )


def _guid(value, what: str) -> str:
    # A pattern rather than uuid.UUID(): three GUIDs per sign-in, and UUID() costs ten times
    # as much, which showed as the bottleneck of sign-in ingestion.
    if not isinstance(value, str):
        raise MalformedRecord(f"{what} is missing")
    if _GUID.fullmatch(value) is None:
        raise MalformedRecord(f"{what} is not a GUID")
    return value.lower()


def _text(record: dict, name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedRecord(f"{name} must be text")
    return value


def _utc(value) -> datetime:
    if not isinstance(value, str):
        raise MalformedRecord("createdDateTime is missing")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedRecord("createdDateTime is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise MalformedRecord("createdDateTime has no time zone")
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)
