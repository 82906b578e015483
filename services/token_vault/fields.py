"""Reading request bodies: anything malformed is a clear 400, never a crash."""

from __future__ import annotations

import uuid

from services.token_vault.errors import bad_request


def uuid_field(body: object, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise bad_request(f"{name} is required (a UUID)")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise bad_request(f"{name} must be a UUID") from None


def text_field(body: object, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value or len(value) > 200:
        raise bad_request(f"{name} is required (a short string)")
    return value


def optional_text(body: object, name: str) -> str | None:
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 320 else None


def is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
