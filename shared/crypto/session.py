"""Sealed, expiring session blobs: OAuth flow state (state, PKCE verifier) and cookies.

A blob is URL-safe base64 (no padding) of: expiry (8 bytes, big-endian Unix seconds)
followed by the A256CBC-HS512 sealed JSON payload. The expiry travels in clear so
it can be checked, and it is also in the AAD together with the purpose, so neither can
be changed or reused elsewhere: a blob sealed for "oauth-state" does not open as a
"session-cookie".
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import time
from datetime import datetime

from shared.crypto import aead

_LABEL = b"coax/session/v1"
_EXPIRY = struct.Struct(">Q")
# Cookies are at most ~4 KB; refusing far larger input bounds the work an attacker can cause.
MAX_TOKEN_LENGTH = 16_384
# A sanity bound: no session or flow state should outlive a year.
MAX_TTL_SECONDS = 366 * 24 * 3600
_URLSAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]+")


class SessionInvalid(Exception):
    """The blob is forged, tampered with, expired, or meant for another purpose."""


class SessionExpired(SessionInvalid):
    """The blob is authentic but past its expiry."""


def seal_session(
    key: bytes,
    payload: dict,
    purpose: str,
    ttl_seconds: int,
    now: float | datetime | None = None,
) -> str:
    """Seal `payload` (JSON-serializable dict) for `purpose`, valid for `ttl_seconds`."""
    aead.check_key(key)
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict, not {type(payload).__name__}")
    if (
        isinstance(ttl_seconds, bool)
        or not isinstance(ttl_seconds, int)
        or not 0 < ttl_seconds <= MAX_TTL_SECONDS
    ):
        raise ValueError(f"ttl_seconds must be an integer in 1..{MAX_TTL_SECONDS}")
    expires_at = int(_seconds(now)) + ttl_seconds
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
    sealed = aead.encrypt(key, body, _aad(_purpose(purpose), expires_at))
    blob = _EXPIRY.pack(expires_at) + sealed.to_bytes()
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


def open_session(key: bytes, token: str, purpose: str, now: float | datetime | None = None) -> dict:
    """Return the payload of a blob sealed for `purpose`, or raise `SessionInvalid`."""
    aead.check_key(key)
    purpose_bytes = _purpose(purpose)
    blob = _decode(token)
    if len(blob) <= _EXPIRY.size:
        raise SessionInvalid("session invalid")
    (expires_at,) = _EXPIRY.unpack_from(blob)
    try:
        body = aead.decrypt(key, blob[_EXPIRY.size :], _aad(purpose_bytes, expires_at))
    except aead.DecryptionError:
        raise SessionInvalid("session invalid") from None
    # Checked after authentication, so an expiry we report on is one we issued.
    if _seconds(now) >= expires_at:
        raise SessionExpired("session expired")
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise SessionInvalid("session invalid")
    return payload


def _decode(token: object) -> bytes:
    # Strict alphabet check: the lenient decoder would silently skip stray characters.
    if (
        not isinstance(token, str)
        or len(token) > MAX_TOKEN_LENGTH
        or not _URLSAFE_BASE64.fullmatch(token)
    ):
        raise SessionInvalid("session invalid")
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except binascii.Error:
        raise SessionInvalid("session invalid") from None


def _aad(purpose: bytes, expires_at: int) -> bytes:
    return b"".join(
        struct.pack(">I", len(part)) + part for part in (_LABEL, purpose, _EXPIRY.pack(expires_at))
    )


def _purpose(purpose: object) -> bytes:
    if not isinstance(purpose, str) or not purpose:
        raise ValueError("purpose must be a non-empty string")
    return purpose.encode("utf-8")


def _seconds(now: float | datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now.timestamp()
    return float(now)
