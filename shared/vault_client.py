"""Asking token-vault for a Microsoft Graph access token (the one synchronous call).

    provider = VaultTokenProvider(settings.vault_url, connection_id, "mail_metadata",
                                  caller="email-scan")
    token = provider()          # cached until shortly before the vault's expires_in
    provider.invalidate()       # e.g. after Graph answered 401

Locally the caller names itself in `X-Coax-Local-Caller`; in the cloud it sends a
Google-signed ID token for the vault's URL (`IdTokenSource`). Failures are typed:
`VaultRefused` (the vault said no: caller, purpose or request), its subclass
`ConnectionNeedsConsentError` (the grant is gone or the connection was disconnected or
shredded: retrying cannot help), and `VaultUnavailable` (try again later).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests

from shared.identity.oidc import LOCAL_CALLER_HEADER

# Hand back a cached token only while it has at least this long to live.
EXPIRY_SLACK_S = 60
TIMEOUT_S = 15


class VaultError(Exception):
    """Base of every vault failure. Never carries a token."""


class VaultRefused(VaultError):
    def __init__(self, status: int, code: str, detail: str):
        super().__init__(f"token-vault refused ({status} {code}): {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class ConnectionNeedsConsentError(VaultRefused):
    """The connection cannot give tokens until an admin reconnects it."""


class VaultUnavailable(VaultError):
    pass


# Vault answers that mean "this connection is unusable until an admin acts".
_NEEDS_ADMIN = {"needs_consent", "not_connected", "shredded"}


class VaultTokenProvider:
    def __init__(self, vault_url: str, connection_id: str, purpose: str, *, caller: str,
                 id_token_source=None, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if not vault_url:
            raise ValueError("vault_url is required (COAX_VAULT_URL)")
        self.vault_url = vault_url.rstrip("/")
        self.connection_id = str(connection_id)
        self.purpose = purpose
        self.caller = caller
        self._id_tokens = id_token_source
        self._session = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._valid_until = 0.0

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._valid_until:
                self._fetch_locked()
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None
            self._valid_until = 0.0

    def _headers(self) -> dict[str, str]:
        if self._id_tokens is not None:
            return {"Authorization": f"Bearer {self._id_tokens.token(self.vault_url)}"}
        return {LOCAL_CALLER_HEADER: self.caller}

    def _fetch_locked(self) -> None:
        started = self._clock()
        try:
            response = self._session.post(
                f"{self.vault_url}/v1/access-token", headers=self._headers(),
                json={"connection_id": self.connection_id, "purpose": self.purpose},
                timeout=TIMEOUT_S)
        except requests.RequestException as error:
            raise VaultUnavailable(f"token-vault unreachable: {type(error).__name__}") from None
        if response.status_code == 200:
            body = _json(response)
            token, expires_in = body.get("access_token"), body.get("expires_in")
            if not isinstance(token, str) or not isinstance(expires_in, int):
                raise VaultUnavailable("token-vault answered without a token")
            self._token = token
            self._valid_until = started + max(0, expires_in - EXPIRY_SLACK_S)
            return
        body = _json(response)
        code, detail = str(body.get("error", "error")), str(body.get("detail", ""))
        if response.status_code >= 500 or response.status_code == 429:
            raise VaultUnavailable(f"token-vault answered {response.status_code} {code}")
        if code in _NEEDS_ADMIN or response.status_code in (409, 410):
            raise ConnectionNeedsConsentError(response.status_code, code, detail)
        raise VaultRefused(response.status_code, code, detail)


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
