"""Sealed session blobs: OAuth flow state and cookies."""

import base64
from datetime import UTC, datetime

import pytest

from shared.crypto.aead import InvalidKeyError
from shared.crypto.session import (
    MAX_TOKEN_LENGTH,
    SessionExpired,
    SessionInvalid,
    open_session,
    seal_session,
)

KEY = bytes(range(7, 71))
NOW = 1_800_000_000
FLOW = {"state": "c2a1b6", "code_verifier": "x" * 64, "org_hint": None, "n": 3}


def test_round_trip_is_url_safe_text():
    token = seal_session(KEY, FLOW, "oauth-flow", ttl_seconds=600, now=NOW)
    assert isinstance(token, str)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert "c2a1b6" not in token and "code_verifier" not in token
    assert open_session(KEY, token, "oauth-flow", now=NOW + 1) == FLOW


def test_expires_at_ttl():
    token = seal_session(KEY, FLOW, "oauth-flow", ttl_seconds=600, now=NOW)
    assert open_session(KEY, token, "oauth-flow", now=NOW + 599) == FLOW
    for later in (NOW + 600, NOW + 10_000):
        with pytest.raises(SessionExpired):
            open_session(KEY, token, "oauth-flow", now=later)


def test_datetime_clock_is_accepted():
    sealed_at = datetime.fromtimestamp(NOW, tz=UTC)
    token = seal_session(KEY, FLOW, "cookie", ttl_seconds=60, now=sealed_at)
    assert open_session(KEY, token, "cookie", now=NOW + 59) == FLOW
    with pytest.raises(SessionExpired):
        open_session(KEY, token, "cookie", now=datetime.fromtimestamp(NOW + 60, tz=UTC))
    with pytest.raises(ValueError):
        seal_session(KEY, FLOW, "cookie", 60, now=datetime(2030, 1, 1))  # naive


def test_bound_to_purpose():
    token = seal_session(KEY, FLOW, "oauth-flow", ttl_seconds=600, now=NOW)
    with pytest.raises(SessionInvalid) as caught:
        open_session(KEY, token, "session-cookie", now=NOW)
    assert not isinstance(caught.value, SessionExpired)


def test_wrong_key_fails():
    token = seal_session(KEY, FLOW, "oauth-flow", ttl_seconds=600, now=NOW)
    with pytest.raises(SessionInvalid):
        open_session(bytes(64), token, "oauth-flow", now=NOW)


def _decode(token):
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _encode(blob):
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode()


def test_every_byte_is_protected_including_the_expiry():
    token = seal_session(KEY, {"s": 1}, "oauth-flow", ttl_seconds=600, now=NOW)
    blob = _decode(token)
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(SessionInvalid):
            open_session(KEY, _encode(bytes(tampered)), "oauth-flow", now=NOW)


def test_extending_the_expiry_is_detected():
    token = seal_session(KEY, FLOW, "oauth-flow", ttl_seconds=60, now=NOW)
    blob = bytearray(_decode(token))
    blob[:8] = (NOW + 10**6).to_bytes(8, "big")
    with pytest.raises(SessionInvalid) as caught:
        open_session(KEY, _encode(bytes(blob)), "oauth-flow", now=NOW + 120)
    assert not isinstance(caught.value, SessionExpired)


@pytest.mark.parametrize(
    "garbage",
    ["", "!!!!", "abc", "a" * (MAX_TOKEN_LENGTH + 1), "é" * 10, "AAAA AAAA", None, b"bytes"],
)
def test_garbage_is_invalid_not_a_crash(garbage):
    with pytest.raises(SessionInvalid):
        open_session(KEY, garbage, "oauth-flow", now=NOW)


def test_truncation_fails():
    token = seal_session(KEY, FLOW, "oauth-flow", ttl_seconds=600, now=NOW)
    for length in range(0, len(token), 7):
        with pytest.raises(SessionInvalid):
            open_session(KEY, token[:length], "oauth-flow", now=NOW)


def test_bad_arguments_are_typed_errors():
    with pytest.raises(InvalidKeyError):
        seal_session(bytes(32), FLOW, "p", 60)
    with pytest.raises(InvalidKeyError):
        open_session(bytes(32), "AAAA", "p")
    with pytest.raises(TypeError):
        seal_session(KEY, ["not", "a", "dict"], "p", 60)
    with pytest.raises(TypeError):
        seal_session(KEY, {"when": datetime.now(UTC)}, "p", 60)  # not JSON
    for ttl in (0, -5, 1.5, True, 10**12):
        with pytest.raises(ValueError):
            seal_session(KEY, FLOW, "p", ttl)
    with pytest.raises(ValueError):
        seal_session(KEY, FLOW, "", 60)


def test_default_clock_is_now():
    token = seal_session(KEY, FLOW, "cookie", ttl_seconds=60)
    assert open_session(KEY, token, "cookie") == FLOW
    with pytest.raises(SessionExpired):
        open_session(KEY, token, "cookie", now=datetime.now(UTC).timestamp() + 61)
