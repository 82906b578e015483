"""What we may ask Graph for, per object type. `$select` is always built from these lists, so
data we must not hold (an email body, a personal phone number, a sign-in's IP address) is never
requested; asking for it raises ForbiddenField before anything is sent."""

from __future__ import annotations

from collections.abc import Iterable

from shared.graph.errors import ForbiddenField

# Body fields: never requested, whatever the caller's permissions.
BODY_FIELDS = frozenset({"body", "bodyPreview", "uniqueBody"})

# Business contact fields only (not mobilePhone, otherMails or any personal address).
USER_FIELDS = ("id", "displayName", "givenName", "surname", "userPrincipalName", "mail",
               "jobTitle", "department", "officeLocation", "businessPhones",
               "preferredLanguage", "accountEnabled")

# Time, user, app, success and whether interactive; no IP address, location or device
# (no browsing detail).
# signIns documents no $select, so the client drops everything else in memory.
SIGNIN_FIELDS = ("id", "createdDateTime", "userId", "userPrincipalName", "appId",
                 "appDisplayName", "status", "isInteractive")
SIGNIN_STATUS_FIELDS = ("errorCode", "failureReason")

# Message metadata: who sent what when, and whether an invoice could be attached.
MESSAGE_FIELDS = ("id", "subject", "from", "sender", "receivedDateTime", "hasAttachments",
                  "internetMessageId")

# Attachment listing without contentBytes: the bytes are fetched on their own, bounded.
ATTACHMENT_FIELDS = ("id", "name", "contentType", "size", "isInline")

ALLOWLISTS = {
    "user": USER_FIELDS,
    "signIn": SIGNIN_FIELDS,
    "message": MESSAGE_FIELDS,
    "attachment": ATTACHMENT_FIELDS,
}


def checked_fields(object_type: str, fields: Iterable[str] | None = None) -> tuple[str, ...]:
    """The fields to select (the whole allowlist when `fields` is None), in a stable order."""
    try:
        allowed = ALLOWLISTS[object_type]
    except KeyError:
        raise ForbiddenField(f"no field allowlist for object type {object_type!r}") from None
    if fields is None:
        return allowed
    requested = [fields] if isinstance(fields, str) else list(fields)
    for name in requested:
        if name in BODY_FIELDS:
            raise ForbiddenField(f"{name!r} is an email body field and is never requested")
        if name not in allowed:
            raise ForbiddenField(f"{name!r} is not on the {object_type} field allowlist")
    if object_type != "signIn" and "id" not in requested:
        requested.insert(0, "id")
    return tuple(dict.fromkeys(requested))


def select(object_type: str, fields: Iterable[str] | None = None) -> str:
    """A `$select` value for `object_type`, e.g. select("user", ["displayName"])."""
    return ",".join(checked_fields(object_type, fields))


def keep_signin_fields(record: dict, fields: tuple[str, ...] = SIGNIN_FIELDS) -> dict:
    kept = {name: record.get(name) for name in fields}
    if "status" in kept and isinstance(kept["status"], dict):
        kept["status"] = {k: kept["status"].get(k) for k in SIGNIN_STATUS_FIELDS}
    return kept
