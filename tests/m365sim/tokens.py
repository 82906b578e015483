"""Signing and checking the simulator's tokens: RS256 JWTs like Entra's v2 tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

GRAPH_AUDIENCE = "https://graph.microsoft.com"


class SigningKey:
    """A fresh RSA key per simulator start; tokens from an earlier run are therefore invalid."""

    def __init__(self) -> None:
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public = self._private.public_key()
        jwk = json.loads(RSAAlgorithm.to_jwk(self.public))
        self.kid = base64.urlsafe_b64encode(
            hashlib.sha256(jwk["n"].encode()).digest()[:15]).decode().rstrip("=")
        self._jwk = {**jwk, "kid": self.kid, "use": "sig", "x5t": self.kid}

    def jwks(self, issuer: str) -> dict:
        return {"keys": [{**self._jwk, "issuer": issuer}]}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self._private, algorithm="RS256",
                          headers={"kid": self.kid, "typ": "JWT"})

    def verify(self, token: str, audience: str) -> dict:
        """Claims of a valid token; raises jwt.InvalidTokenError otherwise."""
        return jwt.decode(token, self.public, algorithms=["RS256"], audience=audience,
                          options={"require": ["exp", "tid", "aud"]})


@dataclass(frozen=True)
class Caller:
    """Who a Graph request comes from, read from a verified access token."""

    tenant_id: str
    app_id: str
    roles: frozenset[str]  # application permissions (app-only tokens)
    scopes: frozenset[str]  # delegated permissions
    user_id: str | None  # the signed-in user for delegated tokens

    @property
    def app_only(self) -> bool:
        return self.user_id is None

    def has(self, *permissions: str) -> bool:
        granted = self.roles if self.app_only else self.scopes
        return any(p in granted for p in permissions)

    @classmethod
    def from_claims(cls, claims: dict) -> Caller:
        delegated = "scp" in claims
        return cls(
            tenant_id=claims["tid"], app_id=claims.get("appid", ""),
            roles=frozenset(claims.get("roles", [])),
            scopes=frozenset(claims.get("scp", "").split()),
            user_id=claims.get("oid") if delegated else None,
        )


def access_token_claims(*, issuer: str, tenant_id: str, client_id: str, lifetime_s: int,
                        roles: list[str] | None = None, scopes: list[str] | None = None,
                        user: dict | None = None, app_object_id: str) -> dict:
    now = int(time.time())
    claims = {
        "aud": GRAPH_AUDIENCE, "iss": issuer, "iat": now, "nbf": now, "exp": now + lifetime_s,
        "tid": tenant_id, "appid": client_id, "azp": client_id, "ver": "1.0",
        "uti": uuid.uuid4().hex[:22], "app_displayname": "Coax",
    }
    if user is None:
        claims.update(roles=sorted(roles or []), oid=app_object_id, sub=app_object_id,
                      idtyp="app")
    else:
        claims.update(scp=" ".join(sorted(scopes or [])), oid=user["id"], sub=user["id"],
                      upn=user["userPrincipalName"], name=user["displayName"], idtyp="user")
    return claims


def id_token_claims(*, issuer: str, tenant_id: str, client_id: str, user: dict,
                    nonce: str | None) -> dict:
    now = int(time.time())
    claims = {
        "aud": client_id, "iss": issuer, "iat": now, "nbf": now, "exp": now + 3600,
        "tid": tenant_id, "oid": user["id"], "sub": user["id"], "ver": "2.0",
        "name": user["displayName"], "preferred_username": user["userPrincipalName"],
        "email": user["userPrincipalName"],
    }
    if nonce:
        claims["nonce"] = nonce
    return claims


def client_info(tenant_id: str, user_id: str) -> str:
    raw = json.dumps({"uid": user_id, "utid": tenant_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
