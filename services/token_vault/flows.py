"""Connect-flow state: sealed, expiring, and carried in the OAuth `state` parameter.

The state blob holds the organization, the requested mode, the tenant the flow was
started for and (delegated) msal's flow dict with the PKCE verifier and nonce. It is
sealed with the vault's session key, so the callback can trust every field in it
without any server-side session, and a blob from one flow kind does not open as another.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from services.token_vault.errors import VaultRefusal, bad_request
from shared.crypto import SessionExpired, SessionInvalid, open_session, seal_session

STATE_PURPOSE = "token-vault/connect-state"
FLOW_KINDS = ("admin-consent", "delegated")


def seal_state(key: bytes, flow: str, payload: dict, ttl_s: int) -> str:
    return seal_session(key, {**payload, "flow": flow}, f"{STATE_PURPOSE}/{flow}", ttl_s)


def open_state(key: bytes, flow: str, state: str | None) -> dict:
    if not state:
        raise bad_request("the callback carries no state", "invalid_state")
    try:
        payload = open_session(key, state, f"{STATE_PURPOSE}/{flow}")
    except SessionExpired:
        raise VaultRefusal(400, "state_expired",
                           "the connect link expired; start the connection again") from None
    except SessionInvalid:
        raise bad_request("the connect state is not valid", "invalid_state") from None
    if payload.get("flow") != flow:
        raise bad_request("the connect state is not valid", "invalid_state")
    return payload


def with_state(url: str, state: str) -> str:
    """`url` with its `state` query parameter replaced by `state`."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "state"]
    query.append(("state", state))
    return urlunsplit(parts._replace(query=urlencode(query)))


def callback_error(params: dict) -> str | None:
    """Microsoft's error on a callback, shortened to what is safe to show and store."""
    if not params.get("error"):
        return None
    description = str(params.get("error_description", "")).split(" Trace ID:")[0]
    return f"{params['error']}: {description}"[:300]
