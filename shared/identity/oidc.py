"""Verifying Google-signed OIDC tokens on push, scheduler and service calls.

In production, Pub/Sub push, Cloud Scheduler and calling services send
`Authorization: Bearer <ID token>` signed by Google. We check the signature
(google-auth), the audience, the issuer, that the email is verified, and that
the email is one of the identities the topology allows on that route.

Tests point `certs_url` at a local issuer so the same verification code runs
on real signed tokens. The local stack's explicit no-auth mode is a different
class (`LocalTrust`), which refuses to exist on Cloud Run.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
LOCAL_CALLER_HEADER = "X-Coax-Local-Caller"


class Unauthenticated(Exception):
    """No usable credential, or a bad one. The message is safe to log."""


class Forbidden(Exception):
    """A valid identity that is not allowed here."""


@dataclass(frozen=True)
class Caller:
    email: str
    identity: str       # the topology identity (service name or platform identity)


class OidcVerifier:
    def __init__(self, audience: str, allowed: dict[str, str], *, certs_url: str = GOOGLE_CERTS_URL,
                 issuers: frozenset[str] = GOOGLE_ISSUERS, request=None, cache_s: int = 3600,
                 clock=time.time):
        """`allowed` maps service-account email -> topology identity."""
        from google.auth.transport import requests as google_requests

        self.audience = audience
        self.allowed = dict(allowed)
        self.certs_url = certs_url
        self.issuers = issuers
        self._request = request or google_requests.Request()
        self._cache_s = cache_s
        self._clock = clock
        self._certs: dict | None = None
        self._certs_at = 0.0

    def _signing_certs(self) -> dict:
        # google-auth fetches certs on every call; Google rotates them daily,
        # so an hour's cache saves a round trip per request.
        if self._certs is None or self._clock() - self._certs_at > self._cache_s:
            response = self._request(url=self.certs_url, method="GET")
            if response.status != 200:
                raise Unauthenticated("cannot fetch signing certificates")
            self._certs = json.loads(response.data)
            self._certs_at = self._clock()
        return self._certs

    def verify(self, authorization: str | None) -> Caller:
        from google.auth import exceptions, jwt

        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthenticated("missing bearer token")
        token = authorization[len("Bearer "):].strip()
        try:
            claims = jwt.decode(token, certs=self._signing_certs(), audience=self.audience,
                                clock_skew_in_seconds=10)
        except (ValueError, exceptions.GoogleAuthError) as exc:
            raise Unauthenticated(f"token rejected: {_reason(exc)}") from None
        if claims.get("iss") not in self.issuers:
            raise Unauthenticated("token rejected: wrong issuer")
        if claims.get("email_verified") is not True:
            raise Unauthenticated("token rejected: email not verified")
        email = claims.get("email")
        identity = self.allowed.get(email)
        if identity is None:
            raise Forbidden(f"caller {email!r} is not allowed here")
        return Caller(email=email, identity=identity)


def _reason(exc: Exception) -> str:
    text = str(exc).lower()
    for word in ("expired", "audience", "signature", "too early", "certificate"):
        if word in text:
            return word
    return "invalid"


class LocalTrust:
    """The local stack's explicit no-auth mode: the emulator sends no token.

    Push and scheduler calls are accepted as their platform identity; service
    calls name themselves in a header. Refuses to be built on Cloud Run.
    """

    def __init__(self, default_identity: str, allowed_identities: set[str]):
        if os.environ.get("K_SERVICE"):
            raise RuntimeError("local no-auth mode refused: K_SERVICE is set (Cloud Run)")
        self.default_identity = default_identity
        self.allowed_identities = allowed_identities

    def verify(self, authorization: str | None, local_caller: str | None = None) -> Caller:
        identity = local_caller or self.default_identity
        if identity not in self.allowed_identities:
            raise Forbidden(f"caller {identity!r} is not allowed here")
        return Caller(email=f"{identity}@local", identity=identity)


class IdTokenSource:
    """Fetches ID tokens for calling another service (Cloud Run metadata server)."""

    def __init__(self, request=None):
        from google.auth.transport import requests as google_requests

        self._request = request or google_requests.Request()

    def token(self, audience: str) -> str:
        from google.oauth2 import id_token

        return id_token.fetch_id_token(self._request, audience)
