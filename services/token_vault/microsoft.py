"""The Microsoft identity platform, through msal: the vault's only outbound dependency.

One msal application per customer tenant, kept for a few minutes (building one fetches
the tenant's discovery document). Its token cache never stores anything: the vault's
encrypted table is the one place tokens live, and a "refresh" really asks the token
endpoint. msal reports protocol errors as dicts; they become typed exceptions here:
`GrantInvalid` (revoked, expired, consent missing: an admin must act) or
`MicrosoftUnavailable` (anything worth trying again later).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
import msal
import requests

from shared.logs import log_fields

log = logging.getLogger(__name__)

GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_PREFIX = "https://graph.microsoft.com/"
# A tenant segment is a GUID or a domain; anything else never reaches a URL.
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
# AADSTS codes meaning the grant is gone and only an admin's new consent helps.
_CONSENT_CODES = {65001, 50173, 700082, 70008, 7000229, 500011, 50057, 9002313, 65004}
# Rebuild a tenant's msal application after this long (picks up a rotated client secret).
APP_TTL_S = 600.0


class _NoTokenCache(msal.TokenCache):
    """msal's cache, told to forget: no token stays in process memory after a call."""

    def add(self, event, now=None):
        return None


class MicrosoftError(Exception):
    """Base of the identity platform's failures; the message carries no token."""


class GrantInvalid(MicrosoftError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MicrosoftUnavailable(MicrosoftError):
    pass


class InvalidTenant(ValueError):
    pass


@dataclass(frozen=True)
class TokenResult:
    access_token: str
    expires_in: int
    refresh_token: str | None
    permissions: tuple[str, ...]   # app roles (app-only) or delegated scopes
    tenant_id: str | None          # from the token's claims

    def __repr__(self) -> str:
        return f"TokenResult(expires_in={self.expires_in}, permissions={self.permissions})"


def check_tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise InvalidTenant("tenant must be a tenant id or domain")
    return tenant


class MicrosoftIdentity:
    def __init__(self, client_id: str, client_secret: Callable[[], str], authority_base: str,
                 http_session: requests.Session, clock: Callable[[], float] = time.monotonic):
        self.client_id = client_id
        self._client_secret = client_secret   # read when an app is built
        self.authority_base = authority_base.rstrip("/")
        self._http = http_session
        self._clock = clock
        self._apps: dict[str, tuple[float, msal.ConfidentialClientApplication]] = {}
        self._apps_lock = threading.Lock()

    def _app(self, tenant: str) -> msal.ConfidentialClientApplication:
        key = check_tenant(tenant).lower()
        with self._apps_lock:
            built = self._apps.get(key)
            if built and self._clock() - built[0] < APP_TTL_S:
                return built[1]
        app = self._build_app(key)
        with self._apps_lock:
            self._apps[key] = (self._clock(), app)
        return app

    def _build_app(self, tenant: str) -> msal.ConfidentialClientApplication:
        authority = f"{self.authority_base}/{tenant}"
        try:
            return msal.ConfidentialClientApplication(
                self.client_id, client_credential=self._client_secret(),
                oidc_authority=f"{authority}/v2.0", http_client=self._http,
                token_cache=_NoTokenCache())
        except ValueError as error:
            # msal reaches the tenant's discovery document at construction.
            if "tenant" in str(error).lower():
                raise GrantInvalid("tenant not found") from None
            raise MicrosoftUnavailable("identity platform discovery failed") from None
        except requests.RequestException as error:
            raise MicrosoftUnavailable(f"identity platform unreachable: "
                                       f"{type(error).__name__}") from None

    def admin_consent_url(self, tenant: str, redirect_uri: str, state: str) -> str:
        query = urlencode({"client_id": self.client_id, "scope": GRAPH_DEFAULT_SCOPE,
                           "redirect_uri": redirect_uri, "state": state})
        return f"{self.authority_base}/{check_tenant(tenant)}/v2.0/adminconsent?{query}"

    def app_token(self, tenant: str) -> TokenResult:
        """Client credentials for one customer tenant (app-only access)."""
        return self._call(lambda: self._app(tenant).acquire_token_for_client(
            scopes=[GRAPH_DEFAULT_SCOPE]))

    def refresh(self, tenant: str, refresh_token: str, scopes: list[str]) -> TokenResult:
        return self._call(lambda: self._app(tenant).acquire_token_by_refresh_token(
            refresh_token, scopes=scopes))

    def start_auth_code(self, tenant: str, scopes: list[str], redirect_uri: str,
                        login_hint: str | None) -> dict:
        """msal's flow dict (state, PKCE verifier, nonce, auth_uri)."""
        try:
            return self._app(tenant).initiate_auth_code_flow(
                scopes, redirect_uri=redirect_uri, login_hint=login_hint)
        except requests.RequestException:
            raise MicrosoftUnavailable("identity platform unreachable") from None

    def redeem_auth_code(self, tenant: str, flow: dict, params: dict) -> TokenResult:
        def redeem():
            try:
                return self._app(tenant).acquire_token_by_auth_code_flow(flow, params)
            except ValueError:
                # msal: state mismatch or a malformed callback; nothing to retry.
                raise GrantInvalid("authorization response does not match the flow") from None
        return self._call(redeem)

    def _call(self, request: Callable[[], dict]) -> TokenResult:
        try:
            result = request()
        except MicrosoftError:
            raise
        except requests.RequestException as error:
            raise MicrosoftUnavailable(f"identity platform unreachable: "
                                       f"{type(error).__name__}") from None
        except Exception as error:  # msal parses bodies; a garbled answer is transient
            raise MicrosoftUnavailable(f"identity platform answer unusable: "
                                       f"{type(error).__name__}") from None
        if "access_token" in result:
            return _token_result(result)
        raise _classify(result)


def _classify(result: dict) -> MicrosoftError:
    error = str(result.get("error", "unknown_error"))
    codes = {int(c) for c in result.get("error_codes") or [] if str(c).isdigit()}
    description = str(result.get("error_description", ""))
    first_line = description.split(" Trace ID:")[0][:200]
    log.warning("identity platform refused", extra=log_fields(error=error, codes=sorted(codes)))
    if error in ("invalid_grant", "interaction_required", "consent_required") or (
            codes & _CONSENT_CODES):
        return GrantInvalid(f"{error}: {first_line}")
    return MicrosoftUnavailable(f"{error}: {first_line}")


def _token_result(result: dict) -> TokenResult:
    # The signature check is off on purpose: Microsoft documents Graph access tokens as
    # opaque to clients (they cannot be verified outside Graph). This token came straight
    # from the token endpoint on a TLS connection we opened, and its claims are only read
    # to record what the admin granted; Graph itself verifies the token on every call.
    try:
        claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    except jwt.InvalidTokenError:
        claims = {}
    if claims.get("roles"):
        permissions = tuple(sorted(claims["roles"]))
    elif result.get("scope"):
        permissions = tuple(sorted(s.removeprefix(GRAPH_PREFIX) for s in result["scope"].split()
                                   if s not in ("openid", "profile", "offline_access", "email")))
    else:
        permissions = tuple(sorted(str(claims.get("scp", "")).split()))
    tenant = claims.get("tid") or (result.get("id_token_claims") or {}).get("tid")
    return TokenResult(access_token=result["access_token"],
                       expires_in=int(result.get("expires_in", 3599)),
                       refresh_token=result.get("refresh_token"),
                       permissions=permissions, tenant_id=tenant)
